import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openTransport } from '../../hardware/serial/transport'
import { createFactoryIdentity, type PedIdentity } from '../../hardware/sim/ped/identity'
import { PedSimulator } from '../../hardware/sim/ped/simulator'
import { createLabCa, type Party } from '../../src-server/keys/crypto/lab-pki'
import { createCrl, type Crl } from '../../src-server/keys/crypto/pki'
import { openPtyPair } from '../helpers/pty'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'
import { createOperator, expectProblem } from './keys-fixtures'

/**
 * Revocation of PED (KRD) certificates: the trusted CA's CRL is imported through the API, checked (signer,
 * dates, rollback), applied to every injection over real ptys, and handed to each device at bind.
 */
const DAY = 86_400_000
const PED_OPERATORS = [
  { id: 'op1', password: '1111' },
  { id: 'op2', password: '2222' },
]
let srv: TestServer
let admin: string
let bench: string
let ca: Party
let bdkId: number
const cleanups: (() => Promise<void> | void)[] = []

beforeAll(async () => {
  srv = await startTestServer()
  admin = await srv.login(ADMIN.username, ADMIN.password)
  const b = await createOperator(srv, admin, 'benchie', 'bench')
  bench = await srv.login(b.username, b.password)
  const { keyStore } = srv.services
  const bdk = keyStore.generate({ name: 'CRL test BDK', kind: 'bdk', algorithm: 'aes128' }, 'test')
  keyStore.activate(bdk.id, 'test')
  bdkId = bdk.id
  ca = createLabCa()
}, 60_000)
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})
afterAll(() => srv.stop())

const pem = (crl: Crl) =>
  `-----BEGIN X509 CRL-----\n${crl.der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END X509 CRL-----\n`

const importCrl = (crl: string, token = admin) =>
  srv.api('/api/peds/trust/crl', { method: 'PUT', token, json: { crl } })

const setLabTrust = (party: Party) =>
  srv.api('/api/peds/trust/lab', {
    method: 'POST',
    token: admin,
    json: {
      caCertificatePem: party.certificate.toString(),
      caPrivateKeyPem: party.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    },
  })

async function station(identity: PedIdentity) {
  const pair = await openPtyPair()
  cleanups.push(() => pair.close())
  const port = await openTransport(pair.a)
  cleanups.push(() => port.close())
  const sim = new PedSimulator(port.stream, { identity, operators: { op1: '1111', op2: '2222' } })
  cleanups.push(() => sim.stop())
  const res = await srv.api('/api/peds/stations', {
    method: 'POST',
    token: bench,
    json: { name: `Station ${identity.serial}`, url: pair.b },
  })
  expect(res.status).toBe(201)
  return { sim, stationId: ((await res.json()) as { id: number }).id }
}

async function createRun(serials: string[]) {
  const res = await srv.api('/api/injection-runs', {
    method: 'POST',
    token: admin,
    json: { name: `CRL run ${serials.join(' ')}`, bdkKeyId: bdkId, serials },
  })
  expect(res.status, await res.clone().text()).toBe(201)
  return ((await res.json()) as { id: number }).id
}

const startInjection = (runId: number, stationIds: number[]) =>
  srv.api(`/api/injection-runs/${runId}/inject`, {
    method: 'POST',
    token: bench,
    json: { stationIds, pedOperators: PED_OPERATORS },
  })

describe('the PED CA’s CRL', () => {
  it('is refused before a trusted CA is set, from another signer, expired, as garbage, and from the bench', async () => {
    const early = await expectProblem(
      await importCrl(pem(createCrl({ issuer: ca, revokedSerialsHex: [] }))),
      409,
    )
    expect(early.detail).toMatch(/Set the trusted CA first/)
    expect((await setLabTrust(ca)).status).toBe(200)

    const garbage = await expectProblem(
      await importCrl(Buffer.from('not a CRL, honestly, just some bytes').toString('base64')),
      400,
    )
    expect(garbage).toMatchObject({
      title: 'Invalid CRL',
      detail: 'not a usable CRL: the CRL is not valid DER',
    })
    const notPem = await expectProblem(await importCrl(ca.certificate.toString()), 400)
    expect(notPem.detail).toMatch(/not one "-----BEGIN X509 CRL-----" block/)

    const foreign = createCrl({ issuer: createLabCa([['CN', 'Rogue Root']]), revokedSerialsHex: [] })
    expect((await expectProblem(await importCrl(pem(foreign)), 400)).detail).toBe(
      'the revocation list is issued by another CA than the trusted one',
    )
    const expired = createCrl({
      issuer: ca,
      revokedSerialsHex: [],
      thisUpdate: new Date(Date.now() - 10 * DAY),
      nextUpdate: new Date(Date.now() - DAY),
    })
    expect((await expectProblem(await importCrl(pem(expired)), 400)).detail).toMatch(
      /^the revocation list is out of date \(its next update was due /,
    )
    await expectProblem(await importCrl(pem(createCrl({ issuer: ca, revokedSerialsHex: [] })), bench), 403)
    expect(srv.services.peds.trust()?.crl).toBeUndefined()
  })

  it('a revoked device is refused and gets no key; the others are injected and get the CRL at bind', async () => {
    const revokedPed = createFactoryIdentity(ca, { serial: 'SIM-STOLEN' })
    const goodPed = createFactoryIdentity(ca, { serial: 'SIM-GOOD' })
    const crl = createCrl({
      issuer: ca,
      revokedSerialsHex: [revokedPed.certificate.serialNumber],
      crlNumber: 7,
    })
    const imported = await importCrl(pem(crl))
    expect(imported.status, await imported.clone().text()).toBe(200)
    const view = (await (await srv.api('/api/peds/trust', { token: bench })).json()) as {
      crl: Record<string, unknown>
    }
    expect(view.crl).toEqual({
      thisUpdate: crl.thisUpdate.toISOString(),
      nextUpdate: crl.nextUpdate!.toISOString(),
      crlNumber: '7',
      revokedCount: 1,
      issuedByTrustedCa: true,
      importedBy: 'operator:admin',
      importedAt: expect.any(String),
    })
    const { db } = srv.services
    const audit = db
      .prepare(`SELECT actor, details FROM audit_log WHERE action = 'peds.trust.crl.import'`)
      .get() as { actor: string; details: string }
    expect(JSON.parse(audit.details)).toMatchObject({ crlNumber: '7', revokedCount: 1 })

    // An older CRL (which did not list the stolen PED yet) is a rollback.
    const older = createCrl({
      issuer: ca,
      revokedSerialsHex: [],
      thisUpdate: new Date(crl.thisUpdate.getTime() - DAY),
      crlNumber: 6,
    })
    expect((await expectProblem(await importCrl(older.der.toString('base64')), 409)).detail).toMatch(
      /older than the stored one/,
    )

    const stolen = await station(revokedPed)
    const good = await station(goodPed)
    const runId = await createRun(['SIM-STOLEN', 'SIM-GOOD'])
    const res = await startInjection(runId, [stolen.stationId, good.stationId])
    expect(res.status, await res.clone().text()).toBe(202)
    const ids = ((await res.json()) as { id: number }[]).map((r) => r.id)
    await srv.services.peds.idle()
    const [s, g] = ids.map((id) => srv.services.peds.injection(id))
    expect(s).toMatchObject({
      deviceSerial: 'SIM-STOLEN',
      status: 'refused',
      error: `the KRD certificate (serial ${revokedPed.certificate.serialNumber}) has been revoked by the CA`,
    })
    expect(s.initialKsn).toBeUndefined()
    expect(stolen.sim.device.state).toBe('FACTORY')
    expect(g).toMatchObject({ deviceSerial: 'SIM-GOOD', status: 'injected' })
    // The bind token carried the CRL to the device.
    expect(good.sim.device.bindCrl?.der).toEqual(crl.der)

    expect(
      db.prepare(`SELECT device_serial FROM dukpt_initial_keys WHERE run_id = ?`).pluck().all(runId),
    ).toEqual(['SIM-GOOD'])
    const refusal = db
      .prepare(
        `SELECT details FROM audit_log WHERE action = 'peds.inject.refused' AND target = 'ped:SIM-STOLEN'`,
      )
      .pluck()
      .get() as string
    expect(JSON.parse(refusal)).toMatchObject({ reason: expect.stringMatching(/has been revoked by the CA/) })
    expect(srv.services.audit.verify()).toMatchObject({ ok: true })
  })

  it('injection stops when the stored CRL has expired or revokes the station’s own KDH certificate', async () => {
    const ped = await station(createFactoryIdentity(ca, { serial: 'SIM-LATER' }))
    const runId = await createRun(['SIM-LATER'])
    const { db } = srv.services
    const injections = () => db.prepare('SELECT count(*) FROM ped_injections').pluck().get()
    const before = injections()

    // What the store holds once the imported CRL's nextUpdate has passed.
    const lapsed = createCrl({
      issuer: ca,
      revokedSerialsHex: [],
      thisUpdate: new Date(Date.now() - 9 * DAY),
      nextUpdate: new Date(Date.now() - 2 * DAY),
    })
    db.prepare('UPDATE ped_trust_crl SET crl_der = ? WHERE id = 1').run(lapsed.der)
    const stale = await expectProblem(await startInjection(runId, [ped.stationId]), 409)
    expect(stale.detail).toMatch(
      /^Injection is stopped: the revocation list is out of date .*; import the CA's current CRL/,
    )

    const kdhSerial = srv.services.peds.trust()!.kdh.serialNumber
    expect((await importCrl(pem(createCrl({ issuer: ca, revokedSerialsHex: [kdhSerial] })))).status).toBe(200)
    const kdhRevoked = await expectProblem(await startInjection(runId, [ped.stationId]), 409)
    expect(kdhRevoked.detail).toMatch(
      /the station's KDH certificate is unusable \(the KDH certificate .* revoked/,
    )
    expect(injections()).toBe(before)
    expect(ped.sim.device.state).toBe('FACTORY')
  })

  it('stays with a new CA, stopping injection until that CA’s own CRL is imported', async () => {
    const ped = await station(createFactoryIdentity(ca, { serial: 'SIM-NEWCA' }))
    const runId = await createRun(['SIM-NEWCA'])
    expect(srv.services.peds.trust()?.crl?.issuedByTrustedCa).toBe(true)
    const next = createLabCa([['CN', 'Next Root']])
    expect((await setLabTrust(next)).status).toBe(200)
    // Revocation stays on: the old CA's CRL is kept, fails its check, and injection stops until the new one's.
    expect(srv.services.peds.trust()?.crl?.issuedByTrustedCa).toBe(false)
    const set = srv.services.db
      .prepare(`SELECT details FROM audit_log WHERE action = 'peds.trust.set' ORDER BY id DESC LIMIT 1`)
      .pluck()
      .get() as string
    expect(JSON.parse(set)).toMatchObject({ crlOfAnotherCa: true })
    const stopped = await expectProblem(await startInjection(runId, [ped.stationId]), 409)
    expect(stopped.detail).toMatch(/issued by another CA than the trusted one/)
    // The new CA numbers its CRLs from 1: not a rollback of the old CA's.
    const first = await importCrl(pem(createCrl({ issuer: next, revokedSerialsHex: [], crlNumber: 1 })))
    expect(first.status, await first.clone().text()).toBe(200)
    expect(srv.services.peds.trust()?.crl?.issuedByTrustedCa).toBe(true)
  })
})
