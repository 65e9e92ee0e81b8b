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
   * Resolves once everything committed before the call is on disk. Calls made while an fsync runs wait for
   * the next one (their commits may have come after it started); all of them share that next fsync.
   */
  flush(): Promise<void> {
    if (!this.inflight) return this.start()
    this.next ??= this.inflight.then(
      () => this.afterInflight(),
      () => this.afterInflight(),
    )
    return this.next
  }

  private afterInflight(): Promise<void> {
    this.next = undefined
    return this.start()
  }

  private start(): Promise<void> {
    const run = new Promise<void>((resolve, reject) => {
      const fd = this.walFd()
      if (fd === undefined) return resolve() // no WAL yet: nothing was ever written
      this.sync(fd, (err) => (err ? reject(err) : resolve()))
    }).finally(() => {
      if (this.inflight === run) this.inflight = undefined
    })
    this.inflight = run
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
