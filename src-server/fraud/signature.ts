import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Webhook signatures: HMAC-SHA-256 over `<timestamp>.<body>` with the issuer's shared secret, sent as
 * `X-IMS-Signature: v1=<hex>` next to `X-IMS-Timestamp: <unix seconds>`. Signing the timestamp with the
 * body lets the receiver refuse replays older than its tolerance; the `v1=` prefix leaves room for a
 * second scheme during a secret or algorithm change.
 */
export const SIGNATURE_HEADER = 'x-ims-signature'
export const TIMESTAMP_HEADER = 'x-ims-timestamp'
export const EVENT_HEADER = 'x-ims-event-id'

export function signWebhook(secret: Uint8Array | string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`
}

/** What a receiver does (and what the tests and docs use): constant-time check plus a freshness window. */
export function verifyWebhook(
  secret: Uint8Array | string,
  headers: { signature?: string | null; timestamp?: string | null },
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = 300,
): boolean {
  const ts = Number(headers.timestamp)
  if (!Number.isInteger(ts) || Math.abs(nowSeconds - ts) > toleranceSeconds) return false
  const expected = Buffer.from(signWebhook(secret, ts, body))
  const given = Buffer.from(headers.signature ?? '')
  return given.length === expected.length && timingSafeEqual(given, expected)
}
