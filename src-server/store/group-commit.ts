import { isolate, optimistically, type Db } from './db'

interface Pending {
  work: () => void
  resolve(): void
  reject(err: unknown): void
}

/**
 * Group commit for the hot paths (AReqs, SMS send results): writes queued in the same event-loop turn are
 * committed in one transaction, each isolated (db.ts `isolate`) so one failure does not undo the others, and every
 * caller goes on only after the commit that holds its rows (an AReq's response then waits for the
 * durability barrier's fsync, store/durability.ts, which the whole batch shares). One commit writes each
 * touched page once, where a commit per writer rewrote the same outbox and index pages every time.
 */
export class GroupCommit {
  private pending: Pending[] = []
  private scheduled = false

  constructor(private readonly db: Db) {}

  run(work: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ work, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  private flush(): void {
    this.scheduled = false
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
