import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, startTestServer, type TestServer } from '../../test/helpers/server'
import type { Overview } from './overview'

let srv: TestServer
let token: string

beforeAll(async () => {
  srv = await startTestServer()
  token = await srv.login(ADMIN.username, ADMIN.password)
})
afterAll(() => srv.stop())

describe('dashboard overview', () => {
  it('counts incoming SMS in the last 24 hours and in the current hour bucket', async () => {
    const before = (await (await srv.api('/api/console/overview', { token })).json()) as Overview
    expect(before.hourly).toHaveLength(24)
    expect(before.smsIn).toEqual({})
    expect(before.cardholders).toEqual({})
    expect(before.authentications).toEqual({})
    for (const text of ['hello', 'FRAUD']) {
      await srv.api('/api/virtual-phone/reply', {
        method: 'POST',
        token,
        json: { from: '+447700900555', text },
      })
    }
    const after = (await (await srv.api('/api/console/overview', { token })).json()) as Overview
    expect(Object.values(after.smsIn).reduce((a, b) => a + b, 0)).toBe(2)
    expect(after.hourly.at(-1)!.received).toBe(2)
    expect(after.hourly.slice(0, -1).every((h) => h.received === 0)).toBe(true)
    // Hours are consecutive, oldest first, ending with the current hour.
    const hours = after.hourly.map((h) => Date.parse(h.hour))
    expect(hours.slice(1).map((h, i) => h - hours[i])).toEqual(Array(23).fill(3_600_000))
    expect(Date.now() - hours[23]).toBeLessThan(3_600_000)
  })
})
