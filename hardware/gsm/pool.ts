/**
 * N modems serving one queue. The pool picks the healthiest free modem for each job, respects a
 * per-modem rate limit, moves a job to another modem when one fails, and recovers failing modems by
 * escalation: soft reset (`AT+CFUN=1,1`) → reopen the device → mark dead and retry later.
 */
import { EventEmitter } from 'node:events'
import { AtTimeoutError, ChannelClosedError } from './at/errors'
import type { GsmModem, IncomingMessage, IncomingReport } from './modem'
import type { JobSource, SmsJob } from './queue'

export type SlotState = 'starting' | 'ready' | 'recovering' | 'dead' | 'stopped'

export interface ModemHealth {
  id: string
  state: SlotState
  busy: boolean
  /** 0–100: 0 when unregistered or not ready, else signal weighted and divided by the error streak. */
  score: number
  signal?: number
  registration?: string
  errorStreak: number
  sent: number
  failed: number
}

export interface PoolOptions {
  source: JobSource
  modems: GsmModem[]
  /** Per-modem sending rate; SIM contracts and operators throttle bulk senders. Default unlimited. */
  ratePerMinute?: number
  /** Per-modem overrides of `ratePerMinute`, by modem id (each SIM has its own contract). */
  ratePerMinuteOf?: Record<string, number | undefined>
  /** How many modems one job may try before it is handed back as failed. Default min(3, modems). */
  maxAttemptsPerJob?: number
  /** Consecutive errors that trigger recovery. Default 3. */
  resetAfterErrors?: number
  /** How long a dead modem rests before the pool tries to open it again. Default 5 minutes. */
  deadRetryMs?: number
  /** `next()` polling interval for sources without `subscribe`. Default 1 s. */
  idlePollMs?: number
}

export interface PoolEvents {
  sms: [IncomingMessage]
  'status-report': [IncomingReport]
  'modem-state': [ModemHealth]
  sent: [job: SmsJob, modemId: string, messageReferences: number[]]
  failed: [job: SmsJob, error: Error, retryable: boolean]
  /** A job moved off a failing modem onto the retry list. */
  failover: [job: SmsJob, fromModemId: string, error: Error]
  /** One modem failed to open, to recover, or to send one message (whatever happens to the job next). */
  'modem-error': [modemId: string, error: Error]
}

interface Slot {
  modem: GsmModem
  minIntervalMs: number
  state: SlotState
  busy: boolean
  nextSendAt: number
  lastUsed: number
  sent: number
  failed: number
  deadTimer?: NodeJS.Timeout
}

interface RetryEntry {
  job: SmsJob
  tried: Set<string>
  lastError: Error
}

const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)))

const intervalOf = (ratePerMinute: number | undefined) => (ratePerMinute ? 60_000 / ratePerMinute : 0)

export class ModemPool extends EventEmitter<PoolEvents> {
  private readonly slots: Slot[]
  private readonly retries: RetryEntry[] = []
  private running = false
  private wakeUp: (() => void) | undefined
  private wakePending = false
  private loop: Promise<void> | undefined
  private unsubscribe: (() => void) | undefined
  private readonly inFlight = new Set<Promise<void>>()
  private readonly maxAttempts: number
  private readonly resetAfterErrors: number
  private readonly deadRetryMs: number
  private readonly idlePollMs: number

  constructor(private readonly options: PoolOptions) {
    super()
    if (options.modems.length === 0) throw new Error('a modem pool needs at least one modem')
    this.slots = options.modems.map((modem) => ({
      modem,
      minIntervalMs: intervalOf(options.ratePerMinuteOf?.[modem.id] ?? options.ratePerMinute),
      state: 'starting',
      busy: false,
      nextSendAt: 0,
      lastUsed: 0,
      sent: 0,
      failed: 0,
    }))
    this.maxAttempts = options.maxAttemptsPerJob ?? Math.min(3, options.modems.length)
    this.resetAfterErrors = options.resetAfterErrors ?? 3
    this.deadRetryMs = options.deadRetryMs ?? 5 * 60_000
    this.idlePollMs = options.idlePollMs ?? 1000
    for (const slot of this.slots) {
      slot.modem.on('sms', (m) => this.emit('sms', m))
      slot.modem.on('status-report', (r) => this.emit('status-report', r))
      slot.modem.on('status', () => this.wake())
      slot.modem.on('disconnected', () => {
        if (this.running && slot.state === 'ready') void this.recover(slot, 'reopen')
      })
      // A modem that stops answering while idle (its polls fail) is recovered as one failing its sends is,
      // rather than waiting for the next message to time out on it.
      slot.modem.on('warning', () => {
        const failing = slot.modem.status().errorStreak >= this.resetAfterErrors
        if (this.running && slot.state === 'ready' && !slot.busy && failing)
          void this.recover(slot, 'soft-reset')
      })
    }
  }

  /** Opens every modem (a modem that fails to open goes to recovery, not fatal) and starts dispatching. */
  async start(): Promise<void> {
    this.running = true
    this.unsubscribe = this.options.source.subscribe?.(() => this.wake())
    await Promise.all(
      this.slots.map(async (slot) => {
        try {
          await slot.modem.open()
          this.setState(slot, 'ready')
        } catch (err) {
          this.emit('modem-error', slot.modem.id, asError(err))
          this.markDead(slot)
        }
      }),
    )
    this.loop = this.dispatchLoop()
  }

  /** Stops taking jobs, waits for sends in flight, closes the modems. */
  async stop(): Promise<void> {
    this.running = false
    this.unsubscribe?.()
    this.wake()
    await this.loop
    await Promise.all([...this.inFlight])
    for (const slot of this.slots) {
      clearTimeout(slot.deadTimer)
      await slot.modem.close()
      this.setState(slot, 'stopped')
    }
    // Jobs taken from the source but not sent go back to it as retryable failures, never lost.
    for (const entry of this.retries.splice(0)) {
      await this.options.source.onFailed(entry.job, entry.lastError, true)
    }
  }

  health(): ModemHealth[] {
    return this.slots.map((s) => this.healthOf(s))
  }

  private healthOf(slot: Slot): ModemHealth {
    const status = slot.modem.status()
    let score = 0
    if (slot.state === 'ready' && slot.modem.registered) {
      const rssi = status.signal
      const signal = rssi === undefined || rssi === 99 ? 0.5 : Math.min(rssi, 31) / 31
      score = Math.round((100 * (0.3 + 0.7 * signal)) / (1 + status.errorStreak))
    }
    return {
      id: slot.modem.id,
      state: slot.state,
      busy: slot.busy,
      score,
      signal: status.signal,
      registration: status.registration,
      errorStreak: status.errorStreak,
      sent: slot.sent,
      failed: slot.failed,
    }
  }

  private wake(): void {
    const w = this.wakeUp
    this.wakeUp = undefined
    // A wake-up between `source.next()` answering "nothing" and the loop going to sleep must not be lost:
    // it would cost a whole idle poll (measured: every burst started 50 ms late with idlePollMs = 50).
    if (w) w()
    else this.wakePending = true
  }

  private sleep(ms: number): Promise<void> {
    if (this.wakePending) {
      this.wakePending = false
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined
        resolve()
      }, ms)
      this.wakeUp = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  private eligible(now: number): Slot[] {
    return this.slots.filter(
      (s) => s.state === 'ready' && !s.busy && s.modem.registered && s.nextSendAt <= now,
    )
  }

  private best(candidates: Slot[]): Slot | undefined {
    let best: Slot | undefined
    let bestScore = -1
    for (const s of candidates) {
      const score = this.healthOf(s).score
      if (score > bestScore || (score === bestScore && best && s.lastUsed < best.lastUsed)) {
        best = s
        bestScore = score
      }
    }
    return best
  }

  private async dispatchLoop(): Promise<void> {
    while (this.running) {
      await this.failHopelessRetries()
      const now = Date.now()
      const free = this.eligible(now)
      if (free.length === 0) {
        const waits = this.slots.filter((s) => s.state === 'ready' && !s.busy).map((s) => s.nextSendAt - now)
        await this.sleep(Math.max(1, Math.min(this.idlePollMs, ...waits.filter((w) => w > 0))))
        continue
      }
      const retryIndex = this.retries.findIndex((r) => free.some((s) => !r.tried.has(s.modem.id)))
      let job: SmsJob | undefined
      let tried = new Set<string>()
      if (retryIndex >= 0) {
        const entry = this.retries.splice(retryIndex, 1)[0]
        job = entry.job
        tried = entry.tried
      } else {
        job = await this.options.source.next().catch(() => undefined)
        if (!job) {
          await this.sleep(this.idlePollMs)
          continue
        }
      }
      const slot = this.best(free.filter((s) => !tried.has(s.modem.id)))!
      this.dispatch(slot, job, tried)
    }
  }

  /**
   * Whether an untried modem can take a job that failed elsewhere: one that dispatch uses (ready and
   * registered), busy or rate-limited for the moment. A modem without network (searching, registration
   * denied), recovering or dead may not become usable soon, or ever: a job left waiting for it would hold its
   * sender (the outbox's row stays "sending" and keeps a place the outbox counts in flight), so it goes back.
   */
  private couldTake(slot: Slot, tried: Set<string>): boolean {
    return !tried.has(slot.modem.id) && slot.state === 'ready' && slot.modem.registered
  }

  /**
   * A job no untried modem can take any more (dead, recovering, lost its network) goes back to the source as
   * retryable, rather than waiting here: the source retries it later, on whichever modem can send then.
   */
  private async failHopelessRetries(): Promise<void> {
    for (let i = this.retries.length - 1; i >= 0; i--) {
      const entry = this.retries[i]
      if (this.slots.some((s) => this.couldTake(s, entry.tried))) continue
      this.retries.splice(i, 1)
      await this.options.source.onFailed(entry.job, entry.lastError, true)
      this.emit('failed', entry.job, entry.lastError, true)
    }
  }

  private dispatch(slot: Slot, job: SmsJob, tried: Set<string>): void {
    slot.busy = true
    slot.lastUsed = Date.now()
    slot.nextSendAt = Date.now() + slot.minIntervalMs
    tried.add(slot.modem.id)
    const run = this.send(slot, job, tried).finally(() => {
      slot.busy = false
      this.inFlight.delete(run)
      this.wake()
    })
    this.inFlight.add(run)
  }

  private async send(slot: Slot, job: SmsJob, tried: Set<string>): Promise<void> {
    try {
      const result = await slot.modem.sendSms(job.sms)
      slot.sent++
      await this.options.source.onSent(job, slot.modem.id, result.messageReferences)
      this.emit('sent', job, slot.modem.id, result.messageReferences)
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e))
      const retryable = (err as { retryable?: boolean }).retryable ?? false
      // The message may be on its way already: the source decides (and flags it), never a silent resend.
      const maybeSent = (err as { maybeSent?: boolean }).maybeSent === true
      slot.failed++
      this.emit('modem-error', slot.modem.id, err)
      const others = this.slots.some((s) => this.couldTake(s, tried))
      if (retryable && !maybeSent && tried.size < this.maxAttempts && others && this.running) {
        this.retries.unshift({ job, tried, lastError: err })
        this.emit('failover', job, slot.modem.id, err)
      } else {
        await this.options.source.onFailed(job, err, retryable)
        this.emit('failed', job, err, retryable)
      }
      const broken = err instanceof AtTimeoutError || err instanceof ChannelClosedError
      if (this.running && (broken || slot.modem.status().errorStreak >= this.resetAfterErrors)) {
        void this.recover(slot, err instanceof ChannelClosedError ? 'reopen' : 'soft-reset')
      }
    }
  }

  /** Escalation: soft reset → reopen → dead (retried after `deadRetryMs`). */
  private async recover(slot: Slot, from: 'soft-reset' | 'reopen'): Promise<void> {
    if (slot.state === 'recovering' || slot.state === 'stopped') return
    this.setState(slot, 'recovering')
    if (from === 'soft-reset') {
      try {
        await slot.modem.reset()
        return this.recovered(slot)
      } catch {
        // fall through to a plain reopen
      }
    }
    try {
      await slot.modem.close()
      await slot.modem.open()
      return this.recovered(slot)
    } catch (err) {
      this.emit('modem-error', slot.modem.id, asError(err))
      this.markDead(slot)
    }
  }

  /** An operator's reset: the same escalation as after repeated errors, starting with `AT+CFUN=1,1`. */
  async reset(modemId: string): Promise<void> {
    const slot = this.slots.find((s) => s.modem.id === modemId)
    if (!slot) throw new Error(`no modem ${modemId} in this pool`)
    if (slot.state === 'dead') clearTimeout(slot.deadTimer)
    // A busy modem finishes its message first: the AT channel runs one command at a time anyway.
    await this.recover(slot, slot.state === 'dead' ? 'reopen' : 'soft-reset')
  }

  private recovered(slot: Slot): void {
    if (!this.running) return
    this.setState(slot, 'ready') // which wakes the dispatch loop
  }

  private markDead(slot: Slot): void {
    this.setState(slot, 'dead')
    if (!this.running) return
    slot.deadTimer = setTimeout(() => {
      slot.state = 'starting'
      void this.recover(slot, 'reopen')
    }, this.deadRetryMs)
    slot.deadTimer.unref()
  }

  private setState(slot: Slot, state: SlotState): void {
    slot.state = state
    this.emit('modem-state', this.healthOf(slot))
    // A job waiting for this modem may now have none left to wait for (see failHopelessRetries).
    this.wake()
  }
}
