import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, startTestServer, type TestServer } from '../../../test/helpers/server'
import type { NewTransaction } from '../../acs/ledger/ledger'
import { METHOD_MIX_BACKFILL } from '../../store/migrations/0800-dashboard-stats'
import { dashboardFigures } from './figures'
import type { Dashboard } from './schema'

let srv: TestServer
let token: string

beforeAll(async () => {
  srv = await startTestServer()
  token = await srv.login(ADMIN.username, ADMIN.password)
})
afterAll(() => srv.stop())

const DAY = 86_400_000
/** A fixed "now" (noon UTC) so the windows' edges are exact. */
const NOW = Date.UTC(2031, 0, 15, 12)
const TODAY = Date.UTC(2031, 0, 15)

async function dashboard(query = ''): Promise<Dashboard> {
  const res = await srv.api(`/api/console/dashboard${query}`, { token })
  expect(res.status).toBe(200)
  return (await res.json()) as Dashboard
}

/** One authentication through the real ledger (the ACS's own statistics and method counters). */
function authenticate(
  at: number,
  brand: string,
  aresStatus: string,
  options: {
    issuerId?: number
    method?: string
    ending?: { finalStatus: string; challengeCancel?: string }
  } = {},
): void {
  const acsTransID = randomUUID()
  const tx: NewTransaction = {
    acsTransID,
    createdAt: at,
    messageVersion: '2.2.0',
    messageCategory: '01',
    channel: 'browser',
    brand,
    issuerId: options.issuerId ?? 1,
    cardKey: Buffer.alloc(32, 1),
    panMasked: '400000******0002',
    threeDSServerTransID: randomUUID(),
    dsTransID: randomUUID(),
    dsURL: 'http://127.0.0.1:9/ds',
    aresStatus,
    method: options.method,
    ruleId: 'test',
    decisionReason: 'test',
  }
  const { ledger } = srv.services.acs
  ledger.open(tx)
  if (options.ending) ledger.finish({ acsTransID, ...options.ending }, at + 60_000)
}

const byBrand = (rows: Dashboard['periods']['today']) => Object.fromEntries(rows.map((r) => [r.brand, r]))
const mix = (rows: Dashboard['methods']['today']) => Object.fromEntries(rows.map((r) => [r.method, r.total]))

describe('dashboard', () => {
  it('starts empty: 30 zero days, no brand, no method, no SMS', async () => {
    const d = await dashboard()
    expect(d.days).toHaveLength(30)
    expect(d.days.every((day) => day.total === 0)).toBe(true)
    expect(d.periods).toEqual({ today: [], last7Days: [], last30Days: [] })
    expect(d.methods).toEqual({ today: [], last7Days: [], last30Days: [] })
    expect(d.sms).toMatchObject({
      pending: 0,
      sent: 0,
      delivered: 0,
      failed: 0,
      received: 0,
      gateway: 'virtual',
    })
    expect(d.sms.latency).toBeUndefined()
    expect(d.alarms).toEqual({ items: [], recordedOpen: 0 })
  })

  it('counts per brand, period and method from the daily tables, with exact day and window edges', async () => {
    authenticate(TODAY, 'visa', 'Y') // first instant of today
    srv.services.acs.ledger.erro('visa', 1, TODAY + 3_600_000) // an Erro: unavailable, no method
    authenticate(TODAY + 7_200_000, 'visa', 'C', { method: 'dongle' }) // challenge still running
    authenticate(TODAY + 1000, 'amex', 'U', { issuerId: 2 })
    authenticate(TODAY + 2000, 'visa', 'I') // informational only: neither a result nor unavailable
    authenticate(TODAY - 1, 'visa', 'N') // last instant of yesterday
    authenticate(TODAY - 6 * DAY, 'mastercard', 'C', { method: 'sms-otp', ending: { finalStatus: 'Y' } })
    authenticate(TODAY - 6 * DAY - 1, 'mastercard', 'C', {
      method: 'sms-reply',
      ending: { finalStatus: 'N', challengeCancel: '01' }, // abandoned: incomplete
    })
    authenticate(TODAY - 29 * DAY, 'visa', 'A')
    authenticate(TODAY - 29 * DAY - 1, 'visa', 'Y') // outside the 30 days

    const d = await dashboardFigures(srv.services, undefined, NOW)
    expect(d.today).toBe('2031-01-15')

    const today = byBrand(d.periods.today)
    expect(Object.keys(today)).toEqual(['amex', 'visa'])
    expect(today.visa).toMatchObject({
      total: 4,
      frictionless: 2,
      challenged: 1,
      successful: 1,
      failed: 0,
      unavailable: 1,
      incomplete: 0,
      attempts: 0,
      informational: 1,
      inProgress: 1,
    })
    expect(today.amex).toMatchObject({ total: 1, unavailable: 1, frictionless: 1 })
    expect(mix(d.methods.today)).toEqual({ none: 3, dongle: 1 })

    const week = byBrand(d.periods.last7Days)
    expect(week.visa).toMatchObject({ total: 5, failed: 1, successful: 1, informational: 1 })
    expect(week.mastercard).toMatchObject({
      total: 1,
      challenged: 1,
      successful: 1,
      incomplete: 0,
      inProgress: 0,
    })
    expect(mix(d.methods.last7Days)).toEqual({ none: 4, dongle: 1, 'sms-otp': 1 })

    const month = byBrand(d.periods.last30Days)
    expect(month.visa).toMatchObject({ total: 6, attempts: 1, informational: 1, successful: 1 })
    expect(month.mastercard).toMatchObject({ total: 2, successful: 1, incomplete: 1 })
    expect(mix(d.methods.last30Days)).toEqual({ none: 5, dongle: 1, 'sms-otp': 1, 'sms-reply': 1 })
    // Most used first.
    expect(d.methods.last30Days[0].method).toBe('none')

    // The series: 30 consecutive days ending today, totals matching the 30-day period.
    expect(d.days[0].day).toBe('2030-12-17')
    expect(d.days.at(-1)!.day).toBe('2031-01-15')
    const day = Object.fromEntries(d.days.map((x) => [x.day, x]))
    expect(day['2030-12-17']).toMatchObject({ total: 1, attempts: 1 })
    expect(day['2031-01-08']).toMatchObject({ total: 1, incomplete: 1 })
    expect(day['2031-01-09']).toMatchObject({ total: 1, successful: 1 })
    expect(day['2031-01-14']).toMatchObject({ total: 1, failed: 1 })
    expect(day['2031-01-15']).toMatchObject({
      total: 5,
      successful: 1,
      unavailable: 2,
      informational: 1,
      inProgress: 1,
    })
    const sum = (rows: { total: number }[]) => rows.reduce((s, r) => s + r.total, 0)
    expect(sum(d.days)).toBe(sum(d.periods.last30Days))

    // One issuer only.
    const issuer2 = await dashboardFigures(srv.services, 2, NOW)
    expect(issuer2.issuerId).toBe(2)
    expect(issuer2.periods.last30Days.map((r) => r.brand)).toEqual(['amex'])
    expect(mix(issuer2.methods.last30Days)).toEqual({ none: 1 })
    expect(sum(issuer2.days)).toBe(1)
  })

  it('the migration backfill counts the method mix exactly as the ledger does', () => {
    const { db } = srv.services
    const kept = db.prepare('SELECT * FROM acs_method_daily ORDER BY day, brand, issuer_id, method').all()
    expect(kept.length).toBeGreaterThan(0)
    db.transaction(() => {
      db.exec('DELETE FROM acs_method_daily')
      db.exec(METHOD_MIX_BACKFILL)
    })()
    expect(db.prepare('SELECT * FROM acs_method_daily ORDER BY day, brand, issuer_id, method').all()).toEqual(
      kept,
    )
  })

  it('reports SMS delivery health of the last 24 hours with latency', async () => {
    const { sms } = srv.services
    sms.enqueue({ idempotencyKey: 'dash-1', to: '+447700900123', text: 'hello one', kind: 'test' })
    sms.enqueue({ idempotencyKey: 'dash-2', to: '+447700900123', text: 'hello two', kind: 'test' })
    await srv.api('/api/virtual-phone/reply', {
      method: 'POST',
      token,
      json: { from: '+447700900123', text: 'hi' },
    })
    await expect.poll(async () => (await dashboard()).sms.delivered, { timeout: 10_000 }).toBe(2)
    const d = await dashboard()
    expect(d.sms).toMatchObject({ pending: 0, sent: 0, failed: 0, received: 1 })
    expect(d.sms.latency?.sample).toBe(2)
    expect(d.sms.latency!.p95Ms).toBeGreaterThanOrEqual(d.sms.latency!.medianMs)
    // A message older than 24 hours is out of the window.
    srv.services.db
      .prepare('UPDATE sms_outbox SET created_at = created_at - ? WHERE idempotency_key = ?')
      .run(25 * 3_600_000, 'dash-1')
    expect((await dashboard()).sms.delivered).toBe(1)
  })

  it('lists recorded alarms newest first, and an acknowledged one leaves', async () => {
    const { alarms } = srv.services.acs
    alarms.raise(
      'rreq-undelivered',
      'tx-older',
      'RReq for tx-older undelivered after 5 attempts: DS unreachable',
    )
    await new Promise((r) => setTimeout(r, 5))
    alarms.raise(
      'rreq-undelivered',
      'tx-newer',
      'RReq for tx-newer undelivered after 5 attempts: DS unreachable',
    )
    let d = await dashboard()
    expect(d.alarms.recordedOpen).toBe(2)
    expect(d.alarms.items.map((a) => a.ref)).toEqual(['tx-newer', 'tx-older'])
    expect(d.alarms.items[0]).toMatchObject({ kind: 'rreq-undelivered', severity: 'critical', count: 1 })
    const res = await srv.api(`/api/alarms/${d.alarms.items[0].alarmId}/acknowledge`, {
      method: 'POST',
      token,
    })
    expect(res.status).toBe(204)
    d = await dashboard()
    expect(d.alarms.recordedOpen).toBe(1)
    expect(d.alarms.items.map((a) => a.ref)).toEqual(['tx-older'])
  })

  it('raises "range without keys" until the range has keys, and RReqs waiting for a retry', async () => {
    const { issuers, acs, db } = srv.services
    const issuer = issuers.createIssuer(
      { name: 'Dash Bank', acsReferenceNumber: 'DASH-1', branding: {} },
      'test',
    )
    const range = issuers.createRange(
      {
        issuerId: issuer.id,
        brand: 'visa',
        startPrefix: '499999',
        endPrefix: '499999',
        production: false,
        authValue: {},
      },
      'test',
    )
    const keyless = (d: Dashboard) => d.alarms.items.filter((a) => a.kind === 'range-without-keys')
    let d = await dashboard()
    expect(keyless(d)).toEqual([
      expect.objectContaining({
        ref: `range:${range.id}`,
        severity: 'critical',
        message: expect.stringContaining('499999'),
      }),
    ])
    // Critical conditions come before warnings.
    expect(d.alarms.items.findIndex((a) => a.severity === 'warning')).not.toBe(0)
    expect(d.issuers).toEqual([{ id: issuer.id, name: 'Dash Bank' }])
    acs.keys.generateRangeKeys(range.id, 'test')
    expect(keyless(await dashboard())).toEqual([])

    db.prepare(
      `INSERT INTO acs_rreq_outbox (acs_trans_id, ds_url, body, status, attempts, next_attempt_at, created_at)
       VALUES ('tx-retry', 'http://127.0.0.1:9/ds', '{}', 'pending', 2, ?, ?)`,
    ).run(Date.now() + 60_000, Date.now())
    d = await dashboard()
    expect(d.alarms.items.find((a) => a.kind === 'rreq-retrying')).toMatchObject({
      count: 1,
      severity: 'warning',
    })
  })

  it('checks its query: an unknown issuer filter is refused in words, a missing session too', async () => {
    const bad = await srv.api('/api/console/dashboard?issuerId=abc', { token })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { title: string }).title).toBe('Validation failed')
    expect((await srv.api('/api/console/dashboard')).status).toBe(401)
  })
})
