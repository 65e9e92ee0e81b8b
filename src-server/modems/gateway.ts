/**
 * The GSM modem pool as an SMS gateway. The outbox (SmsService) pushes messages with `send()`; the pool
 * pulls them through `JobSource.next()`, most urgent first, so "codes before notifications" holds in both
 * queues. Incoming SMS (already reassembled by the driver) and status reports go back to the outbox.
 */
import { EventEmitter } from 'node:events'
import type { GsmModem } from '../../hardware/gsm/modem'
import type { Validity } from '../../hardware/gsm/pdu'
import { ModemPool, type ModemHealth, type PoolOptions } from '../../hardware/gsm/pool'
import type { JobSource, SmsJob } from '../../hardware/gsm/queue'
import {
  GatewayError,
  type DeliveryReport,
  type IncomingSms,
  type OutgoingSms,
  type SendResult,
  type SmsGateway,
} from '../sms/gateway'

interface Waiting {
  message: OutgoingSms
  job: SmsJob
  resolve(result: SendResult): void
  reject(err: GatewayError): void
}

export interface PoolGatewayEvents {
  /** Healthy modems changed: the outbox adjusts how many messages it hands over at once. */
  capacity: [healthy: number]
  'modem-state': [ModemHealth]
  'modem-error': [modemId: string, error: Error]
  queue: [depth: number]
}

export class ModemPoolGateway extends EventEmitter<PoolGatewayEvents> implements SmsGateway, JobSource {
  readonly name = 'modems'
  private readonly waiting: Waiting[] = []
  private readonly taken = new Map<string, Waiting>()
  private readonly wakeListeners = new Set<() => void>()
  private incoming: ((sms: IncomingSms) => void) | undefined
  private reports: ((report: DeliveryReport) => void) | undefined
  private pool: ModemPool | undefined
  private closed = false
  private healthy = 0

  /**
   * Replaces the modems (after a configuration change). Messages already handed to the old pool finish
   * there or come back as retryable failures; queued ones wait for the new pool.
   */
  async setModems(modems: GsmModem[], options: Omit<PoolOptions, 'source' | 'modems'> = {}): Promise<void> {
    const old = this.pool
    this.pool = undefined
    await old?.stop()
    this.updateCapacity()
    if (this.closed || modems.length === 0) return
    const pool = new ModemPool({ ...options, source: this, modems })
    this.pool = pool
    pool.on('sms', (m) =>
      this.incoming?.({
        from: m.from.value,
        text: m.text,
        receivedAt: Date.now(),
        modem: m.modemId,
        missingParts: m.complete ? undefined : m.missingParts,
      }),
    )
    pool.on('status-report', (r) =>
      this.onStatusReport(
        r.modemId,
        r.messageReference,
        r.recipient.value,
        r.outcome,
        reportedAt(r.dischargeTime.date),
      ),
    )
    pool.on('modem-state', (h) => {
      this.emit('modem-state', h)
      this.updateCapacity()
    })
    pool.on('modem-error', (id, err) => this.emit('modem-error', id, err))
    for (const modem of modems) modem.on('status', () => this.updateCapacity())
    await pool.start()
    this.updateCapacity()
  }

  health(): ModemHealth[] {
    return this.pool?.health() ?? []
  }

  get queueDepth(): number {
    return this.waiting.length
  }

  /** Soft reset of one modem (`AT+CFUN=1,1`, then reopen), as the pool does after repeated errors. */
  async reset(modemId: string): Promise<void> {
    if (!this.pool) throw new Error('the modem pool is not running')
    await this.pool.reset(modemId)
  }

  // --- SmsGateway (push side, used by the outbox) ---

  send(message: OutgoingSms): Promise<SendResult> {
    if (this.closed) return Promise.reject(new GatewayError('the modem gateway is stopped', true))
    return new Promise((resolve, reject) => {
      const entry: Waiting = {
        message,
        job: {
          id: String(message.id),
          priority: message.priority,
          sms: {
            to: message.to,
            text: message.text,
            statusReport: true,
            validity: validityUntil(message.expiresAt),
          },
        },
        resolve,
        reject,
      }
      // Stable by priority: FIFO within one priority, codes (0) before notifications (1).
      let i = this.waiting.length
      while (i > 0 && this.waiting[i - 1].message.priority > message.priority) i--
      this.waiting.splice(i, 0, entry)
      this.emit('queue', this.waiting.length)
      for (const l of this.wakeListeners) l()
    })
  }

  onIncoming(handler: (sms: IncomingSms) => void): void {
    // One owner (the outbox): re-registering after a capacity change must not double every message.
    this.incoming = handler
  }

  onDeliveryReport(handler: (report: DeliveryReport) => void): void {
    this.reports = handler
  }

  async close(): Promise<void> {
    this.closed = true
    await this.setModems([])
    for (const entry of this.waiting.splice(0))
      entry.reject(new GatewayError('the modem gateway was stopped before sending', true))
  }

  // --- JobSource (pull side, used by the pool) ---

  async next(): Promise<SmsJob | undefined> {
    const entry = this.waiting.shift()
    if (!entry) return undefined
    this.taken.set(entry.job.id, entry)
    this.emit('queue', this.waiting.length)
    return entry.job
  }

  onSent(job: SmsJob, modemId: string, messageReferences: number[]): void {
    const entry = this.taken.get(job.id)
    if (!entry) return
    this.taken.delete(job.id)
    // One TP-MR per part: each part's status report names its own (the outbox joins them, sms/service.ts).
    entry.resolve({ messageRef: messageReferences.join(','), modem: modemId })
  }

  onFailed(job: SmsJob, error: Error, retryable: boolean): void {
    const entry = this.taken.get(job.id)
    if (!entry) return
    this.taken.delete(job.id)
    const maybeSent = (error as { maybeSent?: boolean }).maybeSent === true
    entry.reject(new GatewayError(error.message, retryable, maybeSent))
  }

  subscribe(listener: () => void): () => void {
    this.wakeListeners.add(listener)
    return () => this.wakeListeners.delete(listener)
  }

  // --- delivery reports ---

  private onStatusReport(
    modemId: string,
    mr: number,
    recipient: string,
    outcome: 'delivered' | 'pending' | 'failed',
    at: number,
  ): void {
    if (outcome === 'pending') return // the network is still trying: a final report follows
    this.reports?.({
      messageRef: String(mr),
      modem: modemId,
      recipient,
      delivered: outcome === 'delivered',
      at,
    })
  }

  private updateCapacity(): void {
    const healthy = this.health().filter((h) => h.state === 'ready' && h.score > 0).length
    if (healthy === this.healthy) return
    this.healthy = healthy
    this.emit('capacity', healthy)
  }
}

/** TP-VP's first step: nothing shorter is asked for. */
const MIN_VALIDITY_SECONDS = 300

/**
 * A message with an expiry (a one-time code) asks the network to drop it once the code is no longer valid,
 * rather than deliver it days later to a phone that was off (the codec's default is 63 weeks). Relative, so
 * the SMSC's clock does not matter; the codec rounds it up to TP-VP's steps, so it never ends before the code.
 * Counted from now, not from when a modem takes the job: the few seconds in the pool's queue only lengthen it.
 */
function validityUntil(expiresAt: number | undefined): Validity | undefined {
  if (expiresAt === undefined) return undefined
  return { relativeSeconds: Math.max(MIN_VALIDITY_SECONDS, Math.ceil((expiresAt - Date.now()) / 1000)) }
}

/**
 * When the network delivered (or gave up on) a message: the report's discharge time, which a report read late
 * from the modem's memory still carries, unless the SMSC's clock is plainly off (ahead of ours, or more than
 * a week back); then the time the report came.
 */
function reportedAt(discharge: Date): number {
  const at = discharge.getTime()
  const now = Date.now()
  return Number.isFinite(at) && at <= now + 60_000 && at >= now - 7 * 86_400_000 ? Math.min(at, now) : now
}
