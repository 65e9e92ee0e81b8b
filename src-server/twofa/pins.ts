import type { Keyring } from '../crypto/keyring'
import type { Vault } from '../crypto/vault'
import { badRequest, conflict, HttpProblem, notFound } from '../http/problem'
import {
  issueOneTimeCode,
  verifyOneTimeCode,
  type CodeError,
  type OneTimeCodeRecord,
} from '../otp/one-time-code'
import { forSending } from '../sms/redact'
import type { SmsService } from '../sms/service'
import type { Db } from '../store/db'
import { newId, type ApplicationRepository, type AuthenticatedApplication } from './applications'
import { parseDuration, parseRateLimit } from './limits'
import type { PinError, PinStatusView, VerifyPinResponse } from './model'
import type { RateCheck, SqliteRateLimiter } from './rate-limiter'
import { fillPlaceholders, insertPin, MAX_RENDERED_LENGTH, TemplateError } from './template'
import type { UsageCounters } from './usage'

interface PinRow {
  id: string
  application_id: string
  message_id: string
  to_number: string
  text_sealed: Buffer
  key_id: number
  salt: string
  hash: string
  expires_at: number
  attempts_left: number
  status: 'pending' | 'verified'
  sends: number
  created_at: number
  verified_at: number | null
  pin_length: number
  pin_type: OneTimeCodeRecord['alphabet']
}

export interface PinServiceDeps {
  db: Db
  vault: Vault
  keyring: Keyring
  sms: SmsService
  applications: ApplicationRepository
  usage: UsageCounters
  limiter: SqliteRateLimiter
  /** Injectable for tests of the time-based rules. */
  now?: () => number
}

const PIN_ERROR: Record<CodeError, PinError> = {
  WRONG_CODE: 'WRONG_PIN',
  EXPIRED: 'TTL_EXPIRED',
  NO_MORE_ATTEMPTS: 'NO_MORE_PIN_ATTEMPTS',
  ALREADY_USED: 'PIN_ALREADY_USED',
}

const textAad = (pinId: string) => `twofa-pin:${pinId}`

/**
 * The PIN life cycle of the 2FA API: send (limits per phone number and per application), verify (limit per
 * PIN, attempts, TTL, single use) and resend (a new PIN under the same pinId; attempts carry over so a
 * resend never buys more guesses). PINs exist only as keyed hashes (src-server/otp/one-time-code.ts).
 */
export class PinService {
  private readonly now: () => number
  private readonly byId
  private readonly recordAttempt

  constructor(private readonly d: PinServiceDeps) {
    this.now = d.now ?? Date.now
    this.byId = d.db.prepare(
      `SELECT p.*, m.pin_length, m.pin_type FROM twofa_pins p JOIN twofa_messages m ON m.id = p.message_id
       WHERE p.id = ? AND p.application_id = ?`,
    )
    this.recordAttempt = d.db.prepare(
      'UPDATE twofa_pins SET attempts_left = ?, status = ?, verified_at = ? WHERE id = ?',
    )
  }

  private row(app: AuthenticatedApplication, pinId: string): PinRow {
    // Another application's PIN is "not found" as well: an API key sees only its own PINs.
    const row = this.byId.get(pinId, app.id) as PinRow | undefined
    if (!row) throw notFound(`No PIN ${pinId} in this application`)
    return row
  }

  private sendChecks(app: AuthenticatedApplication, to: string): RateCheck[] {
    const cfg = app.configuration
    return [
      { bucket: `2fa:phone:${app.id}:${to}`, limit: parseRateLimit(cfg.sendPinPerPhoneNumberLimit)! },
      { bucket: `2fa:app:${app.id}`, limit: parseRateLimit(cfg.sendPinPerApplicationLimit)! },
    ]
  }

  /** Takes the slots, or counts the refusal (inside the caller's transaction). */
  private take(app: AuthenticatedApplication, checks: RateCheck[], now: number) {
    const decision = this.d.limiter.take(checks, now)
    if (!decision.allowed) this.d.usage.count(app.id, 'limited', now)
    return decision
  }

  private limited(app: AuthenticatedApplication, retryAfterMs: number, what: string): HttpProblem {
    return new HttpProblem(429, 'Too many requests', `The ${what} is reached; retry later`, {
      retryAfter: Math.ceil(retryAfterMs / 1000),
    })
  }

  private limitName(app: AuthenticatedApplication, bucket: string): string {
    const cfg = app.configuration
    if (bucket.startsWith('2fa:phone:'))
      return `limit of PINs per phone number (${cfg.sendPinPerPhoneNumberLimit})`
    if (bucket.startsWith('2fa:app:'))
      return `limit of PINs per application (${cfg.sendPinPerApplicationLimit})`
    return `limit of verifications per PIN (${cfg.verifyPinLimit})`
  }

  /** Issues a code, stores its hash and queues the SMS; `attempts` carries over on a resend. */
  private issue(
    app: AuthenticatedApplication,
    message: { pinLength: number; pinType: OneTimeCodeRecord['alphabet'] },
    attempts: number,
    now: number,
  ) {
    const key = this.d.keyring.active('otp-hash')
    const { code, record } = issueOneTimeCode(key.key, now, {
      length: message.pinLength,
      alphabet: message.pinType,
      ttlMs: parseDuration(app.configuration.pinTimeToLive)!,
      maxAttempts: attempts,
    })
    return { code, record, keyId: key.id }
  }

  private enqueue(
    pinId: string,
    to: string,
    filled: string,
    code: string,
    sends: number,
    expiresAt: number,
  ): void {
    this.d.sms.enqueue({
      to,
      text: insertPin(filled, code),
      kind: '2fa-pin',
      priority: 0,
      idempotencyKey: `2fa:${pinId}:${sends}`,
      ref: pinId,
      expiresAt,
    })
  }

  send(
    app: AuthenticatedApplication,
    input: { applicationId: string; messageId: string; to: string; placeholders?: Record<string, string> },
  ): { pinId: string; to: string; smsStatus: 'MESSAGE_SENT' } {
    if (input.applicationId !== app.id)
      throw new HttpProblem(403, 'Forbidden', 'The API key does not belong to this application')
    const message = this.d.applications.message(app.id, input.messageId)
    let filled: string
    try {
      filled = fillPlaceholders(message.messageText, input.placeholders)
    } catch (err) {
      if (err instanceof TemplateError) throw badRequest(`The message template needs ${err.message}`)
      throw err
    }
    if (forSending(insertPin(filled, '0'.repeat(message.pinLength))).length > MAX_RENDERED_LENGTH)
      throw badRequest(`The message would be longer than ${MAX_RENDERED_LENGTH} characters`)
    const now = this.now()
    const pinId = newId()
    const outcome = this.d.db.transaction(() => {
      const decision = this.take(app, this.sendChecks(app, input.to), now)
      if (!decision.allowed) return decision
      const { code, record, keyId } = this.issue(app, message, app.configuration.pinAttempts, now)
      this.d.db
        .prepare(
          `INSERT INTO twofa_pins (id, application_id, message_id, to_number, text_sealed, key_id, salt, hash, expires_at,
                                   attempts_left, status, sends, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 1, ?)`,
        )
        .run(
          pinId,
          app.id,
          message.messageId,
          input.to,
          this.d.vault.seal('secret-enc', filled, textAad(pinId)),
          keyId,
          record.saltB64,
          record.hashB64,
          record.expiresAt,
          record.attemptsLeft,
          now,
        )
      this.enqueue(pinId, input.to, filled, code, 1, record.expiresAt)
      this.d.usage.count(app.id, 'sent', now)
      return decision
    })()
    if (!outcome.allowed) throw this.limited(app, outcome.retryAfterMs, this.limitName(app, outcome.bucket))
    return { pinId, to: input.to, smsStatus: 'MESSAGE_SENT' }
  }

  verify(app: AuthenticatedApplication, pinId: string, pin: string): VerifyPinResponse {
    const now = this.now()
    const check = { bucket: `2fa:verify:${pinId}`, limit: parseRateLimit(app.configuration.verifyPinLimit)! }
    // One transaction (one commit) for the limit, the attempt and the counters.
    const outcome = this.d.db.transaction(() => {
      const row = this.row(app, pinId)
      const decision = this.take(app, [check], now)
      if (!decision.allowed) return decision
      const result = verifyOneTimeCode(this.record(row), pin, this.d.keyring.byId(row.key_id).key, now)
      this.recordAttempt.run(
        result.record.attemptsLeft,
        result.record.status,
        result.verified ? now : row.verified_at,
        pinId,
      )
      this.d.usage.count(app.id, result.verified ? 'verified' : 'failed', now)
      const answer: VerifyPinResponse = {
        pinId,
        msisdn: row.to_number,
        verified: result.verified,
        attemptsRemaining: result.attemptsLeft,
        ...(result.error ? { pinError: PIN_ERROR[result.error] } : {}),
      }
      return { allowed: true as const, answer }
    })()
    if (!outcome.allowed) throw this.limited(app, outcome.retryAfterMs, this.limitName(app, check.bucket))
    return outcome.answer
  }

  /** Sends a new PIN under the same pinId (the previous one stops working); the send limits apply. */
  resend(
    app: AuthenticatedApplication,
    pinId: string,
  ): { pinId: string; to: string; smsStatus: 'MESSAGE_SENT' } {
    const now = this.now()
    const outcome = this.d.db.transaction(() => {
      const row = this.row(app, pinId)
      if (row.status === 'verified') throw conflict('This PIN was already verified; request a new one')
      if (row.attempts_left <= 0)
        throw conflict('This PIN has no verification attempts left; request a new one')
      const decision = this.take(app, this.sendChecks(app, row.to_number), now)
      if (!decision.allowed) return decision
      const message = this.d.applications.message(app.id, row.message_id)
      const { code, record, keyId } = this.issue(app, message, row.attempts_left, now)
      const sends = row.sends + 1
      this.d.db
        .prepare(
          'UPDATE twofa_pins SET key_id = ?, salt = ?, hash = ?, expires_at = ?, sends = ? WHERE id = ?',
        )
        .run(keyId, record.saltB64, record.hashB64, record.expiresAt, sends, pinId)
      const filled = this.d.vault.open(row.text_sealed, textAad(pinId)).toString('utf8')
      this.enqueue(pinId, row.to_number, filled, code, sends, record.expiresAt)
      this.d.usage.count(app.id, 'sent', now)
      return { ...decision, to: row.to_number }
    })()
    if (!outcome.allowed) throw this.limited(app, outcome.retryAfterMs, this.limitName(app, outcome.bucket))
    return { pinId, to: outcome.to, smsStatus: 'MESSAGE_SENT' }
  }

  /** Where a PIN stands: terminal states stay queryable after the fact. */
  status(app: AuthenticatedApplication, pinId: string): PinStatusView {
    const row = this.row(app, pinId)
    const now = this.now()
    const status =
      row.status === 'verified'
        ? 'VERIFIED'
        : now >= row.expires_at
          ? 'TTL_EXPIRED'
          : row.attempts_left <= 0
            ? 'NO_MORE_PIN_ATTEMPTS'
            : 'PENDING'
    return {
      pinId,
      msisdn: row.to_number,
      status,
      attemptsRemaining: row.attempts_left,
      expiresAt: new Date(row.expires_at).toISOString(),
      ...(row.verified_at ? { verifiedAt: new Date(row.verified_at).toISOString() } : {}),
      sends: row.sends,
    }
  }

  private record(row: PinRow): OneTimeCodeRecord {
    return {
      saltB64: row.salt,
      hashB64: row.hash,
      alphabet: row.pin_type,
      length: row.pin_length,
      expiresAt: row.expires_at,
      attemptsLeft: row.attempts_left,
      status: row.status,
    }
  }
}
