import { desDecrypt } from '../../src-server/crypto/block'
import { constantTimeEqual, toHex } from '../../src-server/keys/crypto/bytes'
import { deriveAesDerivationKey, deriveAesWorkingKey } from '../../src-server/keys/crypto/dukpt-aes'
import { deriveTdesTransactionKey, tdesWorkingKey } from '../../src-server/keys/crypto/dukpt-tdes'
import { keyCheckValue } from '../../src-server/keys/crypto/kcv'
import type { Party } from '../../src-server/keys/crypto/lab-pki'
import { decipherFormat4, decodePinBlock } from '../../src-server/keys/crypto/pinblock'
import { subjectSerialNumber, validatePartyCertificate, type Crl } from '../../src-server/keys/crypto/pki'
import {
  createCredentialToken,
  createKeyToken,
  parseCredentialToken,
  Tr34Error,
} from '../../src-server/keys/crypto/tr34'
import { wrapTr31 } from '../../src-server/keys/crypto/tr31'
import type { X509Certificate } from 'node:crypto'
import type { PedDriver, PedInfo, SlotInfo } from './driver'

/**
 * The reference injection run, host (KDH) side: authenticate the device, bind, load a KBPK by TR-34,
 * load a DUKPT initial key as a TR-31 B1 block under it, check every KCV, and prove the key works with a
 * PIN block the host decrypts itself. Server-side injection sessions wrap this with policy and audit.
 */
export interface InjectionPlan {
  kdh: Party
  /** The root the station trusts for device (KRD) certificates. */
  trustedCa: X509Certificate
  crl?: Crl
  operators: [{ id: string; password: string }, { id: string; password: string }]
  kbpk: { slot: number; key: Buffer }
  dukpt: { slot: number; initialKey: Buffer } & (
    { kind: 'tdes'; initialKsn: Buffer } | { kind: 'aes'; initialKeyId: Buffer }
  )
  selfTest: { pin: string; pan: string }
  /** The serial the station already checked against its inventory: the device must still report it. */
  expectedSerial?: string
}

export interface InjectionResult {
  info: PedInfo
  /** SHA-256 fingerprint of the KRD certificate that authenticated the device (for the evidence). */
  certificateFingerprint256: string
  kbpk: SlotInfo
  dukpt: SlotInfo
  selfTest: { format: 0 | 4; ksn: string; verified: true }
}

export class InjectionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InjectionError'
  }
}

/**
 * Authenticates the device from its GET_INFO answer: its KRD certificate chains to the trusted CA, is in
 * date, not revoked and marked KRD, and names the serial the device reports. The serial is what the
 * station checks against the run's inventory, allocates for and records, and GET_INFO alone is only the
 * device's word: without the tie a device could present another device's genuine certificate.
 */
export function authenticateDevice(
  info: PedInfo,
  trust: { trustedCa: X509Certificate; crl?: Crl },
): X509Certificate {
  let certificate: X509Certificate | undefined
  try {
    certificate = parseCredentialToken(info.credentialToken).certificates[0]
  } catch (err) {
    // A token we cannot read is the device's failing to authenticate, like a certificate of the wrong CA.
    if (err instanceof Tr34Error)
      throw new InjectionError(`unreadable device credential token: ${err.message}`)
    throw err
  }
  if (!certificate) throw new InjectionError('the device credential token holds no certificate')
  validatePartyCertificate(certificate, { ca: trust.trustedCa, crl: trust.crl, role: 'KRD' })
  const certified = subjectSerialNumber(certificate)
  if (certified === undefined) {
    throw new InjectionError('the device certificate does not name one device serial (subject serialNumber)')
  }
  if (certified !== info.serial) {
    throw new InjectionError(
      `the device certificate is for another device (${certified}); the device reports ${info.serial}`,
    )
  }
  return certificate
}

export async function injectDevice(ped: PedDriver, plan: InjectionPlan): Promise<InjectionResult> {
  const info = await ped.getInfo()
  const deviceCertificate = authenticateDevice(info, plan)
  if (plan.expectedSerial !== undefined && info.serial !== plan.expectedSerial) {
    // Another device on the cable since the station identified it.
    throw new InjectionError(`the device now reports serial ${info.serial}, not ${plan.expectedSerial}`)
  }

  if (info.state === 'FACTORY') {
    await ped.bind(createCredentialToken([plan.kdh.certificate], plan.crl ? [plan.crl] : []))
  }
  for (const op of plan.operators) await ped.authenticate(op.id, op.password)

  const kbpkFamily = plan.dukpt.kind === 'aes' ? 'aes' : 'tdes'
  const kbpkHeader = `${kbpkFamily === 'aes' ? 'D' : 'B'}0000K1${kbpkFamily === 'aes' ? 'A' : 'T'}B00E0000`
  const token = createKeyToken({
    kdhCertificate: plan.kdh.certificate,
    kdhPrivateKey: plan.kdh.privateKey,
    krdCertificate: deviceCertificate,
    key: plan.kbpk.key,
    header: kbpkHeader,
    nonce: await ped.getNonce(),
  })
  const kbpk = await ped.loadTr34(plan.kbpk.slot, token)
  expectKcv('KBPK', kbpk.kcv, toHex(keyCheckValue(kbpkFamily, plan.kbpk.key)))

  const d = plan.dukpt
  const block = wrapTr31({
    kbpk: plan.kbpk.key,
    key: d.initialKey,
    header: {
      version: kbpkFamily === 'aes' ? 'D' : 'B',
      keyUsage: 'B1',
      algorithm: d.kind === 'aes' ? 'A' : 'T',
      modeOfUse: 'X',
      exportability: 'N',
      optionalBlocks: [
        d.kind === 'tdes'
          ? { id: 'KS', data: toHex(d.initialKsn) }
          : { id: 'IK', data: toHex(d.initialKeyId) },
      ],
    },
  })
  const dukpt = await ped.loadDukptInitialKey(d.slot, plan.kbpk.slot, block)
  expectKcv('DUKPT initial key', dukpt.kcv, toHex(keyCheckValue(d.kind, d.initialKey)))
  expectKcv('DUKPT initial key (read back)', (await ped.getKcv(d.slot)).kcv, dukpt.kcv)

  const pb = await ped.encryptPin(d.slot, plan.selfTest.pin, plan.selfTest.pan)
  if (!pb.ksn) throw new InjectionError('the self-test PIN block came without a KSN')
  const recovered = recoverPin(d, pb.ksn, pb.encryptedPinBlock, plan.selfTest.pan)
  if (!constantTimeEqual(Buffer.from(recovered), Buffer.from(plan.selfTest.pin))) {
    throw new InjectionError('the self-test PIN block does not decrypt to the test PIN')
  }
  await ped.endKeyLoading()
  return {
    info,
    certificateFingerprint256: deviceCertificate.fingerprint256,
    kbpk,
    dukpt,
    selfTest: { format: pb.format, ksn: toHex(pb.ksn), verified: true },
  }
}

function expectKcv(what: string, actual: string, expected: string): void {
  if (!constantTimeEqual(Buffer.from(actual), Buffer.from(expected))) {
    throw new InjectionError(`the device reports a different KCV for the ${what}`)
  }
}

/** Host-side check of the self-test: derive the PIN key for the device's KSN and decrypt. */
function recoverPin(d: InjectionPlan['dukpt'], ksn: Buffer, epb: Buffer, pan: string): string {
  if (d.kind === 'tdes') {
    const pinKey = tdesWorkingKey(deriveTdesTransactionKey(d.initialKey, ksn), 'pin')
    return decodePinBlock(0, desDecrypt(pinKey, epb), pan)
  }
  const type = ({ 16: 'aes128', 24: 'aes192', 32: 'aes256' } as const)[d.initialKey.length as 16 | 24 | 32]
  const pinKey = deriveAesWorkingKey(deriveAesDerivationKey(d.initialKey, ksn), ksn, 'pinEncryption', type)
  return decipherFormat4(pinKey, epb, pan)
}
