import type { Db } from '../store/db'
import type { RateLimit } from './limits'

export interface RateCheck {
  bucket: string
  limit: RateLimit
}

export type RateDecision = { allowed: true } | { allowed: false; bucket: string; retryAfterMs: number }

/**
 * Exact sliding-window limits kept in SQLite: every counted event is a row, so "n per window" holds across
 * restarts and across window boundaries (a fixed-window counter would let 2n through around a boundary).
 * Refused attempts are not recorded: hammering a limit does not extend it, so an attacker who floods a
 * victim's number cannot keep the victim locked out past the window.
 */
export class SqliteRateLimiter {
  private readonly count
  private readonly nthOldest
  private readonly insert
  private readonly prune

  constructor(private readonly db: Db) {
    this.count = db.prepare('SELECT count(*) FROM rate_limit_events WHERE bucket = ? AND at > ?').pluck()
    this.nthOldest = db
      .prepare('SELECT at FROM rate_limit_events WHERE bucket = ? AND at > ? ORDER BY at LIMIT 1 OFFSET ?')
      .pluck()
    this.insert = db.prepare('INSERT INTO rate_limit_events (bucket, at, expires_at) VALUES (?, ?, ?)')
    this.prune = db.prepare('DELETE FROM rate_limit_events WHERE expires_at <= ?')
  }

  /**
   * Checks every limit and records one event in each only when all allow it (one transaction, so two
   * requests cannot both take the last slot). On refusal, says when the first refused bucket frees a slot.
   */
  take(checks: readonly RateCheck[], now: number): RateDecision {
    return this.db.transaction((): RateDecision => {
      for (const { bucket, limit } of checks) {
        const since = now - limit.windowMs
        const used = this.count.get(bucket, since) as number
        if (used >= limit.count) {
          // The slot frees when the event that puts the bucket at its limit leaves the window.
          const oldest = this.nthOldest.get(bucket, since, used - limit.count) as number
          return { allowed: false, bucket, retryAfterMs: Math.max(1, oldest + limit.windowMs - now) }
        }
      }
      for (const { bucket, limit } of checks) this.insert.run(bucket, now, now + limit.windowMs)
      return { allowed: true }
    })()
  }

  /** Drops events older than their window; run periodically. */
  pruneExpired(now: number): number {
    return this.prune.run(now).changes
  }
}
