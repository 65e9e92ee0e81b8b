import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

export type CheckpointMode = 'PASSIVE' | 'FINISH'

/** What SQLite's `wal_checkpoint` answers. */
export interface CheckpointResult {
  busy: number
  /** Frames in the WAL, and how many of them are now in the database file. */
  log: number
  checkpointed: number
  /** Set when the checkpoint worked but syncing the database file after it failed. */
  syncError?: string
}

/**
 * Long read queries (reports, statistics, exports) run on read-only connections in worker threads so the
 * event loop keeps answering AReqs. The first worker also runs the WAL checkpoints (store/checkpointer.ts)
 * on a writable connection of its own, opened on first use: a thread just for them cost 10 MB of RSS. The
 * worker source is inline so it works the same from the TypeScript sources and from the bundled server.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const { fdatasyncSync } = require('node:fs')
const db = new Database(workerData.file, { readonly: true, fileMustExist: true })
db.pragma('busy_timeout = 5000')
db.pragma('cache_size = -8192')
db.pragma('mmap_size = 0') // no memory-mapped I/O, as on the writer (store/db.ts)
const cache = new Map()
let maintenance
let lastBackfill = 0
function checkpoint(mode, databaseFd) {
  if (!maintenance) {
    maintenance = new Database(workerData.file, { fileMustExist: true })
    maintenance.pragma('busy_timeout = 0') // never wait for the writer: a busy checkpoint just comes again
    maintenance.pragma('synchronous = NORMAL')
    maintenance.pragma('wal_autocheckpoint = 0')
    maintenance.pragma('cache_size = -1024')
    maintenance.pragma('mmap_size = 0')
  }
  // Both are PASSIVE (no lock taken, no writer waits); FINISH is the one run while the writer's commits are
  // held, so it reaches the log's end.
  const [result] = maintenance.pragma('wal_checkpoint(PASSIVE)')
  // SQLite syncs the database file only when a checkpoint reaches the end of the log, which under steady
  // writes only FINISH does: it then had to write back every page the others copied (3-11 ms measured, with
  // commits held). Syncing what each one copied does that work here, beside the writer. It only spreads the
  // work: the log still starts over only after SQLite's own sync. FINISH skips it: SQLite just synced.
  const copied = mode === 'PASSIVE' && result.checkpointed > 0 && result.checkpointed !== lastBackfill
  lastBackfill = result.checkpointed
  if (databaseFd !== undefined && copied) {
    try {
      fdatasyncSync(databaseFd)
    } catch (err) {
      result.syncError = String((err && err.message) || err)
    }
  }
  return [result]
}
parentPort.on('message', ({ id, sql, params }) => {
  try {
    if (sql === null) return parentPort.postMessage({ id, rows: checkpoint(...params) })
    let stmt = cache.get(sql)
    if (!stmt) { stmt = db.prepare(sql); cache.set(sql, stmt) }
    parentPort.postMessage({ id, rows: stmt.all(...params) })
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err) })
  }
})
`

interface Pending {
  resolve(rows: unknown[]): void
  reject(err: Error): void
}

export class ReadPool {
  private workers: { worker: Worker; busy: number }[] = []
  private pending = new Map<number, Pending>()
  private seq = 0

  constructor(file: string, size = 2) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3')
    for (let i = 0; i < size; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver } })
      const slot = { worker, busy: 0 }
      worker.on('message', (msg: { id: number; rows?: unknown[]; error?: string }) => {
        if (--slot.busy === 0) worker.unref()
        const p = this.pending.get(msg.id)
        if (!p) return
        this.pending.delete(msg.id)
        if (msg.error !== undefined) p.reject(new Error(msg.error))
        else p.resolve(msg.rows ?? [])
      })
      // An idle pool must not hold a process open; a pending request must (see post).
      worker.unref()
      this.workers.push(slot)
    }
  }

  /** Runs a read-only statement on the least busy worker. */
  all<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.post(
      // On a tie the last worker: the first one runs the checkpoints, which must not queue behind a report.
      this.workers.reduce((a, b) => (b.busy <= a.busy ? b : a)),
      sql,
      params,
    )
  }

  /**
   * One checkpoint of the WAL, on the first worker's writable connection, which never waits for a lock.
   * Never takes a lock: PASSIVE copies what it can beside the writer; FINISH is the same checkpoint, for a
   * caller that holds the writer's commits so that it reaches the log's end, after which the next write
   * starts the file over (SQLite syncs the database file first). With
   * `databaseFd` (a descriptor of the database file, which must stay open while any connection is: closing
   * one drops the process's locks on the file), the worker syncs the pages a checkpoint copied.
   */
  async checkpoint(mode: CheckpointMode = 'PASSIVE', databaseFd?: number): Promise<CheckpointResult> {
    const [r] = await this.post<CheckpointResult>(this.workers[0], null, [mode, databaseFd])
    return r
  }

  /** Whether the worker that checkpoints has nothing queued (a report there would delay a checkpoint). */
  checkpointerIdle(): boolean {
    return this.workers[0].busy === 0
  }

  private post<T>(
    slot: { worker: Worker; busy: number },
    sql: string | null,
    params: unknown[],
  ): Promise<T[]> {
    const id = ++this.seq
    // Awaiting an unref'd worker's answer with nothing else alive would end the process mid-request
    // (a CLI's close awaiting the last checkpoint exited 13, "unsettled top-level await").
    if (slot.busy++ === 0) slot.worker.ref()
    return new Promise<T[]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (rows: unknown[]) => void, reject })
      slot.worker.postMessage({ id, sql, params })
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()))
    for (const p of this.pending.values()) p.reject(new Error('read pool closed'))
    this.pending.clear()
  }
}
