import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../log'
import { DailyReports, type Clock } from './daily'
import type { ReportService } from './service'

/** A clock whose time the test sets, and whose one pending timer the test fires. */
class ManualClock implements Clock {
  pending: { callback: () => void; at: number } | undefined
  constructor(public current: Date) {}
  now = () => new Date(this.current)
  setTimer(callback: () => void, ms: number) {
    this.pending = { callback, at: this.current.getTime() + ms }
    return this.pending
  }
  clearTimer(handle: unknown) {
    if (this.pending === handle) this.pending = undefined
  }
  fire() {
    const due = this.pending!
    this.pending = undefined
    this.current = new Date(due.at)
    due.callback()
  }
}

/** Records the days asked for, and answers a one-line CSV per kind. */
function fakeReports(calls: string[]): ReportService {
  return {
    runnableKinds: () => ['registration-attempts', 'incoming-verification'],
    export: async (kind: string, query: { from: string }) => {
      calls.push(`${kind}@${query.from}`)
      return {
        fileName: `${kind}.csv`,
        contentType: 'text/csv',
        body: `kind,day\r\n${kind},${query.from}\r\n`,
        rows: 1,
      }
    },
  } as unknown as ReportService
}

const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })))

function setup(now: Date) {
  const directory = mkdtempSync(join(tmpdir(), 'ims-daily-'))
  dirs.push(directory)
  const calls: string[] = []
  const clock = new ManualClock(now)
  const daily = new DailyReports(fakeReports(calls), createLogger('silent'), { directory, clock })
  return { directory, calls, clock, daily }
}

describe('daily report files', () => {
  it('runs at 00:05 local time and writes the previous day, one CSV per report', async () => {
    const { directory, calls, clock, daily } = setup(new Date(2025, 2, 10, 14, 0))
    daily.start()
    // Started after 00:05 with no folder for yesterday: that day is written at once.
    await daily.idle()
    expect(calls).toEqual(['registration-attempts@2025-03-09', 'incoming-verification@2025-03-09'])
    expect(new Date(clock.pending!.at)).toEqual(new Date(2025, 2, 11, 0, 5))

    clock.fire()
    await daily.idle()
    expect(calls.slice(2)).toEqual(['registration-attempts@2025-03-10', 'incoming-verification@2025-03-10'])
    expect(readdirSync(directory).sort()).toEqual(['2025-03-09', '2025-03-10'])
    expect(readdirSync(join(directory, '2025-03-10')).sort()).toEqual([
      'incoming-verification.csv',
      'registration-attempts.csv',
    ])
    expect(readFileSync(join(directory, '2025-03-10', 'incoming-verification.csv'), 'utf8')).toBe(
      'kind,day\r\nincoming-verification,2025-03-10\r\n',
    )
    // And the next run is the following night.
    expect(new Date(clock.pending!.at)).toEqual(new Date(2025, 2, 12, 0, 5))
    await daily.stop()
    expect(clock.pending).toBeUndefined()
  })

  it('does not write again a day already written, and waits for 00:05 when started just after midnight', async () => {
    const first = setup(new Date(2025, 2, 10, 9, 0))
    first.daily.start()
    await first.daily.idle()
    await first.daily.stop()
    expect(first.calls).toHaveLength(2)

    const again = new DailyReports(fakeReports(first.calls), createLogger('silent'), {
      directory: first.directory,
      clock: first.clock,
    })
    again.start()
    await again.idle()
    expect(first.calls).toHaveLength(2)
    await again.stop()

    const early = setup(new Date(2025, 2, 10, 0, 2))
    early.daily.start()
    await early.daily.idle()
    expect(early.calls).toEqual([])
    expect(new Date(early.clock.pending!.at)).toEqual(new Date(2025, 2, 10, 0, 5))
    await early.daily.stop()
  })

  it('the reported day is the previous local calendar day, across month and year ends', () => {
    expect(DailyReports.reportedDay(new Date(2025, 0, 1, 0, 5))).toBe('2024-12-31')
    expect(DailyReports.reportedDay(new Date(2024, 2, 1, 0, 5))).toBe('2024-02-29')
  })
})
