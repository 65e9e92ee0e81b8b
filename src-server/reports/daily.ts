import { existsSync } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../log'
import { localDay, type ReportService } from './service'

/** Time and timers, injectable so tests can move through days without waiting. */
export interface Clock {
  now(): Date
  setTimer(callback: () => void, ms: number): unknown
  clearTimer(handle: unknown): void
}

export const systemClock: Clock = {
  now: () => new Date(),
  setTimer(callback, ms) {
    const timer = setTimeout(callback, ms)
    // A pending daily run must not keep a stopping process alive.
    timer.unref()
    return timer
  },
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

export interface DailyOptions {
  /** `<dataDir>/reports`: one sub-folder per day. */
  directory: string
  /** Local time of the daily run; default 00:05, after the day it reports on has ended. */
  hour?: number
  minute?: number
  clock?: Clock
}

/**
 * Writes yesterday's reports as CSV files to `<directory>/YYYY-MM-DD/<kind>.csv` every day at 00:05 local
 * time. A day whose folder is missing when the server starts after that time (it was off at 00:05) is
 * written at start-up. The files are written to `YYYY-MM-DD.partial/` and the folder renamed at the end, so
 * a crash never leaves a day's folder half-written (and the next start writes that day again).
 */
export class DailyReports {
  private readonly clock: Clock
  private readonly hour: number
  private readonly minute: number
  private timer: unknown
  private running: Promise<unknown> = Promise.resolve()
  private stopped = true

  constructor(
    private readonly reports: ReportService,
    private readonly log: Logger,
    private readonly options: DailyOptions,
  ) {
    this.clock = options.clock ?? systemClock
    this.hour = options.hour ?? 0
    this.minute = options.minute ?? 5
  }

  /** The day a run at `at` reports on: the previous local calendar day. */
  static reportedDay(at: Date): string {
    return localDay(new Date(at.getFullYear(), at.getMonth(), at.getDate() - 1))
  }

  folderOf(day: string): string {
    return join(this.options.directory, day)
  }

  start(): void {
    this.stopped = false
    const now = this.clock.now()
    const todaysRun = new Date(now.getFullYear(), now.getMonth(), now.getDate(), this.hour, this.minute)
    if (now >= todaysRun && !existsSync(this.folderOf(DailyReports.reportedDay(now)))) this.run()
    this.schedule()
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer !== undefined) this.clock.clearTimer(this.timer)
    this.timer = undefined
    await this.running
  }

  /** Resolves when the run in progress (if any) has finished. */
  idle(): Promise<unknown> {
    return this.running
  }

  private schedule(): void {
    if (this.stopped) return
    const now = this.clock.now()
    let next = new Date(now.getFullYear(), now.getMonth(), now.getDate(), this.hour, this.minute)
    if (next <= now)
      next = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, this.hour, this.minute)
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined
      this.run()
      this.schedule()
    }, next.getTime() - now.getTime())
  }

  private run(): void {
    const day = DailyReports.reportedDay(this.clock.now())
    // The read pool's workers do not keep the process alive; a run in flight must, until its files are
    // written (a stopping server waits for it in stop()).
    const keepAlive = setInterval(() => undefined, 60_000)
    this.running = this.running
      .then(() =>
        this.writeDay(day).then(
          (files) => this.log.info({ day, files: files.length }, 'daily reports written'),
          (err: unknown) => this.log.error({ day, err: (err as Error).message }, 'daily reports failed'),
        ),
      )
      .finally(() => clearInterval(keepAlive))
  }

  /** Writes every runnable report of one day; returns the files written. */
  async writeDay(day: string): Promise<string[]> {
    const folder = this.folderOf(day)
    const partial = `${folder}.partial`
    await rm(partial, { recursive: true, force: true })
    await mkdir(partial, { recursive: true, mode: 0o700 })
    const names: string[] = []
    for (const kind of this.reports.runnableKinds()) {
      const file = await this.reports.export(kind, { from: day, to: day, offset: 0, limit: 1 }, 'csv')
      await writeFile(join(partial, `${kind}.csv`), file.body, { mode: 0o600 })
      names.push(`${kind}.csv`)
    }
    await rm(folder, { recursive: true, force: true })
    await rename(partial, folder)
    return names.map((name) => join(folder, name))
  }
}
