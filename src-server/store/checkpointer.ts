import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type { Db } from './db'

/**
 * Copies the WAL back into the database file on a worker thread, so the event loop no longer does it inside
 * whichever commit crossed SQLite's auto-checkpoint threshold (measured: a third of the bytes a frictionless
 * AReq wrote, and that commit's answer waited for two fsyncs).
 *
 * The worker's checkpoints are PASSIVE: they never wait for, nor block, the writer. What they cannot do under
 * sustained writes is finish the log (new frames keep arriving), and only a finished log lets the writer
 * start the WAL file over; so the writer keeps SQLite's auto-checkpoint at a higher threshold as the
 * backstop. By the time it fires the worker has already copied nearly every frame, and it finishes the rest.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.file, { fileMustExist: true })
db.pragma('busy_timeout = 0')
db.pragma('synchronous = NORMAL')
db.pragma('wal_autocheckpoint = 0')
db.pragma('cache_size = -1024')
db.pragma('mmap_size = 0') // no memory-mapped I/O, as on the writer (store/db.ts)
parentPort.on('message', () => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)')
    parentPort.postMessage({ busy: r.busy, log: r.log, checkpointed: r.checkpointed })
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) })
  }
})
`

/** The writer's own auto-checkpoint, in pages: the backstop (16 MB of WAL at 4 kB pages). */
export const WRITER_AUTOCHECKPOINT_PAGES = 4096

export interface CheckpointResult {
  busy: number
  /** Frames in the WAL, and how many of them are now in the database file. */
  log: number
  checkpointed: number
}

export class Checkpointer {
  private readonly worker: Worker
  private timer: NodeJS.Timeout | undefined
  private running: Promise<CheckpointResult> | undefined
  private settle: ((r: CheckpointResult) => void) | undefined
  private fail: ((err: Error) => void) | undefined

  private lastError: string | undefined

  constructor(
    db: Db,
    file: string,
    /** Told of a failing checkpoint once per distinct error (the writer's backstop meets the same fault). */
    private readonly onError: (err: Error) => void,
    private readonly everyMs = 200,
  ) {
    db.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`)
    const driver = createRequire(import.meta.url).resolve('better-sqlite3')
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver } })
    this.worker.on('message', (msg: CheckpointResult & { error?: string }) => {
      const [settle, fail] = [this.settle, this.fail]
      this.running = this.settle = this.fail = undefined
      if (msg.error !== undefined) fail?.(new Error(msg.error))
      else settle?.(msg)
    })
    this.worker.on('error', (err) => this.fail?.(err))
    this.worker.unref()
  }

  start(): void {
    this.timer = setInterval(
      () =>
        void this.checkpoint().then(
          () => (this.lastError = undefined),
          (err: Error) => {
            if (err.message !== this.lastError) this.onError(err)
            this.lastError = err.message
          },
        ),
      this.everyMs,
    )
    this.timer.unref()
  }

  /** One passive checkpoint on the worker (joins the one running, if any). */
  checkpoint(): Promise<CheckpointResult> {
    this.running ??= new Promise<CheckpointResult>((resolve, reject) => {
      this.settle = resolve
      this.fail = reject
      this.worker.postMessage('checkpoint')
    })
    return this.running
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    await this.running?.catch(() => {})
    await this.worker.terminate()
  }
}
