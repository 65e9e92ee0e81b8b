import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportPskc } from '../../src-server/dongles/pskc/export'
import { hotp } from '../../src-server/otp/oath'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'
import { cardholders, importFile, json } from './dongles-helpers'

/**
 * The call centre and a cardholder's token: `dongles.service` (agent, supervisor, bench, admin) locks, unlocks,
 * resyncs, tests and reports lost a cardholder's token; the inventory (assign, unassign, replace, imports,
 * exports) stays `dongles.manage`. The agent reads the cardholder's tokens under cardholders.read.
 */
let srv: TestServer
let admin: string
let agent: string
let holders: number[]
const SERIALS = ['SV001', 'SV002', 'SV003', 'SV004'] as const
const secrets = new Map<string, Buffer>(SERIALS.map((s) => [s, randomBytes(20)]))
const code = (serial: string, counter: number) =>
  hotp(secrets.get(serial)!, counter, { algorithm: 'SHA1', digits: 6 })
const as =
  (token: string) =>
  (path: string, body: unknown = {}) =>
    srv.api(path, { method: 'POST', token, json: body })
const viewOf = async (serial: string) =>
  json<{ state: string; failCount: number; lockedUntil?: string; counter: number }>(
    await srv.api(`/api/dongles/tokens/${serial}`, { token: admin }),
  )
const audited = (action: string, serial: string) =>
  srv.services.db
    .prepare(`SELECT actor, details FROM audit_log WHERE action = ? AND target = ? ORDER BY id`)
    .all(action, `dongle:${serial}`) as { actor: string; details: string }[]

beforeAll(async () => {
  srv = await startTestServer()
  admin = await srv.login(ADMIN.username, ADMIN.password)
  holders = await cardholders(srv, admin, 3)
  const file = exportPskc(
    SERIALS.map((serial) => ({
      serial,
      kind: 'hotp' as const,
      secret: secrets.get(serial)!,
      algorithm: 'SHA1' as const,
      digits: 6,
      counter: 0,
      period: 30,
      model: 'OTP c200',
    })),
    { password: 'service test password', iterations: 1000 },
  )
  const { job } = await importFile(srv, admin, 'vendor.pskcxml', file, { password: 'service test password' })
  expect(job.status).toBe('done')
  for (const [serial, holder] of [
    ['SV001', holders[0]],
    ['SV002', holders[1]],
  ] as const) {
    expect((await as(admin)(`/api/dongles/tokens/${serial}/assign`, { cardholderId: holder })).status).toBe(
      200,
    )
  }
  await srv.services.operators.create(
    { username: 'agent1', password: 'agent-password-12345', displayName: 'Agent', role: 'agent' },
    'test',
  )
  // The only role without dongles.service; a custodian's account is under dual control (a second admin).
  await srv.services.operators.create(
    {
      username: 'keys1',
      password: 'key-custodian-password-12345',
      displayName: 'Custodian',
      role: 'key-custodian',
    },
    'test',
    'operator:second-admin',
  )
  agent = await srv.login('agent1', 'agent-password-12345')
})
afterAll(() => srv.stop())

describe('an agent serves a cardholder’s token', () => {
  it('reads the cardholder’s tokens under cardholders.read, never the seed nor the inventory', async () => {
    const res = await srv.api(`/api/cardholders/${holders[0]}/dongles`, { token: agent })
    expect(res.status).toBe(200)
    const body = await res.text()
    expect(JSON.parse(body)).toEqual([
      {
        serial: 'SV001',
        model: 'OTP c200',
        kind: 'hotp',
        digits: 6,
        state: 'assigned',
        locked: false,
        failCount: 0,
      },
    ])
    expect(body).not.toMatch(/seed|secret|counter|drift/i)
    expect(body).not.toContain(secrets.get('SV001')!.toString('hex'))
    expect(body).not.toContain(secrets.get('SV001')!.toString('base64'))
    expect(await json(await srv.api(`/api/cardholders/${holders[2]}/dongles`, { token: agent }))).toEqual([])
    expect((await srv.api('/api/cardholders/999999/dongles', { token: agent })).status).toBe(404)
    // Not the inventory: dongles.read stays with bench staff, supervisors and admins.
    expect((await srv.api(`/api/dongles?cardholderId=${holders[0]}`, { token: agent })).status).toBe(403)
    expect((await srv.api('/api/dongles/tokens/SV001', { token: agent })).status).toBe(403)
  })

  it('unlocks a token locked by wrong codes', async () => {
    for (let i = 0; i < 10; i++) srv.services.dongles.verifyDongleCode(holders[0], 'abcdef')
    const [locked] = await json<{ locked: boolean; failCount: number; lockedUntil?: string }[]>(
      await srv.api(`/api/cardholders/${holders[0]}/dongles`, { token: agent }),
    )
    expect(locked).toMatchObject({ locked: true, failCount: 10 })
    expect(locked.lockedUntil).toBeDefined()
    expect((await as(agent)('/api/dongles/tokens/SV001/unlock')).status).toBe(200)
    expect(await viewOf('SV001')).toMatchObject({ state: 'assigned', failCount: 0 })
    expect(srv.services.dongles.verifyDongleCode(holders[0], code('SV001', 0))).toEqual({ ok: true })
  })

  it('locks with a reason and unlocks', async () => {
    expect((await as(agent)('/api/dongles/tokens/SV001/lock', {})).status).toBe(400)
    const res = await as(agent)('/api/dongles/tokens/SV001/lock', { reason: 'caller suspects misuse' })
    expect(res.status).toBe(200)
    // The answer is the cardholder panel's view of the token: no counter, drift or batch.
    const answered = await json<Record<string, unknown>>(res)
    expect(answered).toMatchObject({ serial: 'SV001', state: 'locked', locked: true })
    for (const hidden of ['counter', 'driftSteps', 'batch', 'importId'])
      expect(answered).not.toHaveProperty(hidden)
    expect(await viewOf('SV001')).toMatchObject({ state: 'locked' })
    expect(srv.services.dongles.verifyDongleCode(holders[0], code('SV001', 1))).toEqual({ ok: false })
    expect((await as(agent)('/api/dongles/tokens/SV001/unlock')).status).toBe(200)
    expect(await viewOf('SV001')).toMatchObject({ state: 'assigned' })
  })

  it('resynchronises a drifted token from two consecutive codes, and tests a code', async () => {
    const bad = await as(agent)('/api/dongles/tokens/SV001/resync', {
      otp1: code('SV001', 400),
      otp2: code('SV001', 402),
    })
    expect(await json(bad)).toEqual({ ok: false })
    const good = await as(agent)('/api/dongles/tokens/SV001/resync', {
      otp1: code('SV001', 400),
      otp2: code('SV001', 401),
    })
    expect(await json(good)).toEqual({ ok: true })
    expect(await viewOf('SV001')).toMatchObject({ counter: 402 })
    expect(
      await json(await as(agent)('/api/dongles/tokens/SV001/test', { code: code('SV001', 402) })),
    ).toEqual({
      ok: true,
    })
  })

  it('reports a token stolen at once: it stops authenticating', async () => {
    const res = await as(agent)('/api/dongles/tokens/SV001/lost', {
      how: 'stolen',
      note: 'bag taken on the bus',
    })
    expect(res.status).toBe(200)
    expect(srv.services.dongles.verifyDongleCode(holders[0], code('SV001', 403))).toEqual({ ok: false })
    const [token] = await json<{ state: string; stateReason: string; locked: boolean }[]>(
      await srv.api(`/api/cardholders/${holders[0]}/dongles`, { token: agent }),
    )
    expect(token).toMatchObject({ state: 'lost', stateReason: 'stolen: bag taken on the bus', locked: false })
  })

  it('audits every action with the agent as actor and the reason', async () => {
    const actions = audited('dongle.unlock', 'SV001')
      .concat(
        audited('dongle.lock', 'SV001'),
        audited('dongle.resync', 'SV001'),
        audited('dongle.stolen', 'SV001'),
      )
      .concat(audited('dongle.test', 'SV001'))
    expect(actions.length).toBeGreaterThanOrEqual(6)
    for (const a of actions) expect(a.actor).toBe('operator:agent1')
    expect(JSON.parse(audited('dongle.lock', 'SV001')[0].details)).toMatchObject({
      reason: 'caller suspects misuse',
    })
    expect(JSON.parse(audited('dongle.stolen', 'SV001')[0].details)).toMatchObject({
      cardholderId: holders[0],
      note: 'bag taken on the bus',
    })
  })
})

describe('what dongles.service does not allow', () => {
  it('refuses the inventory actions to an agent (403), changing nothing', async () => {
    const post = as(agent)
    expect((await post('/api/dongles/tokens/SV003/assign', { cardholderId: holders[2] })).status).toBe(403)
    expect((await post('/api/dongles/tokens/SV002/unassign', { reason: 'cardholder left' })).status).toBe(403)
    expect(
      (await post('/api/dongles/tokens/SV002/replace', { replacement: 'SV003', reason: 'broken' })).status,
    ).toBe(403)
    const form = new FormData()
    form.set('file', new Blob(['SV999,3132333435363738393031323334353637383930,hotp,6\n']), 'more.csv')
    expect((await srv.api('/api/dongles/imports', { method: 'POST', token: agent, body: form })).status).toBe(
      403,
    )
    const exported = await post('/api/dongles/exports', {
      password: 'a long backup password',
      approver: { username: ADMIN.username, password: ADMIN.password },
    })
    expect(exported.status).toBe(403)
    expect(await viewOf('SV002')).toMatchObject({ state: 'assigned' })
    expect(await viewOf('SV003')).toMatchObject({ state: 'in-stock' })
  })

  it('keeps an agent off tokens in stock, which to customer service do not exist (as an unknown serial)', async () => {
    const post = as(agent)
    for (const [path, body] of [
      ['lost', { how: 'lost', note: 'not theirs' }],
      ['lock', { reason: 'not theirs' }],
      ['unlock', {}],
      ['resync', { otp1: code('SV004', 0), otp2: code('SV004', 1) }],
      ['test', { code: code('SV004', 0) }],
    ] as const) {
      const res = await post(`/api/dongles/tokens/SV004/${path}`, body)
      const unknown = await post(`/api/dongles/tokens/NOSUCH1/${path}`, body)
      expect([res.status, unknown.status], path).toEqual([404, 404])
      expect((await json<{ detail: string }>(res)).detail).toBe('No token with serial SV004 in the inventory')
    }
    expect(await viewOf('SV004')).toMatchObject({ state: 'in-stock', counter: 0 })
    // An admin (dongles.manage) still works the stock.
    expect(await json(await as(admin)('/api/dongles/tokens/SV004/test', { code: code('SV004', 0) }))).toEqual(
      {
        ok: true,
      },
    )
  })

  it('refuses every token action to an operator without dongles.service', async () => {
    const custodian = await srv.login('keys1', 'key-custodian-password-12345')
    const post = as(custodian)
    for (const [path, body] of [
      ['lost', { how: 'lost', note: 'left on a train' }],
      ['lock', { reason: 'misuse' }],
      ['unlock', {}],
      ['resync', { otp1: code('SV002', 0), otp2: code('SV002', 1) }],
      ['test', { code: code('SV002', 0) }],
    ] as const) {
      const res = await post(`/api/dongles/tokens/SV002/${path}`, body)
      expect(res.status, path).toBe(403)
      expect((await json<{ detail: string }>(res)).detail).toContain('dongles.service')
    }
    expect(await viewOf('SV002')).toMatchObject({ state: 'assigned', counter: 0, failCount: 0 })
  })

  it('grants dongles.service to agent, supervisor, bench and admin only; dongles.manage stays with bench and admin', async () => {
    const { ROLE_PERMISSIONS } = await import('../../src-server/operators/permissions')
    const holding = (p: string) =>
      Object.entries(ROLE_PERMISSIONS)
        .filter(([, ps]) => (ps as readonly string[]).includes(p))
        .map(([role]) => role)
        .sort()
    expect(holding('dongles.service')).toEqual(['admin', 'agent', 'bench', 'supervisor'])
    expect(holding('dongles.manage')).toEqual(['admin', 'bench'])
    expect(holding('dongles.read')).toEqual(['admin', 'bench', 'supervisor'])
  })

  it('documents the permission of each token action in the OpenAPI document', async () => {
    const doc = await json<{ paths: Record<string, Record<string, { 'x-permission'?: string }>> }>(
      await srv.api('/api/openapi.json'),
    )
    const permission = (action: string) =>
      doc.paths[`/api/dongles/tokens/{serial}/${action}`].post['x-permission']
    for (const a of ['lock', 'unlock', 'resync', 'lost', 'test'])
      expect(permission(a), a).toBe('dongles.service')
    for (const a of ['assign', 'unassign', 'replace']) expect(permission(a), a).toBe('dongles.manage')
    expect(doc.paths['/api/cardholders/{id}/dongles'].get['x-permission']).toBe('cardholders.read')
  })
})
