import { parse } from 'csv-parse/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, startTestServer, type TestServer } from '../../test/helpers/server'
import { localDay } from './service'

/** The ACS reports over real authentications: the lab drives purchases through this server's own ACS. */
let srv: TestServer
let token: string
const today = localDay(new Date())
const acsTransIDs: string[] = []

async function call<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const res = await srv.api(path, { ...init, token })
  const text = await res.text()
  expect(res.status, `${path}: ${text}`).toBeLessThan(300)
  return (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T
}

beforeAll(async () => {
  srv = await startTestServer()
  token = await srv.login(ADMIN.username, ADMIN.password)
  await call('/api/lab/demo', { method: 'POST' })
  for (const [pan, amount] of [
    ['4242424242424242', 1250],
    ['4242424242424242', 990],
    ['5555555555554444', 4999],
  ] as const) {
    const p = await call<{ acsTransID: string; ares: { transStatus: string } }>('/api/lab/purchases', {
      method: 'POST',
      json: { pan, amount, flow: 'auto', merchantName: 'Report Shop' },
    })
    acsTransIDs.push(p.acsTransID)
  }
})
afterAll(() => srv.stop())

describe('ACS reports', () => {
  it('Authentication Attempt: one row per authentication of the period, card masked, filterable', async () => {
    const page = await call<{ rows: Record<string, unknown>[] }>(
      `/api/reports/authentication-attempts?from=${today}&to=${today}`,
    )
    expect(page.rows.map((r) => r.acsTransID)).toEqual(acsTransIDs)
    expect(page.rows.map((r) => r.card)).toEqual(['424242******4242', '424242******4242', '555555******4444'])
    expect(page.rows.map((r) => r.amount)).toEqual([1250, 990, 4999])
    expect(page.rows[0].merchant).toBe('Report Shop')
    expect(JSON.stringify(page)).not.toContain('4242424242424242')
    const visa = await call<{ rows: unknown[] }>(
      `/api/reports/authentication-attempts?from=${today}&to=${today}&brand=visa`,
    )
    expect(visa.rows).toHaveLength(2)
    // The ledger's own status for each: the report and the transactions API agree.
    for (const row of page.rows) {
      const trace = await call<{ transaction: { status: string } }>(
        `/api/transactions/${String(row.acsTransID)}`,
      )
      expect(row.status).toBe(trace.transaction.status)
    }
  })

  it('Authentication Statistic: the same counts as the statistics API, per brand', async () => {
    const stats = await call<{ today: { brand: string; total: number; frictionless: number }[] }>(
      '/api/statistics',
    )
    const page = await call<{ rows: Record<string, unknown>[] }>(
      `/api/reports/authentication-statistics?from=${today}&to=${today}`,
    )
    const byBrand = (rows: { brand: unknown; total: unknown; frictionless: unknown }[]) =>
      rows.map((r) => [r.brand, r.total, r.frictionless])
    expect(byBrand(page.rows as never)).toEqual(byBrand(stats.today))
    expect(page.rows.reduce((n, r) => n + Number(r.total), 0)).toBe(3)
  })

  it('Fraud: FRAUD replies only, and none when nobody replied FRAUD', async () => {
    await call('/api/virtual-phone/reply', { method: 'POST', json: { from: '+447700900005', text: 'hello' } })
    const page = await call<{ rows: unknown[] }>(`/api/reports/fraud?from=${today}&to=${today}`)
    expect(page.rows).toEqual([])
    const csv = await call<string>(`/api/reports/fraud/export?from=${today}&to=${today}&format=csv`)
    expect(parse(csv)).toEqual([
      [
        'Received',
        'From',
        'Text (digits masked)',
        'Outcome',
        'Reference (FRAUD …)',
        'Authentication (acsTransID)',
        'Card',
        'Merchant',
      ],
    ])
  })
})
