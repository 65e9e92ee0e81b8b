import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openTransport } from '../../hardware/serial/transport'
import { createFactoryIdentity } from '../../hardware/sim/ped/identity'
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
async function station(serial: string, options: { faults?: PedFault[]; securityVersion?: string } = {}) {
  const pair = await openPtyPair()
  cleanups.push(() => pair.close())
  const port = await openTransport(pair.a)
  cleanups.push(() => port.close())
  const sim = new PedSimulator(port.stream, {
    identity: createFactoryIdentity(ca, { serial, securityVersion: options.securityVersion }),
    operators: { op1: '1111', op2: '2222' },
  })
  cleanups.push(() => sim.stop())
  for (const f of options.faults ?? []) sim.injectFault(f)
  const res = await srv.api('/api/peds/stations', {
    method: 'POST',
    token: bench,
    json: { name: `Station ${serial}`, url: pair.b },
  })
  expect(res.status).toBe(201)
  return { sim, stationId: ((await res.json()) as { id: number }).id }
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
})
