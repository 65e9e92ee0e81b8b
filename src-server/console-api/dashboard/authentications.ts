import { dayOf } from '../../acs/ledger/ledger'
import { statistics } from '../../acs/ledger/queries'
import type { ReadPool } from '../../store/read-pool'
import type { DashboardDay, MethodShare } from './schema'

const DAY_MS = 86_400_000
/** The chart's window and the longest period. */
export const WINDOW_DAYS = 30

/**
 * The statements this module runs, each a range of a daily table's primary key (day first): at most
 * 30 days × brands × issuers (× methods) rows, whatever the ledger's size. Exported for the query-plan test.
 */
export const AUTHENTICATION_SQL = {
  days: `SELECT day, sum(total) AS total, sum(successful) AS successful, sum(failed) AS failed,
      sum(unavailable) AS unavailable, sum(incomplete) AS incomplete, sum(attempts) AS attempts,
      sum(informational) AS informational, sum(in_progress) AS inProgress
    FROM acs_stats_daily WHERE day >= ? AND (? IS NULL OR issuer_id = ?) GROUP BY day`,
  methods: `SELECT day, method, sum(total) AS total
    FROM acs_method_daily WHERE day >= ? AND (? IS NULL OR issuer_id = ?) GROUP BY day, method`,
}

/** The first UTC day of each period ending today (today included). */
export function periodStarts(now: number) {
  return {
    today: dayOf(now),
    last7Days: dayOf(now - 6 * DAY_MS),
    last30Days: dayOf(now - (WINDOW_DAYS - 1) * DAY_MS),
  }
}

const NO_AUTHENTICATIONS: Omit<DashboardDay, 'day'> = {
  total: 0,
  successful: 0,
  failed: 0,
  unavailable: 0,
  incomplete: 0,
  attempts: 0,
  informational: 0,
  inProgress: 0,
}

function methodMix(rows: { day: string; method: string; total: number }[], from: string): MethodShare[] {
  const totals = new Map<string, number>()
  for (const r of rows) if (r.day >= from) totals.set(r.method, (totals.get(r.method) ?? 0) + r.total)
  return [...totals]
    .map(([method, total]) => ({ method, total }))
    .sort((a, b) => b.total - a.total || a.method.localeCompare(b.method))
}

/**
 * Authentications per brand for today, 7 and 30 days (the ledger's own statistics query), the 30-day series
 * for the chart and the method mix, all from the incrementally kept daily tables: never from the ledger.
 */
export async function authenticationFigures(reads: ReadPool, issuerId: number | undefined, now: number) {
  const starts = periodStarts(now)
  const params = [starts.last30Days, issuerId ?? null, issuerId ?? null]
  const [periods, dayRows, methodRows] = await Promise.all([
    statistics(reads, issuerId, now),
    reads.all<DashboardDay>(AUTHENTICATION_SQL.days, params),
    reads.all<{ day: string; method: string; total: number }>(AUTHENTICATION_SQL.methods, params),
  ])
  const byDay = new Map(dayRows.map((r) => [r.day, r]))
  const days: DashboardDay[] = Array.from({ length: WINDOW_DAYS }, (_, i) => {
    const day = dayOf(now - (WINDOW_DAYS - 1 - i) * DAY_MS)
    return byDay.get(day) ?? { day, ...NO_AUTHENTICATIONS }
  })
  return {
    today: starts.today,
    periods,
    days,
    methods: {
      today: methodMix(methodRows, starts.today),
      last7Days: methodMix(methodRows, starts.last7Days),
      last30Days: methodMix(methodRows, starts.last30Days),
    },
  }
}
