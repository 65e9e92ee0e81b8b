import { createHmac, randomUUID } from 'node:crypto'
import type { Logger } from '../log'
import type { Db } from '../store/db'

/**
 * Results of channel authentications are pushed to the client's webhook URL from a persistent outbox: the
 * row is written in the same transaction as the result, so a crash never loses a notification, and it is
 * retried with exponential backoff until the receiver answers 2xx (or the attempts run out).
 *
 * Signature (Stripe-style, so the receiver can reject replays): header
 * `IMS-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256(secret, "<t>.<raw body>")>`, the key being the
 * UTF-8 bytes of the whole `whsec_...` secret.
 */
export const SIGNATURE_HEADER = 'IMS-Signature'

export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${unixSeconds}.${body}`).digest('hex')
  return `t=${unixSeconds},v1=${mac}`
}

interface WebhookRow {
  id: number
  event_id: string
  client_id: string
  url: string
  payload: string
  attempts: number
}

export interface WebhookOptions {
  maxAttempts: number
  firstRetryMs: number
  maxRetryMs: number
  timeoutMs: number
  pollMs: number
}

const DEFAULTS: WebhookOptions = {
  maxAttempts: 10,
  firstRetryMs: 1000,
  maxRetryMs: 3_600_000,
  timeoutMs: 10_000,
  pollMs: 250,
}

export class WebhookOutbox {
  private readonly options: WebhookOptions
  private readonly inFlight = new Map<number, Promise<void>>()
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    /** The client's current signing secret (a rotated secret signs the retries too). */
    private readonly secretOf: (clientId: string) => string,
    options: Partial<WebhookOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options }
  }

  /** Call inside the transaction that records the result. */
  enqueue(clientId: string, requestId: string, url: string, event: Record<string, unknown>): string {
    const eventId = randomUUID()
    const now = Date.now()
    this.db
      .prepare(
        `INSERT INTO channel_webhooks (event_id, client_id, request_id, url, payload, status, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`,
      )
      .run(eventId, clientId, requestId, url, JSON.stringify({ id: eventId, ...event }), now, now)
    setImmediate(() => this.pump())
    return eventId
  }

  start(): void {
    if (this.timer) return
    this.timer = setInterval(() => this.pump(), this.options.pollMs)
    this.timer.unref()
    this.pump()
  }

  /** Stops polling and waits for the deliveries under way (each bounded by the request timeout). */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await Promise.allSettled([...this.inFlight.values()])
  }

  private pump(): void {
    if (!this.timer) return
    const due = this.db
      .prepare(
        `SELECT id, event_id, client_id, url, payload, attempts FROM channel_webhooks
         WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 20`,
      )
      .all(Date.now()) as WebhookRow[]
    for (const row of due) {
      if (this.inFlight.has(row.id)) continue
      const delivery = this.deliver(row).finally(() => this.inFlight.delete(row.id))
      this.inFlight.set(row.id, delivery)
    }
  }

  private async deliver(row: WebhookRow): Promise<void> {
    const attempt = row.attempts + 1
    let error: string
    try {
      const signature = signWebhook(this.secretOf(row.client_id), row.payload, Math.floor(Date.now() / 1000))
      const res = await fetch(row.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signature,
          'IMS-Event-Id': row.event_id,
          'IMS-Delivery-Attempt': String(attempt),
        },
        body: row.payload,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      })
      await res.body?.cancel()
      if (res.status >= 200 && res.status < 300) {
        this.db
          .prepare(
            `UPDATE channel_webhooks SET status = 'delivered', attempts = ?, delivered_at = ?, last_error = NULL WHERE id = ?`,
          )
          .run(attempt, Date.now(), row.id)
        return
      }
      error = `the receiver answered HTTP ${res.status}`
    } catch (err) {
      error = (err as Error).name === 'TimeoutError' ? 'no answer in time' : `cannot reach the receiver`
    }
    const final = attempt >= this.options.maxAttempts
    const delay = Math.min(this.options.firstRetryMs * 2 ** (attempt - 1), this.options.maxRetryMs)
    this.db
      .prepare(
        'UPDATE channel_webhooks SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?',
      )
      .run(final ? 'failed' : 'pending', attempt, Date.now() + delay, error, row.id)
    this.log.warn({ webhook: row.event_id, attempt, final, error }, 'webhook delivery failed')
  }
}
