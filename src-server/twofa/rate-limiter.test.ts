import Database from 'better-sqlite3'
import { beforeEach, describe, expect, it } from 'vitest'
import { migrate, type Db } from '../store/db'
import { SqliteRateLimiter } from './rate-limiter'

const DAY = 86_400_000

describe('SqliteRateLimiter', () => {
  let db: Db
  let limiter: SqliteRateLimiter
  beforeEach(() => {
    db = new Database(':memory:')
    migrate(db)
    limiter = new SqliteRateLimiter(db)
  })

  it('allows n per sliding window and says when the next slot frees', () => {
    const limit = { count: 3, windowMs: DAY }
    const t0 = 1_700_000_000_000
    expect(limiter.take([{ bucket: 'p', limit }], t0).allowed).toBe(true)
    expect(limiter.take([{ bucket: 'p', limit }], t0 + 1000).allowed).toBe(true)
    expect(limiter.take([{ bucket: 'p', limit }], t0 + 2000).allowed).toBe(true)
    expect(limiter.take([{ bucket: 'p', limit }], t0 + 3000)).toEqual({
      allowed: false,
      bucket: 'p',
      retryAfterMs: DAY - 3000,
    })
    // A refusal is not counted: once the first event leaves the window, exactly one slot is free.
    expect(limiter.take([{ bucket: 'p', limit }], t0 + DAY - 1).allowed).toBe(false)
    expect(limiter.take([{ bucket: 'p', limit }], t0 + DAY).allowed).toBe(true)
    expect(limiter.take([{ bucket: 'p', limit }], t0 + DAY + 1)).toEqual({
      allowed: false,
      bucket: 'p',
      retryAfterMs: 1000 - 1,
    })
  })

  it('is a sliding window: no burst of 2n around a window boundary', () => {
    const limit = { count: 2, windowMs: 10_000 }
    const t0 = 1_000_000
    expect(limiter.take([{ bucket: 'b', limit }], t0 + 9000).allowed).toBe(true)
    expect(limiter.take([{ bucket: 'b', limit }], t0 + 9500).allowed).toBe(true)
    // A fixed window starting at t0 + 10000 would allow two more here.
    expect(limiter.take([{ bucket: 'b', limit }], t0 + 10_500).allowed).toBe(false)
    expect(limiter.take([{ bucket: 'b', limit }], t0 + 18_999).allowed).toBe(false)
    expect(limiter.take([{ bucket: 'b', limit }], t0 + 19_000).allowed).toBe(true)
  })

  it('takes a slot in every bucket or in none', () => {
    const phone = { bucket: 'phone', limit: { count: 1, windowMs: DAY } }
    const app = { bucket: 'app', limit: { count: 2, windowMs: DAY } }
    expect(limiter.take([phone, app], 0).allowed).toBe(true)
    const refused = limiter.take([phone, app], 1)
    expect(refused.allowed).toBe(false)
    expect(refused).toMatchObject({ bucket: 'phone' })
    // The refused request did not consume the application's second slot.
    expect(limiter.take([{ bucket: 'other-phone', limit: phone.limit }, app], 2).allowed).toBe(true)
    expect(limiter.take([{ bucket: 'third-phone', limit: phone.limit }, app], 3)).toMatchObject({
      allowed: false,
      bucket: 'app',
    })
  })

  it('survives a restart (the events are rows) and prunes old ones', () => {
    const limit = { count: 1, windowMs: 5000 }
    limiter.take([{ bucket: 'x', limit }], 0)
    const again = new SqliteRateLimiter(db)
    expect(again.take([{ bucket: 'x', limit }], 10).allowed).toBe(false)
    expect(again.pruneExpired(5000)).toBe(1)
    expect(again.take([{ bucket: 'x', limit }], 5000).allowed).toBe(true)
  })

  it('honours a limit lowered below the events already in the window', () => {
    limiter.take([{ bucket: 'y', limit: { count: 5, windowMs: 10_000 } }], 0)
    limiter.take([{ bucket: 'y', limit: { count: 5, windowMs: 10_000 } }], 1000)
    limiter.take([{ bucket: 'y', limit: { count: 5, windowMs: 10_000 } }], 2000)
    // Now limited to 1: a slot frees only when two events have left, i.e. when the one at 1000 does.
    expect(limiter.take([{ bucket: 'y', limit: { count: 1, windowMs: 10_000 } }], 3000)).toEqual({
      allowed: false,
      bucket: 'y',
      retryAfterMs: 10_000 + 2000 - 3000,
    })
  })
})
