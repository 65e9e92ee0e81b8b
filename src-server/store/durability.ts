import { closeSync, existsSync, fsync, openSync } from 'node:fs'
import type { Db } from './db'

/**
 * Makes committed writes durable without blocking the event loop.
 *
 * The database runs WAL with synchronous=NORMAL, so a commit only reaches the OS page cache: safe against a
 * process crash, not against a power cut. Before the server acknowledges anything it wrote (an HTTP answer, an
 * RReq, an SMS), it awaits `flush()`, which fsyncs the WAL file on libuv's thread pool. That is exactly the
 * sync synchronous=FULL would do inside every commit — but here it happens off the event loop, and every
 * commit made before it started rides on the same fsync (group commit), so a burst of AReqs shares one.
 *
 * fsync applies to the file, not the descriptor, so our own descriptor of `<db>-wal` flushes the frames
 * SQLite wrote through its own. SQLite keeps that file (same inode) while any connection is open; the server
 * holds one for its whole life.
 */
export class Durability {
  private fd: number | undefined
  private inflight: Promise<void> | undefined
  private next: Promise<void> | undefined
  /** `changes()` when the running fsync began: every row changed by then is in the file it syncs. */
  private inflightCovers = -1
  private readonly totalChanges

  constructor(
    private readonly db: Db,
    private readonly walPath: string,
    private readonly sync: (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => void = fsync,
  ) {
    this.totalChanges = db.prepare('SELECT total_changes()').pluck()
  }

  /** Rows changed on the writer connection since it opened; a request that moved it has written. */
  changes(): number {
    return this.totalChanges.get() as number
  }

  /**
   * Resolves once everything committed before the call is on disk. A call finds the rows the connection has
   * changed so far (`changes()`): when a running fsync began after all of them, it shares that one (every
   * AReq of one group commit shares the fsync its first caller started); otherwise its commits may have come
   * after that fsync began, and it waits for the next one, which all such calls share.
   */
  flush(): Promise<void> {
    const written = this.changes()
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
      this.sync(fd, (err) => (err ? reject(err) : resolve()))
    }).finally(() => {
      if (this.inflight === run) this.inflight = undefined
    })
    this.inflight = run
    // Rows of a transaction still open are not in the file yet: such an fsync covers nothing for sure.
    this.inflightCovers = this.db.inTransaction ? -1 : written
    return run
  }

  private walFd(): number | undefined {
    if (this.fd === undefined && existsSync(this.walPath)) this.fd = openSync(this.walPath, 'r')
    return this.fd
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = undefined
  }
}
