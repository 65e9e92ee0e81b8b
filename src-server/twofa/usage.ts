import type { Db } from '../store/db'
import type { UsageView } from './model'

export type UsageCounter = 'sent' | 'verified' | 'failed' | 'limited'

/** Per-application, per-UTC-day counters: PINs sent, verified, failed verifications and refusals by a limit. */
export class UsageCounters {
  private readonly bump: Record<UsageCounter, { run(applicationId: string, day: string): unknown }>

  constructor(private readonly db: Db) {
    const stmt = (column: UsageCounter) =>
      db.prepare(
        `INSERT INTO twofa_usage (application_id, day, ${column}) VALUES (?, ?, 1)
         ON CONFLICT (application_id, day) DO UPDATE SET ${column} = ${column} + 1`,
      )
    this.bump = {
      sent: stmt('sent'),
      verified: stmt('verified'),
      failed: stmt('failed'),
      limited: stmt('limited'),
    }
  }

  count(applicationId: string, counter: UsageCounter, now: number): void {
    this.bump[counter].run(applicationId, new Date(now).toISOString().slice(0, 10))
  }

  /** Totals and the last `days` days (newest first) of an application. */
  of(applicationId: string, days: number, now = Date.now()): UsageView {
    const since = new Date(now - (days - 1) * 86_400_000).toISOString().slice(0, 10)
    const rows = this.db
      .prepare(
        'SELECT day, sent, verified, failed, limited FROM twofa_usage WHERE application_id = ? AND day >= ? ORDER BY day DESC',
      )
      .all(applicationId, since) as UsageView['days']
    const totals = this.db
      .prepare(
        `SELECT coalesce(sum(sent), 0) AS sent, coalesce(sum(verified), 0) AS verified,
                coalesce(sum(failed), 0) AS failed, coalesce(sum(limited), 0) AS limited
         FROM twofa_usage WHERE application_id = ?`,
      )
      .get(applicationId) as UsageView['totals']
    return { applicationId, totals, days: rows }
  }
}
