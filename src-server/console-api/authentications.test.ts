import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, startTestServer, type TestServer } from '../../test/helpers/server'
import type { CardholderAuthentication } from './authentications'

let srv: TestServer
let token: string

async function call<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const res = await srv.api(path, { ...init, token })
  const text = await res.text()
  expect(res.status, `${path}: ${text}`).toBeLessThan(300)
  return JSON.parse(text) as T
}

beforeAll(async () => {
  srv = await startTestServer()
  token = await srv.login(ADMIN.username, ADMIN.password)
  await call('/api/lab/demo', { method: 'POST' })
})
afterAll(() => srv.stop())

describe('a cardholder’s authentication history', () => {
  it('lists the authentications of that cardholder’s cards only, newest first', async () => {
    const ids: string[] = []
    for (const pan of ['4242424242424242', '5555555555554444', '4242424242424242']) {
      const p = await call<{ acsTransID: string }>('/api/lab/purchases', {
        method: 'POST',
        json: { pan, amount: 1000, flow: 'auto' },
      })
      ids.push(p.acsTransID)
    }
    const found = await call<{ items: { id: number }[] }>('/api/cardholders?last4=4242')
    const history = await call<CardholderAuthentication[]>(
      `/api/console/cardholders/${found.items[0].id}/authentications`,
    )
    expect(history.map((h) => h.acsTransID)).toEqual([ids[2], ids[0]])
    expect(history.every((h) => h.panMasked === '424242******4242')).toBe(true)
    const other = await call<CardholderAuthentication[]>('/api/console/cardholders/999999/authentications')
    expect(other).toEqual([])
  })
})
