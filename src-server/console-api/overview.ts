import { z } from 'zod'
import type { ReadPool } from '../store/read-pool'

const Counts = z.record(z.string(), z.number())

export const Overview = z.object({
  generatedAt: z.string(),
  cardholders: Counts,
  cards: Counts,
  /** Enrolment runs started in the last 7 days, by status. */
  enrolmentRuns: Counts,
  /** SMS of the last 24 hours: outgoing by status, incoming by outcome. */
  smsOut: Counts,
  smsIn: Counts,
  /** 3-D Secure authentications of the last 24 hours, by result (transStatus). */
  authentications: Counts,
  /** Per hour over the last 24 hours (oldest first): hour start (ISO), SMS sent and received, authentications. */
  hourly: z.array(
    z.object({ hour: z.string(), sent: z.number(), received: z.number(), authentications: z.number() }),
  ),
})
export type Overview = z.infer<typeof Overview>

const HOUR_MS = 3_600_000

function counts(rows: { key: string; n: number }[]): Record<string, number> {
  return Object.fromEntries(rows.map((r) => [r.key, r.n]))
}

/**
 * The dashboard's figures, all from the last 24 hours except the totals of cardholders and cards. Grouped counts over whole tables: run on the read pool so a million cardholders
 * never delay an AReq, and all at once since the pool has several workers.
 */
export async function overview(reads: ReadPool, now = Date.now()): Promise<Overview> {
  const dayAgo = now - 24 * HOUR_MS
  const firstHour = Math.floor(now / HOUR_MS) * HOUR_MS - 23 * HOUR_MS
  const weekAgo = new Date(now - 7 * 24 * HOUR_MS).toISOString()
  type Grouped = { key: string; n: number }
  const [cardholders, cards, runs, smsOut, smsIn, authentications, sentHours, receivedHours, authHours] =
    await Promise.all([
      reads.all<Grouped>('SELECT status AS key, count(*) AS n FROM cardholders GROUP BY status'),
      reads.all<Grouped>('SELECT status AS key, count(*) AS n FROM cards GROUP BY status'),
      reads.all<Grouped>(
        'SELECT status AS key, count(*) AS n FROM enrolment_jobs WHERE created_at >= ? GROUP BY status',
        [weekAgo],
      ),
      reads.all<Grouped>(
        'SELECT status AS key, count(*) AS n FROM sms_outbox WHERE created_at >= ? GROUP BY status',
        [dayAgo],
      ),
      reads.all<Grouped>(
        'SELECT outcome AS key, count(*) AS n FROM sms_inbox WHERE received_at >= ? GROUP BY outcome',
        [dayAgo],
      ),
      reads.all<Grouped>(
        `SELECT coalesce(final_status, ares_status) AS key, count(*) AS n FROM acs_transactions
       WHERE created_at >= ? GROUP BY key`,
        [dayAgo],
      ),
      // The hour length is written into the SQL: a bound JS number is a REAL, and REAL division has no buckets.
      reads.all<{ h: number; n: number }>(
        `SELECT created_at / ${HOUR_MS} AS h, count(*) AS n FROM sms_outbox WHERE created_at >= ? GROUP BY h`,
        [firstHour],
      ),
      reads.all<{ h: number; n: number }>(
        `SELECT received_at / ${HOUR_MS} AS h, count(*) AS n FROM sms_inbox WHERE received_at >= ? GROUP BY h`,
        [firstHour],
      ),
      reads.all<{ h: number; n: number }>(
        `SELECT created_at / ${HOUR_MS} AS h, count(*) AS n FROM acs_transactions WHERE created_at >= ? GROUP BY h`,
        [firstHour],
      ),
    ])
  const byHour = (rows: { h: number; n: number }[]) => new Map(rows.map((r) => [r.h, r.n]))
  const sent = byHour(sentHours)
  const received = byHour(receivedHours)
  const authenticated = byHour(authHours)
  const hourly = Array.from({ length: 24 }, (_, i) => {
    const start = firstHour + i * HOUR_MS
    const h = start / HOUR_MS
    return {
      hour: new Date(start).toISOString(),
      sent: sent.get(h) ?? 0,
      received: received.get(h) ?? 0,
      authentications: authenticated.get(h) ?? 0,
    }
  })
  return {
    generatedAt: new Date(now).toISOString(),
    cardholders: counts(cardholders),
    cards: counts(cards),
    enrolmentRuns: counts(runs),
    smsOut: counts(smsOut),
    smsIn: counts(smsIn),
    authentications: counts(authentications),
    hourly,
  }
}
