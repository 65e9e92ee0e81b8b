/**
 * Where the modem pool takes its work from. The server plugs its persistent SQLite outbox in behind
 * `JobSource`; `InMemoryJobQueue` serves tests, benches and the simulator-backed lab.
 */
import type { OutgoingSms } from './pdu'

/** Lower numbers go first: one-time codes must not wait behind a burst of notifications. */
export const Priority = { code: 0, notification: 10 } as const

export interface SmsJob {
  /** Stable id (the outbox row / idempotency key); the pool never invents or changes it. */
  id: string
  priority: number
  sms: OutgoingSms
}

export interface JobSource {
  /** The most urgent job not yet handed out, or undefined when there is none right now. */
  next(): Promise<SmsJob | undefined>
  /** The network accepted every part; `messageReferences` (TP-MR per part) match later status reports. */
  onSent(job: SmsJob, modemId: string, messageReferences: number[]): Promise<void> | void
  /**
   * The pool gives up on this job. `retryable` says whether trying later may succeed (every modem was
   * down, network congestion) or not (invalid number, PDU rejected).
   */
  onFailed(job: SmsJob, error: Error, retryable: boolean): Promise<void> | void
  /** Optional wake-up when jobs are added, so the pool does not have to poll `next()`. */
  subscribe?(listener: () => void): () => void
}

export interface JobOutcome {
  job: SmsJob
  modemId?: string
  messageReferences?: number[]
  error?: Error
  retryable?: boolean
}

export class InMemoryJobQueue implements JobSource {
  readonly sent: JobOutcome[] = []
  readonly failed: JobOutcome[] = []
  private readonly jobs: SmsJob[] = []
  private readonly listeners = new Set<() => void>()
  private readonly settledListeners = new Set<() => void>()

  enqueue(job: SmsJob): void {
    // Stable insertion by priority keeps FIFO order within one priority.
    let i = this.jobs.length
    while (i > 0 && this.jobs[i - 1].priority > job.priority) i--
    this.jobs.splice(i, 0, job)
    for (const l of this.listeners) l()
  }

  get pending(): number {
    return this.jobs.length
  }

  async next(): Promise<SmsJob | undefined> {
    return this.jobs.shift()
  }

  onSent(job: SmsJob, modemId: string, messageReferences: number[]): void {
    this.sent.push({ job, modemId, messageReferences })
    for (const l of this.settledListeners) l()
  }

  onFailed(job: SmsJob, error: Error, retryable: boolean): void {
    this.failed.push({ job, error, retryable })
    for (const l of this.settledListeners) l()
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Resolves once `count` jobs have been sent or failed in total. */
  settled(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.sent.length + this.failed.length < count) return
        this.settledListeners.delete(check)
        resolve()
      }
      this.settledListeners.add(check)
      check()
    })
  }
}
