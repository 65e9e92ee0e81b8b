import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openTransport } from '../../hardware/serial/transport'
import { createFactoryIdentity, type PedIdentity } from '../../hardware/sim/ped/identity'
import { PedSimulator, type PedFault } from '../../hardware/sim/ped/simulator'
import { toHex } from '../../src-server/keys/crypto/bytes'
import { deriveTdesIpek } from '../../src-server/keys/crypto/dukpt-tdes'
import { keyCheckValue } from '../../src-server/keys/crypto/kcv'
import { createLabCa, type Party } from '../../src-server/keys/crypto/lab-pki'
import { vectors } from '../../src-server/keys/crypto/vectors.test-helper'
import { openPtyPair } from '../helpers/pty'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'
import { createOperator, custodianWithTotp, expectProblem } from './keys-fixtures'

/**
 * Injection end to end: the real server drives simulated PEDs over real socat ptys, one simulator per
 * station, with the link faults of the simulator. The BDK is the ANSI test BDK entered by two custodians,
 * so every initial key can be checked against an independent IPEK derivation.
 */
let srv: TestServer
let admin: string
let bench: string
let ca: Party
let bdkId: number
const ANSI_BDK = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex')
const PED_OPERATORS = [
  { id: 'op1', password: '1111' },
  { id: 'op2', password: '2222' },
]
const cleanups: (() => Promise<void> | void)[] = []

beforeAll(async () => {
  srv = await startTestServer()
  admin = await srv.login(ADMIN.username, ADMIN.password)
  const b = await createOperator(srv, admin, 'benchie', 'bench')
  bench = await srv.login(b.username, b.password)
  const carol = await custodianWithTotp(srv, admin, 'carol')
  const dave = await custodianWithTotp(srv, admin, 'dave')

  // The ANSI test BDK from two custodians (ID TECH components 1 and 2⊕3).
  const parts = (vectors('key_components')[1].inputs.components_hex as string[]).map((h) =>
    Buffer.from(h, 'hex'),
  )
  const second = parts[1].map((x, i) => x ^ parts[2][i])
  const opened = await srv.api('/api/key-ceremonies', {
    method: 'POST',
    token: admin,
    json: {
      name: 'ANSI test BDK',
      kind: 'bdk',
      algorithm: 'tdes2',
      bdkId: '987654',
      custodians: ['carol', 'dave'],
    },
  })
  const { id } = (await opened.json()) as { id: number }
  await srv.api(`/api/key-ceremonies/${id}/components`, {
    method: 'POST',
    token: carol.token,
    json: { value: toHex(parts[0]) },
  })
  const done = await srv.api(`/api/key-ceremonies/${id}/components`, {
    method: 'POST',
    token: dave.token,
    json: { value: toHex(Buffer.from(second)) },
  })
  const receipt = (await done.json()) as { key: { id: number; kcv: string } }
  expect(receipt.key.kcv).toBe('08D7B4')
  bdkId = receipt.key.id
  expect((await srv.api(`/api/keys/${bdkId}/activate`, { method: 'POST', token: admin })).status).toBe(200)

  ca = createLabCa()
  const trust = await srv.api('/api/peds/trust/lab', {
    method: 'POST',
    token: admin,
    json: {
      caCertificatePem: ca.certificate.toString(),
      caPrivateKeyPem: ca.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    },
  })
  expect(trust.status).toBe(200)
}, 60_000)
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})
afterAll(() => srv.stop())

/** A simulated PED on one end of a pty pair and a station on the other. */
async function station(
  serial: string,
  options: { faults?: PedFault[]; securityVersion?: string; name?: string; identity?: PedIdentity } = {},
) {
  const pair = await openPtyPair()
  cleanups.push(() => pair.close())
  const port = await openTransport(pair.a)
  cleanups.push(() => port.close())
  const identity =
    options.identity ?? createFactoryIdentity(ca, { serial, securityVersion: options.securityVersion })
  const sim = new PedSimulator(port.stream, { identity, operators: { op1: '1111', op2: '2222' } })
  cleanups.push(() => sim.stop())
  for (const f of options.faults ?? []) sim.injectFault(f)
  const res = await srv.api('/api/peds/stations', {
    method: 'POST',
    token: bench,
    json: { name: options.name ?? `Station ${serial}`, url: pair.b },
  })
  expect(res.status).toBe(201)
  return { sim, identity, stationId: ((await res.json()) as { id: number }).id }
}

async function createRun(serials: string[], extra: Record<string, unknown> = {}) {
  const res = await srv.api('/api/injection-runs', {
    method: 'POST',
    token: admin,
    json: { name: `Run ${serials.join(' ')}`, bdkKeyId: bdkId, profile: 'lab', serials, ...extra },
  })
  expect(res.status, await res.clone().text()).toBe(201)
  return ((await res.json()) as { id: number }).id
}

interface InjectionView {
  deviceSerial?: string
  status: string
  error?: string
  initialKsn?: string
  initialKeyKcv?: string
  kbpkKcv?: string
  selfTestKsn?: string
  operators: string[]
}

async function inject(runId: number, stationIds: number[]): Promise<InjectionView[]> {
  const res = await srv.api(`/api/injection-runs/${runId}/inject`, {
    method: 'POST',
    token: bench,
    json: { stationIds, pedOperators: PED_OPERATORS },
  })
  expect(res.status, await res.clone().text()).toBe(202)
  const started = (await res.json()) as { id: number }[]
  await srv.services.peds.idle()
  return started.map((s) => srv.services.peds.injection(s.id))
}

describe('PED injection sessions over real ptys', () => {
  it('two stations at once: unique initial keys and KSNs, KCVs checked, progress pushed over SSE', async () => {
    const a = await station('SIM-A')
    const b = await station('SIM-B')
    const runId = await createRun(['SIM-A', 'SIM-B'])

    const ticket = (await (
      await srv.api('/api/peds/event-tickets', { method: 'POST', token: bench })
    ).json()) as {
      ticket: string
    }
    const abort = new AbortController()
    const stream = await srv.api(`/api/peds/events?ticket=${ticket.ticket}`, { signal: abort.signal })
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/)
    const events: { serial?: string; step: string; status: string }[] = []
    const reading = (async () => {
      const decoder = new TextDecoder()
      let buffer = ''
      for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk)
        for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
          const data = /^data: (.*)$/m.exec(buffer.slice(0, i))
          if (data) events.push(JSON.parse(data[1]) as (typeof events)[number])
          buffer = buffer.slice(i + 2)
        }
        if (events.filter((e) => e.status === 'injected').length === 2) break
      }
    })().catch(() => undefined)

    const results = await inject(runId, [a.stationId, b.stationId])
    await reading
    abort.abort()
    expect(results.map((r) => r.status)).toEqual(['injected', 'injected'])
    expect(new Set(results.map((r) => r.initialKsn)).size).toBe(2)
    for (const r of results) {
      // Independent check: the IPEK for this KSN from the ANSI BDK has the KCV the device reported.
      const ipek = deriveTdesIpek(ANSI_BDK, Buffer.from(r.initialKsn!, 'hex'))
      expect(r.initialKeyKcv).toBe(toHex(keyCheckValue('tdes', ipek)))
      expect(r.initialKsn).toMatch(/^FFFF987654[0-9A-F]{4}[02468ACE]00000$/)
      expect(r.selfTestKsn).toBe(`${r.initialKsn!.slice(0, 19)}1`)
      expect(r.operators).toEqual(['operator:benchie', 'operator:admin', 'ped:op1', 'ped:op2'])
    }
    expect(a.sim.device.state).toBe('OPERATIONAL')
    for (const serial of ['SIM-A', 'SIM-B']) {
      const steps = events.filter((e) => e.serial === serial).map((e) => e.step)
      expect(steps).toEqual(
        expect.arrayContaining([
          'identified',
          'bind',
          'loadTr34',
          'loadDukptInitialKey',
          'encryptPin',
          'done',
        ]),
      )
    }
    // The ticket was single-use.
    await expectProblem(await srv.api(`/api/peds/events?ticket=${ticket.ticket}`), 401)

    // A device loaded once is refused the second time.
    const again = await inject(runId, [a.stationId])
    expect(again[0]).toMatchObject({ status: 'refused', error: expect.stringMatching(/already injected/) })

    // Evidence: a chained audit record per load, never the keys.
    const loads = srv.services.db
      .prepare(`SELECT details FROM audit_log WHERE action = 'peds.inject'`)
      .pluck()
      .all() as string[]
    expect(loads).toHaveLength(2)
    expect(loads.join()).toContain(results[0].initialKsn)
    // ... naming the device certificate that authenticated each device.
    expect(loads.join()).toContain(a.identity.certificate.fingerprint256)
    expect(loads.join()).toContain(b.identity.certificate.fingerprint256)
    expect(srv.services.audit.verify()).toMatchObject({ ok: true })
    const ipekHex = toHex(deriveTdesIpek(ANSI_BDK, Buffer.from(results[0].initialKsn!, 'hex')))
    expect(srv.logText().toUpperCase()).not.toContain(ipekHex)
    expect(
      srv.services.db.prepare('SELECT group_concat(details) FROM audit_log').pluck().get(),
    ).not.toContain(ipekHex)
  })

  it('link faults: corrupted bytes, lost ACKs and a slow device still inject', async () => {
    const corrupt = await station('SIM-C', { faults: [{ type: 'corrupt-byte', count: 3 }] })
    const lost = await station('SIM-L', { faults: [{ type: 'lost-ack', count: 2 }] })
    const slow = await station('SIM-S', { faults: [{ type: 'slow', delayMs: 300 }] })
    const runId = await createRun(['SIM-C', 'SIM-L', 'SIM-S'])
    const results = await inject(runId, [corrupt.stationId, lost.stationId, slow.stationId])
    expect(results.map((r) => [r.deviceSerial, r.status])).toEqual([
      ['SIM-C', 'injected'],
      ['SIM-L', 'injected'],
      ['SIM-S', 'injected'],
    ])
    expect(corrupt.sim.link.stats.retransmissions).toBe(3)
  })

  it('a key token altered in transit (wrong MAC/signature) and a tamper mid-session fail; the keys stay burnt', async () => {
    const wrongMac = await station('SIM-M', { faults: [{ type: 'wrong-mac' }] })
    const tamper = await station('SIM-T', { faults: [{ type: 'tamper', afterCommands: 6 }] })
    const runId = await createRun(['SIM-M', 'SIM-T'])
    const [m, t] = await inject(runId, [wrongMac.stationId, tamper.stationId])
    expect(m).toMatchObject({ status: 'failed', error: expect.stringMatching(/signature/) })
    expect(t).toMatchObject({ status: 'failed', error: expect.stringMatching(/tampered/) })
    expect(tamper.sim.device.state).toBe('TAMPERED')

    // Retrying the first device gets a fresh initial key: the failed one is never issued again.
    const [retry] = await inject(runId, [wrongMac.stationId])
    expect(retry.status).toBe('injected')
    expect(retry.initialKsn).not.toBe(m.initialKsn)
    const failures = srv.services.db
      .prepare(`SELECT count(*) FROM audit_log WHERE action = 'peds.inject.failed'`)
      .pluck()
      .get()
    expect(failures).toBe(2)
  })

  it('refuses devices outside the inventory, clear-key loading into a POI v3+ device, and one-person runs', async () => {
    const stranger = await station('SIM-X')
    const runId = await createRun(['SIM-Y'])
    const [r] = await inject(runId, [stranger.stationId])
    expect(r).toMatchObject({
      status: 'refused',
      error: expect.stringMatching(/not in this run's inventory/),
    })
    expect(r.initialKsn).toBeUndefined()

    const modern = await station('SIM-V6', { securityVersion: '6' })
    const clearRun = await createRun(['SIM-V6'], { keyTransport: 'clear' })
    const [c] = await inject(clearRun, [modern.stationId])
    expect(c).toMatchObject({ status: 'refused', error: expect.stringMatching(/POI v6 device is forbidden/) })

    // Production runs: no clear transport, no published test BDK.
    await expectProblem(
      await srv.api('/api/injection-runs', {
        method: 'POST',
        token: admin,
        json: { name: 'p', bdkKeyId: bdkId, profile: 'production', keyTransport: 'clear', serials: ['A'] },
      }),
      400,
    )
    const testKey = await expectProblem(
      await srv.api('/api/injection-runs', {
        method: 'POST',
        token: admin,
        json: { name: 'p', bdkKeyId: bdkId, profile: 'production', serials: ['A'] },
      }),
      400,
    )
    expect(testKey.detail).toMatch(/published test key/)
    // The bench cannot create runs, the admin cannot inject.
    await expectProblem(
      await srv.api('/api/injection-runs', {
        method: 'POST',
        token: bench,
        json: { name: 'x', bdkKeyId: bdkId, serials: ['A'] },
      }),
      403,
    )
    await expectProblem(
      await srv.api(`/api/injection-runs/${runId}/inject`, {
        method: 'POST',
        token: admin,
        json: { stationIds: [stranger.stationId], pedOperators: PED_OPERATORS },
      }),
      403,
    )
  })

  it('production runs refuse the published test BDKs: any parity variant of the TDES one, the AES one exactly', async () => {
    const { keyStore } = srv.services
    const bdkFrom = (name: string, algorithm: 'tdes2' | 'aes128', hex: string) => {
      const key = keyStore.storeSecret(
        { name, kind: 'bdk', algorithm },
        Buffer.from(hex, 'hex'),
        'imported',
        'test',
      )
      keyStore.activate(key.id, 'test')
      return key
    }
    const productionRun = (bdk: number) =>
      srv.api('/api/injection-runs', {
        method: 'POST',
        token: admin,
        json: { name: `Production ${bdk}`, bdkKeyId: bdk, profile: 'production', serials: ['P-1'] },
      })
    // The ANSI test BDK with the low (parity) bit of every byte of its left half cleared: DES ignores
    // those bits, so it is the same key (same KCV).
    const variant = bdkFrom('ANSI BDK parity variant', 'tdes2', '0022446688AACCEEFEDCBA9876543210')
    expect(variant.kcv).toBe('08D7B4')
    expect((await expectProblem(await productionRun(variant.id), 400)).detail).toMatch(/published test key/)
    const aesTest = bdkFrom('X9.24-3 test BDK', 'aes128', 'FEDCBA9876543210F1F1F1F1F1F1F1F1')
    expect((await expectProblem(await productionRun(aesTest.id), 400)).detail).toMatch(/published test key/)
    // AES has no parity bits: a key one bit away is a different key.
    const aesOther = bdkFrom('AES BDK one bit off', 'aes128', 'FEDCBA9876543210F1F1F1F1F1F1F1F0')
    expect((await productionRun(aesOther.id)).status).toBe(201)
  })

  it('two devices reporting the same serial at once: one is injected, the other refused as a duplicate', async () => {
    const first = await station('SIM-TWIN', { name: 'Twin 1' })
    const second = await station('SIM-TWIN', { name: 'Twin 2' })
    const runId = await createRun(['SIM-TWIN'])
    const results = await inject(runId, [first.stationId, second.stationId])
    expect(results.map((r) => r.status).sort()).toEqual(['injected', 'refused'])
    const twin = results.find((r) => r.status === 'refused')!
    expect(twin).toMatchObject({
      deviceSerial: 'SIM-TWIN',
      error: expect.stringMatching(/duplicate serial.*investigate/),
    })
    expect(twin.initialKsn).toBeUndefined()
    const { db } = srv.services
    // One initial key for the serial, and the inventory says injected (once).
    expect(db.prepare('SELECT count(*) FROM dukpt_initial_keys WHERE run_id = ?').pluck().get(runId)).toBe(1)
    expect(srv.services.peds.runDetail(runId).inventory).toEqual([{ serial: 'SIM-TWIN', status: 'injected' }])
    const refusals = db
      .prepare(
        `SELECT details FROM audit_log WHERE action = 'peds.inject.refused' AND target = 'ped:SIM-TWIN'`,
      )
      .pluck()
      .all() as string[]
    expect(refusals).toHaveLength(1)
    expect(refusals[0]).toMatch(/duplicate serial/)
  })

  it('a serial claimed by an injection a stopped server left running is released at start-up', async () => {
    const s = await station('SIM-R')
    const runId = await createRun(['SIM-R'])
    const { db } = srv.services
    // What a server stopped mid-injection leaves behind: a running injection holding the serial.
    const stale = db
      .prepare(
        `INSERT INTO ped_injections (run_id, station_id, device_serial, status, step, operators, started_at)
         VALUES (?, ?, 'SIM-R', 'running', 'loadTr34', '[]', ?)`,
      )
      .run(runId, s.stationId, new Date().toISOString()).lastInsertRowid
    const [blocked] = await inject(runId, [s.stationId])
    expect(blocked).toMatchObject({ status: 'refused', error: expect.stringMatching(/duplicate serial/) })

    // What the peds module does on start-up.
    srv.services.peds.recoverInterrupted()
    expect(srv.services.peds.injection(Number(stale))).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/server stopped/),
    })
    const recorded = srv.services.db
      .prepare(
        `SELECT actor, details FROM audit_log WHERE action = 'peds.inject.failed' AND target = 'ped:SIM-R'`,
      )
      .get() as { actor: string; details: string }
    expect(recorded.actor).toBe('system')
    expect(JSON.parse(recorded.details)).toMatchObject({
      station: 'Station SIM-R',
      reason: expect.stringMatching(/server stopped/),
    })
    const [retry] = await inject(runId, [s.stationId])
    expect(retry.status).toBe('injected')
  })

  it('a device presenting another device’s certificate is refused before any key is allocated', async () => {
    // A genuine factory certificate for SIM-GENUINE, in a device that reports the serial SIM-CLONE.
    const genuine = createFactoryIdentity(ca, { serial: 'SIM-GENUINE' })
    const clone = await station('SIM-CLONE', { identity: { ...genuine, serial: 'SIM-CLONE' } })
    const runId = await createRun(['SIM-CLONE', 'SIM-GENUINE'])
    const [r] = await inject(runId, [clone.stationId])
    expect(r).toMatchObject({
      status: 'refused',
      error: expect.stringMatching(/certificate is for another device/),
    })
    expect(r.initialKsn).toBeUndefined()
    expect(
      srv.services.db.prepare('SELECT count(*) FROM dukpt_initial_keys WHERE run_id = ?').pluck().get(runId),
    ).toBe(0)
    expect(clone.sim.device.state).toBe('FACTORY')
  })

  it('an Initial Key ID already issued under another BDK fails the injection and is recorded', async () => {
    const { keyStore, db, peds } = srv.services
    const aes = (name: string, algorithm: 'aes128' | 'aes256') => {
      const key = keyStore.generate({ name, kind: 'bdk', algorithm }, 'test')
      keyStore.activate(key.id, 'test')
      return key.id
    }
    const first = aes('AES BDK 1', 'aes128')
    const second = aes('AES BDK 2', 'aes256')
    // A database from before BDK IDs were unique across algorithms: both BDKs share one BDK ID.
    db.prepare('UPDATE keys SET bdk_id = (SELECT bdk_id FROM keys WHERE id = ?) WHERE id = ?').run(
      first,
      second,
    )
    const [issued] = peds.allocator.allocate(first, ['ELSEWHERE'])
    issued.initialKey.fill(0)

    const s = await station('SIM-IK')
    const runId = await createRun(['SIM-IK'], { bdkKeyId: second })
    const [r] = await inject(runId, [s.stationId])
    expect(r).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/Initial Key ID .*already issued/),
    })
    expect(r.initialKsn).toBeUndefined()
    expect(
      db.prepare('SELECT count(*) FROM dukpt_initial_keys WHERE bdk_key_id = ?').pluck().get(second),
    ).toBe(0)
    const failures = db
      .prepare(`SELECT details FROM audit_log WHERE action = 'peds.inject.failed' AND target = 'ped:SIM-IK'`)
      .pluck()
      .all() as string[]
    expect(failures).toHaveLength(1)
    expect(failures[0]).toMatch(/Initial Key ID/)
  })
})
