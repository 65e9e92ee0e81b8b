import { describe, expect, it } from 'vitest'
import { REPORTS } from './definitions'

const statistics = REPORTS.find((r) => r.kind === 'authentication-statistics')!
const hour = 3_600_000
/** The period of `days` local days from 2030-06-10 at `offsetHours` from UTC, as localDayStart gives it. */
const period = (offsetHours: number, days = 1) => {
  const fromMs = Date.UTC(2030, 5, 10) - offsetHours * hour
  return { fromMs, toMs: fromMs + days * 24 * hour }
}
const utcDays = (offsetHours: number, days = 1) => {
  const { params } = statistics.sql(period(offsetHours, days), {} as never)
  return [params.from, params.to]
}

describe('Authentication Statistic days', () => {
  it('takes the UTC day of the same date for a local day east or west of UTC', () => {
    for (const offset of [0, 2, 5.5, -5, -8, 11])
      expect(utcDays(offset), `UTC${offset}`).toEqual(['2030-06-10', '2030-06-10'])
    expect(utcDays(2, 7)).toEqual(['2030-06-10', '2030-06-16'])
  })

  it('puts each UTC day in exactly one of the nightly files of consecutive local days', () => {
    for (const offset of [14, 12, 2, -5, -12]) {
      const days = [0, 1, 2].map((d) => {
        const { fromMs, toMs } = period(offset)
        const { params } = statistics.sql(
          { fromMs: fromMs + d * 24 * hour, toMs: toMs + d * 24 * hour },
          {} as never,
        )
        return [params.from, params.to]
      })
      // One UTC day per local day, consecutive: none skipped, none twice.
      for (const [from, to] of days) expect(from, `UTC${offset}`).toBe(to)
      const stamps = days.map(([from]) => Date.parse(String(from)))
      expect(stamps[1] - stamps[0]).toBe(24 * hour)
      expect(stamps[2] - stamps[1]).toBe(24 * hour)
    }
  })
})
