import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hotp, totp } from '../../src-server/otp/oath'
import { runIms } from '../helpers/process'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'
import { cardholders, importFile, json } from './dongles-helpers'

let srv: TestServer
let token: string
let holders: number[]
const secrets = new Map<string, Buffer>()
const code = (serial: string, counter: number) =>
  hotp(secrets.get(serial)!, counter, { algorithm: 'SHA1', digits: 6 })
const post = (path: string, body: unknown = {}) => srv.api(path, { method: 'POST', token, json: body })
const token$ = async (serial: string) =>
  json<{
    state: string
    cardholderId?: number
    counter: number
    failCount: number
    lockedUntil?: string
    driftSteps: number
    stateReason?: string
  }>(await srv.api(`/api/dongles/tokens/${serial}`, { token }))

beforeAll(async () => {
  srv = await startTestServer()
  token = await srv.login(ADMIN.username, ADMIN.password)
  holders = await cardholders(srv, token, 3)
  const rows = ['AS001', 'AS002', 'AS003', 'AS004', 'TT001'].map((serial) => {
    secrets.set(serial, randomBytes(20))
    const type = serial.startsWith('TT') ? 'totp' : 'hotp'
    return `${serial},${secrets.get(serial)!.toString('hex')},${type},6,30`
  })
  const { job } = await importFile(srv, token, 'stock.csv', rows.join('\n'))
  expect(job.status).toBe('done')
})
afterAll(() => srv.stop())

describe('assignment life cycle through the API', () => {
  it('assigns a token to a cardholder and refuses a second token for the same cardholder', async () => {
    const res = await post('/api/dongles/tokens/AS001/assign', { cardholderId: holders[0] })
    expect(res.status).toBe(200)
    expect(await token$('AS001')).toMatchObject({ state: 'assigned', cardholderId: holders[0] })
    const second = await post('/api/dongles/tokens/AS002/assign', { cardholderId: holders[0] })
    expect(second.status).toBe(409)
    expect((await json<{ detail: string }>(second)).detail).toMatch(/already uses token AS001; replace it/)
    expect((await post('/api/dongles/tokens/AS001/assign', { cardholderId: holders[1] })).status).toBe(409)
    expect((await post('/api/dongles/tokens/AS002/assign', { cardholderId: 999_999 })).status).toBe(404)
    expect((await post('/api/dongles/tokens/NOPE/assign', { cardholderId: holders[1] })).status).toBe(404)
  })

  it('finds the cardholder’s token by filter', async () => {
    const page = await json<{ items: { serial: string }[]; total: number }>(
      await srv.api(`/api/dongles?cardholderId=${holders[0]}`, { token }),
    )
    expect(page).toMatchObject({ total: 1, items: [{ serial: 'AS001' }] })
  })

  it('verifyDongleCode accepts the next code once, and answers the same for wrong, replayed and absent', async () => {
    const svc = srv.services.dongles
    expect(svc.dongleFor(holders[0])).toEqual({ serial: 'AS001', kind: 'hotp', digits: 6 })
    expect(svc.verifyDongleCode(holders[0], code('AS001', 0))).toEqual({ ok: true })
    expect(svc.verifyDongleCode(holders[0], code('AS001', 0))).toEqual({ ok: false }) // replay
    expect(svc.verifyDongleCode(holders[0], '000000' === code('AS001', 1) ? '111111' : '000000')).toEqual({
      ok: false,
    })
    expect(svc.verifyDongleCode(holders[2], '123456')).toEqual({ ok: false }) // no token
    expect(await token$('AS001')).toMatchObject({ counter: 1, failCount: 2 })
    const reasons = srv.services.db
      .prepare(
        `SELECT json_extract(details, '$.reason') FROM audit_log WHERE action = 'dongle.verify' ORDER BY id`,
      )
      .pluck()
      .all()
    expect(reasons).toEqual(['ok', 'wrong-code', 'wrong-code', 'no-token'])
    expect(srv.logText()).not.toContain(code('AS001', 0))
  })

  it('locks after ten failures: then even the right code fails, until an operator unlocks it', async () => {
    const svc = srv.services.dongles
    for (let i = 0; i < 8; i++) svc.verifyDongleCode(holders[0], 'abcdef')
    expect((await token$('AS001')).lockedUntil).toBeDefined()
    expect(svc.verifyDongleCode(holders[0], code('AS001', 1))).toEqual({ ok: false })
    expect((await post('/api/dongles/tokens/AS001/unlock')).status).toBe(200)
    expect(await token$('AS001')).toMatchObject({ failCount: 0 })
    expect(svc.verifyDongleCode(holders[0], code('AS001', 1))).toEqual({ ok: true })
  })

  it('an operator lock refuses every code until unlocked', async () => {
    expect((await post('/api/dongles/tokens/AS001/lock', { reason: 'suspected misuse' })).status).toBe(200)
    expect(srv.services.dongles.verifyDongleCode(holders[0], code('AS001', 2))).toEqual({ ok: false })
    expect(srv.services.dongles.dongleFor(holders[0])).toBeUndefined()
    expect((await post('/api/dongles/tokens/AS001/unlock')).status).toBe(200)
    expect(await token$('AS001')).toMatchObject({ state: 'assigned' })
    expect(srv.services.dongles.verifyDongleCode(holders[0], code('AS001', 2))).toEqual({ ok: true })
  })

  it('resyncs an HOTP token from two consecutive codes far ahead', async () => {
    const bad = await json(
      await post('/api/dongles/tokens/AS001/resync', { otp1: code('AS001', 500), otp2: code('AS001', 502) }),
    )
    expect(bad).toEqual({ ok: false })
    const good = await json(
      await post('/api/dongles/tokens/AS001/resync', { otp1: code('AS001', 500), otp2: code('AS001', 501) }),
    )
    expect(good).toEqual({ ok: true })
    expect(await token$('AS001')).toMatchObject({ counter: 502 })
    expect((await post('/api/dongles/tokens/AS001/resync', { otp1: '12', otp2: '34' })).status).toBe(400)
  })

  it('resyncs a TOTP token whose clock runs 40 steps ahead', async () => {
    const now = Date.now() / 1000
    const at = (steps: number) =>
      totp(secrets.get('TT001')!, now + steps * 30, { algorithm: 'SHA1', digits: 6, period: 30, t0: 0 })
    expect(await json(await post('/api/dongles/tokens/TT001/test', { code: at(40) }))).toEqual({ ok: false })
    expect(
      await json(await post('/api/dongles/tokens/TT001/resync', { otp1: at(40), otp2: at(41) })),
    ).toEqual({ ok: true })
    expect((await token$('TT001')).driftSteps).toBeGreaterThanOrEqual(40)
  })

  it('replaces a token: the old one is revoked, the new one assigned, in one step', async () => {
    const res = await post('/api/dongles/tokens/AS001/replace', {
      replacement: 'AS002',
      reason: 'battery flat',
    })
    expect(res.status).toBe(200)
    expect(await token$('AS001')).toMatchObject({
      state: 'revoked',
      cardholderId: holders[0],
      stateReason: 'replaced by AS002: battery flat',
    })
    expect(await token$('AS002')).toMatchObject({ state: 'assigned', cardholderId: holders[0] })
    expect(srv.services.dongles.verifyDongleCode(holders[0], code('AS002', 0))).toEqual({ ok: true })
    expect(
      (await post('/api/dongles/tokens/AS002/replace', { replacement: 'AS001', reason: 'again' })).status,
    ).toBe(409)
  })

  it('reports a token stolen: it stops working at once', async () => {
    expect(
      (await post('/api/dongles/tokens/AS002/lost', { how: 'stolen', note: 'bag stolen on the train' }))
        .status,
    ).toBe(200)
    expect(await token$('AS002')).toMatchObject({
      state: 'lost',
      stateReason: 'stolen: bag stolen on the train',
    })
    expect(srv.services.dongles.verifyDongleCode(holders[0], code('AS002', 1))).toEqual({ ok: false })
    // The cardholder can get a new token now.
    expect((await post('/api/dongles/tokens/AS003/assign', { cardholderId: holders[0] })).status).toBe(200)
  })

  it('unassigns a token back into stock with a reason', async () => {
    expect((await post('/api/dongles/tokens/AS003/unassign', { reason: 'x' })).status).toBe(400)
    expect((await post('/api/dongles/tokens/AS003/unassign', { reason: 'cardholder left' })).status).toBe(200)
    expect(await token$('AS003')).toMatchObject({ state: 'in-stock' })
  })

  it('audits every change with the operator', async () => {
    const actions = srv.services.db
      .prepare(
        `SELECT action FROM audit_log WHERE action LIKE 'dongle.%' AND actor = 'operator:admin' ORDER BY id`,
      )
      .pluck()
      .all()
    for (const a of [
      'dongle.assign',
      'dongle.unlock',
      'dongle.lock',
      'dongle.resync',
      'dongle.replace',
      'dongle.stolen',
      'dongle.unassign',
    ]) {
      expect(actions).toContain(a)
    }
  })

  it('keyset-pages the inventory and filters by state', async () => {
    const first = await json<{ items: { serial: string }[]; nextAfter: string; total: number }>(
      await srv.api('/api/dongles?limit=2', { token }),
    )
    expect(first).toMatchObject({ total: 5, nextAfter: 'AS002' })
    const second = await json<{ items: { serial: string }[] }>(
      await srv.api(`/api/dongles?limit=2&after=${first.nextAfter}`, { token }),
    )
    expect(second.items.map((t) => t.serial)).toEqual(['AS003', 'AS004'])
    const stock = await json<{ items: { serial: string }[] }>(
      await srv.api('/api/dongles?state=in-stock', { token }),
    )
    expect(stock.items.map((t) => t.serial)).toEqual(['AS003', 'AS004', 'TT001'])
    // A page that holds the last token says there is no next one.
    const all = await json<{ items: unknown[]; nextAfter?: string }>(
      await srv.api('/api/dongles?limit=5', { token }),
    )
    expect(all.items).toHaveLength(5)
    expect(all.nextAfter).toBeUndefined()
  })

  it('needs dongles.manage to change anything', async () => {
    await srv.services.operators.create(
      { username: 'agent1', password: 'agent-password-123', displayName: 'Agent', role: 'agent' },
      'test',
    )
    const agent = await srv.login('agent1', 'agent-password-123')
    const res = await srv.api('/api/dongles/tokens/AS004/assign', {
      method: 'POST',
      token: agent,
      json: { cardholderId: holders[1] },
    })
    expect(res.status).toBe(403)
  })
})

describe('ims dongle assign / verify', () => {
  const env = () => ({ IMS_DATA_DIR: srv.dataDir })

  it('assigns by serial and cardholder id', async () => {
    const r = await runIms(['dongle', 'assign', 'AS004', String(holders[1])], env())
    expect(r.stdout).toContain(`token AS004 assigned to cardholder ${holders[1]}`)
    expect(r.code).toBe(0)
    expect(await token$('AS004')).toMatchObject({ state: 'assigned', cardholderId: holders[1] })
    const again = await runIms(['dongle', 'assign', 'AS004', String(holders[2])], env())
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/AS004 is assigned/)
  })

  it('exits 0 for a valid code and 1 otherwise, with a generic message', async () => {
    const ok = await runIms(['dongle', 'verify', 'AS004', code('AS004', 0)], env())
    expect([ok.code, ok.stdout.trim()]).toEqual([0, 'code accepted'])
    const replay = await runIms(['dongle', 'verify', 'AS004', code('AS004', 0)], env())
    expect([replay.code, replay.stdout.trim()]).toEqual([1, 'code not accepted'])
    const junk = await runIms(['dongle', 'verify', 'AS004', 'junk'], env())
    expect([junk.code, junk.stdout.trim()]).toEqual([1, 'code not accepted'])
    const usage = await runIms(['dongle', 'verify', 'AS004'], env())
    expect(usage.code).toBe(2)
  })
})
