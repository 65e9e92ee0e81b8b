import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openPtyPair, type PtyPair } from '../../../test/helpers/pty'
import { toHex } from '../../../src-server/keys/crypto/bytes'
import { deriveAesInitialKey } from '../../../src-server/keys/crypto/dukpt-aes'
import { createCredentialToken, createKeyToken } from '../../../src-server/keys/crypto/tr34'
import { wrapTr31 } from '../../../src-server/keys/crypto/tr31'
import { openTransport, type Transport } from '../../serial/transport'
import { PedDriver, PedError } from '../../ped/driver'
import type { FramingProfile } from '../../ped/framing'
import { injectDevice, type InjectionPlan } from '../../ped/injection'
import { LinkError } from '../../ped/link'
import {
  ANSI_IKSN,
  ANSI_IPEK,
  createPedFixtures,
  OPERATORS,
  OPERATOR_LOGINS,
  type PedFixtures,
} from './fixtures.test-helper'
import { PedSimulator } from './simulator'

let fx: PedFixtures
beforeAll(() => {
  fx = createPedFixtures()
})

interface Bench {
  sim: PedSimulator
  ped: PedDriver
}
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

/** Simulator on one end of a real socat pty pair, driver on the other. */
async function bench(
  profile: FramingProfile = 'stx',
  driverOptions: { responseTimeoutMs?: number } = {},
  identity = fx.identity,
): Promise<Bench> {
  const pair: PtyPair = await openPtyPair()
  cleanups.push(() => pair.close())
  const simPort: Transport = await openTransport(pair.a)
  cleanups.push(() => simPort.close())
  const sim = new PedSimulator(simPort.stream, {
    identity,
    operators: OPERATORS,
    profile,
    ackTimeoutMs: 300,
  })
  cleanups.push(async () => sim.stop())
  const ped = await PedDriver.open(pair.b, { profile, ackTimeoutMs: 300, ...driverOptions })
  cleanups.push(() => ped.close())
  return { sim, ped }
}

const tdesPlan = (): InjectionPlan => ({
  kdh: fx.kdh,
  trustedCa: fx.ca.certificate,
  operators: OPERATOR_LOGINS,
  kbpk: { slot: 1, key: Buffer.from('00112233445566778899AABBCCDDEEFF', 'hex') },
  dukpt: { slot: 2, kind: 'tdes', initialKey: ANSI_IPEK, initialKsn: ANSI_IKSN },
  selfTest: { pin: '1234', pan: '4012345678909' },
})

describe('PED driver ↔ simulator over a pty', () => {
  it('a whole TDES injection: info, TR-34 bind and KBPK load, DUKPT initial key, KCV, self-test', async () => {
    const { ped } = await bench('stx')
    const result = await injectDevice(ped, tdesPlan())
    expect(result.info).toMatchObject({ serial: 'SIM0001', state: 'FACTORY', securityVersion: '6' })
    expect(result.kbpk).toMatchObject({ slot: 1, keyUsage: 'K1', algorithm: 'T' })
    // IPEK KCV and the X9.24-1 A.4 first-transaction PIN block (reference §10.2 fixture).
    expect(result.dukpt).toMatchObject({ slot: 2, keyUsage: 'B1', ksn: 'FFFF9876543210E00000' })
    expect(result.selfTest).toEqual({ format: 0, ksn: 'FFFF9876543210E00001', verified: true })
    const second = await ped.encryptPin(2, '1234', '4012345678909')
    expect(toHex(second.encryptedPinBlock)).toBe('10A01C8D02C69107')
    expect((await ped.getInfo()).state).toBe('OPERATIONAL')
  })

  it('a whole AES injection over the SYN/ETB/CRC-16 profile (AES-128 DUKPT, format 4 self-test)', async () => {
    const { ped } = await bench('syn')
    const ik = deriveAesInitialKey(
      Buffer.from('FEDCBA9876543210F1F1F1F1F1F1F1F1', 'hex'),
      Buffer.from('1234567890123456', 'hex'),
    )
    const result = await injectDevice(ped, {
      ...tdesPlan(),
      kbpk: { slot: 1, key: Buffer.alloc(32, 0x5a) },
      dukpt: { slot: 3, kind: 'aes', initialKey: ik, initialKeyId: Buffer.from('1234567890123456', 'hex') },
    })
    expect(result.selfTest).toEqual({ format: 4, ksn: '123456789012345600000001', verified: true })
  })

  it('fault: corrupted bytes from the device are NAKed and resent', async () => {
    const { sim, ped } = await bench('stx')
    sim.injectFault({ type: 'corrupt-byte', count: 3 })
    await expect(injectDevice(ped, tdesPlan())).resolves.toMatchObject({ selfTest: { verified: true } })
    expect(sim.link.stats.retransmissions).toBe(3)
  })

  it('fault: lost ACKs make the host retransmit; the device answers from cache and does not run a command twice', async () => {
    const { sim, ped } = await bench('syn')
    sim.injectFault({ type: 'lost-ack', count: 2 })
    await ped.bind(createCredentialToken([fx.kdh.certificate]))
    for (const op of OPERATOR_LOGINS) await ped.authenticate(op.id, op.password)
    // Were GET_NONCE run again for the retransmission, the device would hold a different nonce than the
    // host got, and the TR-34 load below would fail.
    sim.injectFault({ type: 'lost-ack', count: 1 })
    const nonce = await ped.getNonce()
    const token = createKeyToken({
      kdhCertificate: fx.kdh.certificate,
      kdhPrivateKey: fx.kdh.privateKey,
      krdCertificate: fx.identity.certificate,
      key: tdesPlan().kbpk.key,
      header: 'B0000K1TB00E0000',
      nonce,
    })
    await expect(ped.loadTr34(1, token)).resolves.toMatchObject({ slot: 1, keyUsage: 'K1' })
    expect(ped.link.stats.retransmissions).toBeGreaterThanOrEqual(3)
  })

  it('fault: a slow device still completes within the response timeout, and times out beyond it', async () => {
    const { sim, ped } = await bench('stx', { responseTimeoutMs: 5000 })
    sim.injectFault({ type: 'slow', delayMs: 150 })
    expect((await ped.getInfo()).serial).toBe('SIM0001')
    sim.injectFault({ type: 'slow', delayMs: 2000 })
    const impatient = await bench('stx', { responseTimeoutMs: 300 })
    impatient.sim.injectFault({ type: 'slow', delayMs: 1500 })
    await expect(impatient.ped.getInfo()).rejects.toThrow(LinkError)
  })

  it('fault: a key token or key block altered in transit is refused (bad signature / MAC failure)', async () => {
    const { sim, ped } = await bench('stx')
    sim.injectFault({ type: 'wrong-mac' })
    const failure = await injectDevice(ped, tdesPlan()).catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(PedError)
    expect((failure as PedError).status).toBe('badSignature')

    // Still in key-loading mode: a clean run goes through, then a TR-31 block altered in transit fails its MAC.
    await injectDevice(ped, tdesPlan())
    for (const op of OPERATOR_LOGINS) await ped.authenticate(op.id, op.password)
    const block = wrapTr31({
      kbpk: tdesPlan().kbpk.key,
      key: Buffer.alloc(16, 0x11),
      header: { version: 'B', keyUsage: 'P0', algorithm: 'T', modeOfUse: 'E', exportability: 'N' },
    })
    sim.injectFault({ type: 'wrong-mac' })
    await expect(ped.loadTr31(4, 1, block)).rejects.toMatchObject({ status: 'macFailure' })
    await expect(ped.loadTr31(4, 1, block)).resolves.toMatchObject({ slot: 4, keyUsage: 'P0' })
  })

  it('fault: tamper mid-session erases the keys and stops the run', async () => {
    const { sim, ped } = await bench('syn')
    sim.injectFault({ type: 'tamper', afterCommands: 6 })
    await expect(injectDevice(ped, tdesPlan())).rejects.toMatchObject({ status: 'tampered' })
    expect((await ped.getInfo()).state).toBe('TAMPERED')
    await expect(ped.getKcv(1)).rejects.toThrow(/tampered/)
  })

  it('the driver refuses a device whose certificate is not from the trusted CA', async () => {
    const { ped } = await bench('stx')
    const other = createPedFixtures('OTHER')
    await expect(injectDevice(ped, { ...tdesPlan(), trustedCa: other.ca.certificate })).rejects.toThrow(
      /not signed by the trusted CA/,
    )
  })

  it('the device certificate names the device serial; a device reporting another serial is refused', async () => {
    // The factory certificate carries the serial (X.520 serialNumber), and the CN still marks the role.
    expect(fx.identity.certificate.subject).toMatch(/(^|\n)serialNumber=SIM0001(\n|$)/)
    expect(fx.identity.certificate.subject).toMatch(/CN=PED SIM0001 KRD/)
    // A genuine certificate (trusted CA, valid, KRD) in a device that reports someone else's serial.
    const { ped, sim } = await bench('stx', {}, { ...fx.identity, serial: 'SIM0002' })
    await expect(injectDevice(ped, tdesPlan())).rejects.toThrow(/certificate is for another device/)
    expect(sim.device.state).toBe('FACTORY')
    // The station may also pin the serial it already checked against its inventory.
    const honest = await bench('stx')
    await expect(injectDevice(honest.ped, { ...tdesPlan(), expectedSerial: 'SIM0009' })).rejects.toThrow(
      /reports serial SIM0001, not SIM0009/,
    )
  })

  it('the result names the certificate that authenticated the device (SHA-256 fingerprint)', async () => {
    const { ped } = await bench('stx')
    const result = await injectDevice(ped, tdesPlan())
    expect(result.certificateFingerprint256).toBe(fx.identity.certificate.fingerprint256)
  })
})
