import type { Db } from './db'
import type { CheckpointResult } from './read-pool'

/**
 * Copies the WAL back into the database file off the event loop (on the read pool's first worker), so the
 * writer no longer does it inside whichever commit crossed SQLite's auto-checkpoint threshold (measured: a
 * third of the bytes a frictionless AReq wrote, and that commit's answer waited for two fsyncs).
 *
 * Those checkpoints are PASSIVE: they never wait for, nor block, the writer. What they cannot do under
 * sustained writes is finish the log (new frames keep arriving), and only a finished log lets the writer
 * start the WAL file over; so the writer keeps SQLite's auto-checkpoint at a higher threshold as the
 * backstop. By the time it fires the worker has already copied nearly every frame, and it finishes the rest.
 */

/** The writer's own auto-checkpoint, in pages: the backstop (16 MB of WAL at 4 kB pages). */
export const WRITER_AUTOCHECKPOINT_PAGES = 4096

export class Checkpointer {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<CheckpointResult> | undefined
  private lastError: string | undefined

  constructor(
    db: Db,
    /** Runs one passive checkpoint on another connection, off the event loop (`ReadPool.checkpoint`). */
    private readonly passive: () => Promise<CheckpointResult>,
    /** Told of a failing checkpoint once per distinct error (the writer's backstop meets the same fault). */
    private readonly onError: (err: Error) => void,
    private readonly everyMs = 200,
  ) {
    db.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`)
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

  /** One passive checkpoint (joins the one running, if any). */
  checkpoint(): Promise<CheckpointResult> {
    this.running ??= this.passive().finally(() => (this.running = undefined))
    return this.running
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.running?.catch(() => {})
  }
}
