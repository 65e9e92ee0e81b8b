import { closeSync, existsSync, fdatasync, fdatasyncSync, openSync } from 'node:fs'
import { changeCounter, type Db } from './db'

/**
 * Syncs this quick are done right on the event loop: handing one to the thread pool and back costs two thread
 * wake-ups, which on a busy machine took milliseconds (an AReq's p50 at half load: 5 ms, against 2 ms for an
 * endpoint syncing inline). When syncs typically take longer (a moving average, so that the odd slow one on a
 * healthy disk does not count: it sent a second of syncs to the thread pool and tripled the answers' waits),
 * the syncs of the next second go to the thread pool, where the event loop works on while the disk does.
 */
export const INLINE_SYNC_MS = 1
const OFF_LOOP_FOR_MS = 1000
/** Weight of the newest inline sync in the moving average of their durations. */
const SYNC_AVERAGE_WEIGHT = 0.2

/**
 * Makes committed writes durable without blocking the event loop for long.
 *
 * The database runs WAL with synchronous=NORMAL, so a commit only reaches the OS page cache: safe against a
 * process crash, not against a power cut. Before the server acknowledges anything it wrote (an HTTP answer, an
 * RReq, an SMS), it awaits `flush()`, which syncs the WAL file (fdatasync, as SQLite itself does for it): on
 * the event loop while syncs take under INLINE_SYNC_MS, on libuv's thread pool otherwise. That is exactly the
 * sync synchronous=FULL would do inside every commit — but never for long on the event loop, and every
 * commit made before it started rides on the same sync (group commit), so a burst of AReqs shares one.
 *
 * A sync applies to the file, not the descriptor, so our own descriptor of `<db>-wal` flushes the frames
 * SQLite wrote through its own. SQLite keeps that file (same inode) while any connection is open; the server
 * holds one for its whole life.
 */
export class Durability {
  private fd: number | undefined
  private inflight: Promise<void> | undefined
  private next: Promise<void> | undefined
  /** `changes()` when the running fsync began: every row changed by then is in the file it syncs. */
  private inflightCovers = -1
  /** `changes()` when the latest finished sync began. */
  private syncedThrough = -1
  /** Syncs stay off the event loop until then (after slow ones). */
  private offLoopUntil = 0
  /** Moving average of the inline syncs' durations (ms). */
  private typicalSyncMs = 0
  /** Rows changed on the writer connection since it opened; a request that moved it has written. */
  readonly changes: () => number

  constructor(
    private readonly db: Db,
    private readonly walPath: string,
    private readonly sync: (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => void = fdatasync,
    /** The same sync on the event loop; `null` keeps every sync on the thread pool. */
    private readonly syncNow: ((fd: number) => void) | null = fdatasyncSync,
  ) {
    this.changes = changeCounter(db)
  }

  /**
   * Resolves once everything committed before the call is on disk. A call finds the rows the connection has
   * changed so far (`changes()`): when a running fsync began after all of them, it shares that one (every
   * AReq of one group commit shares the fsync its first caller started); otherwise its commits may have come
   * after that fsync began, and it waits for the next one, which all such calls share.
   */
  flush(): Promise<void> {
    const written = this.changes()
    const settled = !this.db.inTransaction
    if (settled && written === this.syncedThrough) return Promise.resolve()
    if (!this.inflight && settled && this.syncNow && Date.now() >= this.offLoopUntil) {
      const fd = this.walFd()
      if (fd === undefined) return Promise.resolve()
      const started = performance.now()
      try {
        this.syncNow(fd)
      } catch (err) {
        return Promise.reject(err as Error)
      }
      const took = performance.now() - started
      this.typicalSyncMs += SYNC_AVERAGE_WEIGHT * (took - this.typicalSyncMs)
      if (this.typicalSyncMs > INLINE_SYNC_MS) {
        this.offLoopUntil = Date.now() + OFF_LOOP_FOR_MS
        // Coming back, the average starts just under the limit: one slow sync sends the syncs off again.
        this.typicalSyncMs = INLINE_SYNC_MS * (1 - SYNC_AVERAGE_WEIGHT)
      }
      this.syncedThrough = written
      return Promise.resolve()
    }
    if (!this.inflight) return this.start(written)
    if (written === this.inflightCovers) return this.inflight
    this.next ??= this.inflight.then(
      () => this.afterInflight(),
      () => this.afterInflight(),
    )
    return this.next
  }

  private afterInflight(): Promise<void> {
    this.next = undefined
    return this.start(this.changes())
  }

  private start(written: number): Promise<void> {
    const run = new Promise<void>((resolve, reject) => {
      const fd = this.walFd()
      if (fd === undefined) return resolve() // no WAL yet: nothing was ever written
      this.sync(fd, (err) => {
        if (err) return reject(err)
        if (this.inflight === run && this.inflightCovers > this.syncedThrough)
          this.syncedThrough = this.inflightCovers
        resolve()
      })
    }).finally(() => {
      if (this.inflight === run) this.inflight = undefined
    })
    this.inflight = run
    // Rows of a transaction still open are not in the file yet: such an fsync covers nothing for sure.
    this.inflightCovers = this.db.inTransaction ? -1 : written
    return run
  }

  private walFd(): number | undefined {
    if (this.fd === undefined && existsSync(this.walPath)) this.fd = openSync(this.walPath, 'r+') // Windows syncs only a handle open for writing
    return this.fd
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = undefined
  }
}
