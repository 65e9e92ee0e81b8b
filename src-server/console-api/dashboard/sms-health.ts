import type { ModemService } from '../../modems/service'
import type { ReadPool } from '../../store/read-pool'
import type { SmsHealth } from './schema'

const WINDOW_MS = 24 * 3_600_000
/** Latency percentiles come from this many of the latest delivered messages: bounded work at any volume. */
export const LATENCY_SAMPLE = 1000

/**
 * Index ranges only (sms_outbox_created from migration 0800, sms_inbox_received): the work grows with the
 * last 24 hours' traffic, never with the outbox's history. The outbox index is named: left to itself the
 * planner prefers the queue index (status first), which avoids a sort but reads every message ever sent.
 * Exported for the query-plan test.
 */
export const SMS_SQL = {
  outboxByStatus: `SELECT status, count(*) AS n FROM sms_outbox INDEXED BY sms_outbox_created
    WHERE created_at >= ? GROUP BY status`,
  received: 'SELECT count(*) AS n FROM sms_inbox WHERE received_at >= ?',
  latencies: `SELECT delivered_at - created_at AS ms FROM sms_outbox INDEXED BY sms_outbox_created
    WHERE created_at >= ? AND status = 'delivered' ORDER BY created_at DESC LIMIT ${LATENCY_SAMPLE}`,
}

/** The value below which `share` of the sorted values fall (nearest rank). */
function percentile(sorted: number[], share: number): number {
  return sorted[Math.max(0, Math.ceil(share * sorted.length) - 1)]
}

/** SMS of the last 24 hours by outcome, delivery latency, and the modems as the pool sees them now. */
export async function smsHealth(reads: ReadPool, modems: ModemService, now: number): Promise<SmsHealth> {
  const since = now - WINDOW_MS
  const [byStatus, received, latencies] = await Promise.all([
    reads.all<{ status: string; n: number }>(SMS_SQL.outboxByStatus, [since]),
    reads.all<{ n: number }>(SMS_SQL.received, [since]),
    reads.all<{ ms: number }>(SMS_SQL.latencies, [since]),
  ])
  const count = (...statuses: string[]) =>
    byStatus.filter((r) => statuses.includes(r.status)).reduce((sum, r) => sum + r.n, 0)
  const sorted = latencies.map((r) => r.ms).sort((a, b) => a - b)
  return {
    since: new Date(since).toISOString(),
    pending: count('queued', 'sending'),
    sent: count('sent'),
    delivered: count('delivered'),
    failed: count('failed'),
    received: received[0]?.n ?? 0,
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
