import { randomUUID } from 'node:crypto'
import type { Alarms } from '../acs/alarms'
import type { Logger } from '../log'
import type { Db } from '../store/db'
import { EVENT_HEADER, signWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './signature'

export interface WebhookEvent {
  type: string
  issuerId: number
  data: Record<string, unknown>
}

export interface WebhookDelivery {
  id: number
  eventId: string
  issuerId: number
  url: string
  status: 'pending' | 'sending' | 'delivered' | 'failed'
  attempts: number
  lastError?: string
  lastHttpStatus?: number
  createdAt: string
  deliveredAt?: string
  type: string
}

interface Row {
  id: number
  event_id: string
  issuer_id: number
  url: string
  body: string
  status: WebhookDelivery['status']
  attempts: number
  last_error: string | null
  last_http_status: number | null
  created_at: number
  delivered_at: number | null
}

export interface WebhookOptions {
  /** First retry delay; doubles per attempt up to maxDelayMs. */
  baseDelayMs: number
  maxDelayMs: number
  maxAttempts: number
  timeoutMs: number
  scanMs: number
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = {
  baseDelayMs: 2000,
  maxDelayMs: 3600_000,
  // About a day and a half of retries at the capped delay: long enough for a weekend outage to be fixed.
  maxAttempts: 40,
  timeoutMs: 10_000,
  scanMs: 250,
}

/**
 * The issuer-host webhook: each event is written to the outbox in the transaction that caused it, then
 * POSTed as JSON signed with the issuer's secret (re-signed at every attempt, so the timestamp is fresh),
 * retried with exponential back-off on any failure or non-2xx answer, and given up with an alarm after
 * maxAttempts. A row caught in 'sending' by a restart is sent again: receivers de-duplicate by event id.
 */
export class WebhookOutbox {
  private timer: NodeJS.Timeout | undefined
  private readonly inFlight = new Set<Promise<void>>()
  private readonly claim
  private readonly due

  constructor(
    private readonly db: Db,
    private readonly secretFor: (issuerId: number) => Buffer | undefined,
    private readonly alarms: Alarms,
    private readonly log: Logger,
    private readonly options: WebhookOptions = DEFAULT_WEBHOOK_OPTIONS,
  ) {
    this.claim = db.prepare(
      `UPDATE fraud_webhook_outbox SET status = 'sending', attempts = attempts + 1
       WHERE id = ? AND status = 'pending' RETURNING *`,
    )
    this.due = db
      .prepare(
        `SELECT id FROM fraud_webhook_outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT 20`,
      )
      .pluck()
  }

  /** Queues an event for the issuer's URL; call inside the transaction that records what happened. */
  enqueue(url: string, event: WebhookEvent, now = Date.now()): number {
    const eventId = `evt_${randomUUID()}`
    const body = JSON.stringify({
      id: eventId,
      type: event.type,
      createdAt: new Date(now).toISOString(),
      issuerId: event.issuerId,
      data: event.data,
    })
    const info = this.db
      .prepare(
        `INSERT INTO fraud_webhook_outbox (event_id, issuer_id, url, body, status, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, 'pending', ?, ?)`,
      )
      .run(eventId, event.issuerId, url, body, now, now)
    return Number(info.lastInsertRowid)
  }

  start(): void {
    this.db.prepare(`UPDATE fraud_webhook_outbox SET status = 'pending' WHERE status = 'sending'`).run()
    this.scan()
    this.timer = setInterval(() => this.scan(), this.options.scanMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await Promise.allSettled([...this.inFlight])
  }

  private scan(): void {
    for (const id of this.due.all(Date.now()) as number[]) void this.deliver(id)
  }

  /** One attempt at a queued event, now (if nobody else is sending it). */
  deliver(id: number): Promise<void> {
    const row = this.claim.get(id) as Row | undefined
    if (!row) return Promise.resolve()
    const p = this.attempt(row).finally(() => this.inFlight.delete(p))
    this.inFlight.add(p)
    return p
  }

  private async attempt(row: Row): Promise<void> {
    let error: string | undefined
    let httpStatus: number | undefined
    try {
      const secret = this.secretFor(row.issuer_id)
      if (!secret) throw new Error('no webhook secret is set for this issuer')
      const timestamp = Math.floor(Date.now() / 1000)
      const res = await fetch(row.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signWebhook(secret, timestamp, row.body),
          [EVENT_HEADER]: row.event_id,
        },
        body: row.body,
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      })
      httpStatus = res.status
      await res.body?.cancel()
      if (!res.ok) error = `HTTP ${res.status}`
    } catch (err) {
      error = (err as Error).message.slice(0, 200)
    }
    const now = Date.now()
    if (error === undefined) {
      this.db
        .prepare(
          `UPDATE fraud_webhook_outbox SET status = 'delivered', delivered_at = ?, last_error = NULL, last_http_status = ? WHERE id = ?`,
        )
        .run(now, httpStatus ?? null, row.id)
      return
    }
    const final = row.attempts >= this.options.maxAttempts
    const delay = Math.min(this.options.baseDelayMs * 2 ** (row.attempts - 1), this.options.maxDelayMs)
    this.db
      .prepare(
        `UPDATE fraud_webhook_outbox SET status = ?, next_attempt_at = ?, last_error = ?, last_http_status = ? WHERE id = ?`,
      )
      .run(final ? 'failed' : 'pending', now + delay, error, httpStatus ?? null, row.id)
    this.log.warn(
      { webhook: row.event_id, attempt: row.attempts, final, error },
      'fraud webhook delivery failed',
    )
    if (final)
      this.alarms.raise(
        'fraud-webhook-failed',
        `issuer:${row.issuer_id}`,
        `A fraud report could not be delivered to the issuer's webhook after ${row.attempts} attempts`,
      )
  }

  list(filter: { status?: string; limit: number }): WebhookDelivery[] {
    const rows = this.db
      .prepare(`SELECT * FROM fraud_webhook_outbox WHERE (? IS NULL OR status = ?) ORDER BY id DESC LIMIT ?`)
      .all(filter.status ?? null, filter.status ?? null, filter.limit) as Row[]
    return rows.map((r) => ({
      id: r.id,
      eventId: r.event_id,
      issuerId: r.issuer_id,
      url: r.url,
      status: r.status,
      attempts: r.attempts,
      lastError: r.last_error ?? undefined,
      lastHttpStatus: r.last_http_status ?? undefined,
      createdAt: new Date(r.created_at).toISOString(),
      deliveredAt: r.delivered_at === null ? undefined : new Date(r.delivered_at).toISOString(),
      type: (JSON.parse(r.body) as { type: string }).type,
    }))
  }
}
