import { isolate, optimistically, type Db } from './db'

interface Pending {
  work: () => void
  resolve(): void
  reject(err: unknown): void
}

/** A commit this soon after the previous one means writes are streaming in: it waits GATHER_MS for more. */
export const BUSY_WITHIN_MS = 2
export const GATHER_MS = 1
/**
 * The longest a hold keeps commits waiting. Holds only help the checkpointer finish the log (locks keep the
 * data right without them): past this, commits go on, and the log is finished in a later round.
 */
export const HOLD_MAX_MS = 20

/**
 * Group commit for the hot paths (AReqs, SMS send results): writes queued in the same event-loop turn are
 * committed in one transaction, each isolated (db.ts `isolate`) so one failure does not undo the others, and
 * every caller goes on only after the commit that holds its rows (an AReq's response then waits for the
 * durability barrier's fsync, store/durability.ts, which the whole batch shares). One commit writes each
 * touched page once, where a commit per writer rewrote the same outbox and index pages every time.
 *
 * An idle server commits at the end of the turn. One that committed less than BUSY_WITHIN_MS ago gathers the
 * writes of the next GATHER_MS into the commit (as PostgreSQL's commit_delay does): an AReq's commit writes
 * some twenty index and table pages, nearly the same ones for one AReq as for ten, and at 1,500 AReqs a second
 * arriving evenly, commits of one or two cost 15% more CPU per AReq than commits gathered over a millisecond
 * (measured), which queued the next requests behind them.
 */
export class GroupCommit {
  private pending: Pending[] = []
  private scheduled = false
  private lastFlushAt = -Infinity
  private held: Promise<void> | undefined

  constructor(private readonly db: Db) {}

  run(work: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ work, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        if (performance.now() - this.lastFlushAt < BUSY_WITHIN_MS) setTimeout(() => this.flush(), GATHER_MS)
        else setImmediate(() => this.flush())
      }
    })
  }

  /**
   * Commits wait until `until` settles, or HOLD_MAX_MS: the checkpointer's last pass reaches the end of the
   * log only while no frames arrive, after which the next commit starts the WAL over. Writes queue and
   * requests go on.
   */
  hold(until: Promise<unknown>): void {
    const released: Promise<void> = Promise.race([
      until.then(
        () => {},
        () => {},
      ),
      new Promise<void>((resolve) => setTimeout(resolve, HOLD_MAX_MS)),
    ]).then(() => {
      if (this.held === released) this.held = undefined
    })
    this.held = released
  }

  private flush(): void {
    // Still scheduled: later writes join this batch when the hold ends.
    if (this.held) return void this.held.then(() => this.flush())
    this.scheduled = false
    this.lastFlushAt = performance.now()
    const batch = this.pending
    this.pending = []
    const failures = new Map<Pending, unknown>()
    const commit = this.db.transaction(() => {
      for (const item of batch) isolate(this.db, item.work, (err) => failures.set(item, err))
    })
    try {
      // First without savepoints; after a failure, again with one per item (see `optimistically`).
      if (!optimistically(commit)) commit()
    } catch (err) {
      for (const item of batch) item.reject(err)
      return
    }
    for (const item of batch) {
      if (failures.has(item)) item.reject(failures.get(item))
      else item.resolve()
    }
  }
}
