import { changeCounter, type Db } from './db'
import type { CheckpointMode, CheckpointResult } from './read-pool'

/**
 * Copies the WAL back into the database file off the event loop (on the read pool's first worker), so the
 * writer no longer does it inside whichever commit crossed SQLite's auto-checkpoint threshold (measured: a
 * third of the bytes a frictionless AReq wrote, and that commit's answer waited for two fsyncs).
 *
 * Those checkpoints are PASSIVE: they never wait for, nor block, the writer. What they cannot do under
 * sustained writes is finish the log (new frames keep arriving), and only a finished log lets the writer
 * start the WAL file over. So once the log passes RESTART_PAGES, the worker runs one more passive checkpoint
 * while the group commit holds its commits (`holdCommits`): with no frames arriving it copies the few the last
 * one left, SQLite syncs, and the next commit starts the file over. The hot path's commits wait those
 * milliseconds; the event loop does not. Being passive it takes no lock, so writes outside the group commit
 * (a challenge step, the audit log) never wait for it; one landing meanwhile leaves the log unfinished, and
 * the next round tries again. Before, the writer's own auto-checkpoint did this inside a
 * commit, on the event loop, four times a second at 1,700 AReqs a second: an 8-20 ms stall each time, which
 * alone put 3% of the answers over 10 ms.
 *
 * The writer keeps SQLite's auto-checkpoint at a higher threshold as the backstop, for when a long read
 * keeps the worker from finishing the log.
 */

/**
 * A passive checkpoint every PASSIVE_EVERY_MS while the server writes. Each one syncs the database file after
 * copying (see ReadPool.checkpoint), and that sync's random page writes queue on the disk ahead of the WAL
 * syncs every answer waits for: at 2,300 AReqs a second, checkpoints every 200 ms synced ~1,500 pages at a
 * time, and the AReq's server time had a p99 of 9.6-11 ms; every 50 ms 6.3-7.8, every 20 ms 3.6-5.3 ms
 * (every 10 or 5 ms no better, and 5 ms cost throughput). Measured in `npm run bench` (acs http), three
 * interleaved runs each; a standalone reproduction (a WAL-like writer syncing 130 kB every 2 ms beside a
 * checkpoint-like writer) showed the same: p99 3.6 ms at 200 ms, 1.9 ms at 20 ms, for the same pages a second.
 */
export const PASSIVE_EVERY_MS = 20
/**
 * With nothing written on the server's connection, a checkpoint only this often: an idle server does not
 * wake its worker fifty times a second, and the commits of another process (a CLI command) are still copied.
 */
export const IDLE_EVERY_MS = 200
/** The log's length, in pages, from which the worker restarts it (16 MB at 4 kB pages). */
export const RESTART_PAGES = 4096
/** The writer's own auto-checkpoint, in pages: the backstop. */
export const WRITER_AUTOCHECKPOINT_PAGES = 4 * RESTART_PAGES
/** After a finish that readers kept from the log's end, the next try waits this long (each holds commits). */
const RESTART_RETRY_MS = 1000

export interface CheckpointerOptions {
  /** Runs checkpoints on another connection, off the event loop (`ReadPool`). */
  worker: {
    checkpoint(mode: CheckpointMode, databaseFd?: number): Promise<CheckpointResult>
    /** False while the worker has other work queued: a restart would hold commits for all of it. */
    checkpointerIdle(): boolean
  }
  /** A descriptor of the database file, for the worker to sync what it copied (see ReadPool.checkpoint). */
  databaseFd?: number
  /**
   * Makes the writer's batched commits wait until the promise settles (`GroupCommit.hold`). Without it the
   * log is never restarted from here: a CLI command beside a server holds none of the server's commits.
   */
  holdCommits?: (until: Promise<unknown>) => void
  /**
   * Told of a failing checkpoint, or sync of the database file after one, once per distinct error until a
   * checkpoint works again (the writer's backstop meets the same fault).
   */
  onError: (err: Error) => void
}

export class Checkpointer {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<CheckpointResult> | undefined
  private lastError: string | undefined
  private restartAfter = 0
  /** The log's length at the last restart: the same length since means nothing was written to restart. */
  private restartedLog = -1
  /** Rows the writer connection had changed, and the time, when the latest timed checkpoint started. */
  private lastChanges = -1
  private lastStartedAt = 0
  private readonly changes: () => number

  constructor(
    db: Db,
    private readonly options: CheckpointerOptions,
  ) {
    db.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`)
    this.changes = changeCounter(db)
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), PASSIVE_EVERY_MS)
    this.timer.unref()
  }

  /** A timed checkpoint, unless one is running or nothing was written since the last (IDLE_EVERY_MS). */
  private tick(): void {
    if (this.running) return
    const changes = this.changes()
    const now = Date.now()
    if (changes === this.lastChanges && now - this.lastStartedAt < IDLE_EVERY_MS) return
    this.lastChanges = changes
    this.lastStartedAt = now
    this.checkpoint().catch((err: Error) => this.report(err))
  }

  /** One passive checkpoint, then the finish if the log has grown long (joins the one running, if any). */
  checkpoint(): Promise<CheckpointResult> {
    this.running ??= this.passiveThenRestart().finally(() => (this.running = undefined))
    return this.running
  }

  private async passiveThenRestart(): Promise<CheckpointResult> {
    const { worker, databaseFd, holdCommits } = this.options
    const passive = await worker.checkpoint('PASSIVE', databaseFd)
    // The pages are copied; only their sync failed (a failing disk): reported, and the finish still runs,
    // where SQLite's own sync meets the same fault.
    if (passive.syncError) this.report(new Error(`syncing the database file failed: ${passive.syncError}`))
    else this.lastError = undefined
    if (
      !holdCommits ||
      passive.log < RESTART_PAGES ||
      passive.log === this.restartedLog ||
      Date.now() < this.restartAfter ||
      !worker.checkpointerIdle()
    )
      return passive
    const finish = worker.checkpoint('FINISH', databaseFd)
    holdCommits(finish)
    const r = await finish
    if (r.checkpointed < r.log) this.restartAfter = Date.now() + RESTART_RETRY_MS
    else this.restartedLog = r.log
    return r
  }

  private report(err: Error): void {
    if (err.message !== this.lastError) this.options.onError(err)
    this.lastError = err.message
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.running?.catch(() => {})
  }
}
