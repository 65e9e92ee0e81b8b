import type { ModemService } from '../../modems/service'
import type { ReadPool } from '../../store/read-pool'
import type { SmsHealth } from './schema'

const WINDOW_MS = 24 * 3_600_000
/** Latency percentiles come from this many of the latest delivered messages: bounded work at any volume. */
export const LATENCY_SAMPLE = 1000

/**
 * Index ranges only (sms_outbox_status_created from migration 0800, sms_inbox_received): the work grows with the
 * last 24 hours' traffic, never with the outbox's history, and the counts read no row. The outbox index is
 * named: left to itself the planner may take the queue index (status first too), which has no time in it.
 * Exported for the query-plan test.
 */
export const SMS_SQL = {
  outbox: `SELECT
    (SELECT count(*) FROM sms_outbox INDEXED BY sms_outbox_status_created
     WHERE status IN ('queued', 'sending') AND created_at >= ?) AS pending,
    (SELECT count(*) FROM sms_outbox INDEXED BY sms_outbox_status_created WHERE status = 'sent' AND created_at >= ?) AS sent,
    (SELECT count(*) FROM sms_outbox INDEXED BY sms_outbox_status_created
     WHERE status = 'delivered' AND created_at >= ?) AS delivered,
    (SELECT count(*) FROM sms_outbox INDEXED BY sms_outbox_status_created WHERE status = 'failed' AND created_at >= ?) AS failed,
    (SELECT count(*) FROM sms_inbox WHERE received_at >= ?) AS received`,
  latencies: `SELECT delivered_at - created_at AS ms FROM sms_outbox INDEXED BY sms_outbox_status_created
    WHERE status = 'delivered' AND created_at >= ? ORDER BY created_at DESC LIMIT ${LATENCY_SAMPLE}`,
}

/** The value below which `share` of the sorted values fall (nearest rank). */
function percentile(sorted: number[], share: number): number {
  return sorted[Math.max(0, Math.ceil(share * sorted.length) - 1)]
}

/** SMS of the last 24 hours by outcome, delivery latency, and the modems as the pool sees them now. */
export async function smsHealth(reads: ReadPool, modems: ModemService, now: number): Promise<SmsHealth> {
  const since = now - WINDOW_MS
  type Counts = { pending: number; sent: number; delivered: number; failed: number; received: number }
  const [[counts], latencies] = await Promise.all([
    // The window's start, once per count.
    reads.all<Counts>(SMS_SQL.outbox, Array(5).fill(since)),
    reads.all<{ ms: number }>(SMS_SQL.latencies, [since]),
  ])
  const sorted = latencies.map((r) => r.ms).sort((a, b) => a - b)
  return {
    since: new Date(since).toISOString(),
    ...counts,
    ...(sorted.length
      ? {
          latency: {
            sample: sorted.length,
            medianMs: percentile(sorted, 0.5),
            p95Ms: percentile(sorted, 0.95),
          },
        }
      : {}),
    gateway: modems.gatewayChoice,
    modems: modems.views().map((m) => ({ name: m.name, state: m.state })),
  }
}
