import { createHmac, randomInt, timingSafeEqual } from 'node:crypto'
import type { Keyring } from '../crypto/keyring'
import type { SmsService } from '../sms/service'
import { secret } from '../sms/redact'
import type {
  AuthenticationMethod,
  ChallengeMode,
  ChallengeSubject,
  MethodState,
  Prompt,
  Step,
  Verification,
} from './method'

/**
 * "SMS Push B": a one-time code sent by SMS. The code comes from the CSPRNG and is stored only as
 * HMAC-SHA-256 under the keyring's 'otp-hash' key (bound to the acsTransID), compared in constant time,
 * single use, with an expiry, an attempt limit and a resend limit. In decoupled mode the cardholder
 * approves by replying with the code (or refuses with NO).
 */
export interface SmsOtpOptions {
  codeLength: number
  ttlSeconds: number
  maxAttempts: number
  maxResends: number
}

interface OtpState extends MethodState {
  keyId: number
  hash: string
  expiresAt: number
  sends: number
  wrong: number
  used: boolean
  mode: ChallengeMode
}

const TEXTS: Record<
  string,
  { code: (c: string, what: string) => string; reply: string; at: string; card: string; refuse: RegExp }
> = {
  en: {
    code: (c, what) => `Your code ${c} for ${what}.`,
    reply: ' Reply with this code to approve, or NO to refuse.',
    at: 'at',
    card: 'card',
    refuse: /^\s*no\b/i,
  },
  fr: {
    code: (c, what) => `Votre code ${c} pour ${what}.`,
    reply: ' Répondez avec ce code pour valider, ou NON pour refuser.',
    at: 'chez',
    card: 'carte',
    refuse: /^\s*non?\b/i,
  },
  de: {
    code: (c, what) => `Ihr Code ${c} für ${what}.`,
    reply: ' Antworten Sie mit diesem Code zum Bestätigen oder NEIN zum Ablehnen.',
    at: 'bei',
    card: 'Karte',
    refuse: /^\s*(nein|no)\b/i,
  },
}
const WARNING: Record<string, string> = {
  en: ' Never share it.',
  fr: ' Ne le communiquez à personne.',
  de: ' Geben Sie ihn nie weiter.',
}

/** +33612345678 → +336******78: enough for the cardholder to recognise, not enough to harvest. */
export function maskMobile(mobile: string): string {
  if (mobile.length <= 6) return '*'.repeat(mobile.length)
  return mobile.slice(0, 4) + '*'.repeat(mobile.length - 6) + mobile.slice(-2)
}

export class SmsOtpMethod implements AuthenticationMethod {
  readonly name = 'sms-otp'
  readonly authenticationType = '02' as const
  readonly authValueMethod = 'sms-otp' as const
  readonly modes = ['browser', 'app', 'decoupled'] as const

  constructor(
    private readonly sms: SmsService,
    private readonly keyring: Keyring,
    private readonly options: () => SmsOtpOptions,
  ) {}

  private hash(keyId: number | undefined, acsTransID: string, code: string): { keyId: number; hash: Buffer } {
    const key = keyId === undefined ? this.keyring.active('otp-hash') : this.keyring.byId(keyId)
    return { keyId: key.id, hash: createHmac('sha256', key.key).update(`${acsTransID}:${code}`).digest() }
  }

  /** Generates a code, stores its hash in the state and queues the SMS (priority 0, idempotent per send). */
  private send(subject: ChallengeSubject, mode: ChallengeMode, previous?: OtpState): OtpState {
    const opts = this.options()
    const code = String(randomInt(0, 10 ** opts.codeLength)).padStart(opts.codeLength, '0')
    const { keyId, hash } = this.hash(undefined, subject.acsTransID, code)
    const sends = (previous?.sends ?? 0) + 1
    const t = TEXTS[subject.language] ?? TEXTS.en
    const purchase = [
      subject.amountText,
      subject.merchantName ? `${t.at} ${subject.merchantName}` : undefined,
    ]
      .filter(Boolean)
      .join(' ')
    const what = `${purchase ? `${purchase}, ` : ''}${t.card} *${subject.panMasked.slice(-4)}`
    const text =
      t.code(secret(code), what) +
      (mode === 'decoupled' ? t.reply : (WARNING[subject.language] ?? WARNING.en))
    this.sms.enqueue({
      to: subject.mobile,
      text,
      kind: 'otp',
      priority: 0,
      idempotencyKey: `otp:${subject.acsTransID}:${sends}`,
      ref: subject.acsTransID,
    })
    return {
      keyId,
      hash: hash.toString('base64'),
      expiresAt: Date.now() + opts.ttlSeconds * 1000,
      sends,
      wrong: previous?.wrong ?? 0,
      used: false,
      mode,
    }
  }

  private prompt(subject: ChallengeSubject, state: OtpState): Prompt {
    const opts = this.options()
    return {
      kind: 'code',
      codeLength: opts.codeLength,
      maskedDestination: maskMobile(subject.mobile),
      resendAvailable: state.sends <= opts.maxResends,
    }
  }

  start(subject: ChallengeSubject, mode: ChallengeMode): Step {
    const state = this.send(subject, mode)
    return { state, prompt: this.prompt(subject, state) }
  }

  verify(subject: ChallengeSubject, raw: MethodState, input: string): Verification {
    const state = raw as OtpState
    const opts = this.options()
    const t = TEXTS[subject.language] ?? TEXTS.en
    if (state.used) return { outcome: 'failed', state }
    if (state.mode === 'decoupled' && t.refuse.test(input))
      return { outcome: 'refused', state: { ...state, used: true } }
    const code = input.replace(/\s+/g, '')
    const expected = Buffer.from(state.hash, 'base64')
    // Always hash and compare, even for malformed input, so timing does not tell a format error apart.
    const given = this.hash(state.keyId, subject.acsTransID, /^\d{1,12}$/.test(code) ? code : '-').hash
    const matches = timingSafeEqual(given, expected) && /^\d{1,12}$/.test(code)
    const expired = Date.now() > state.expiresAt
    if (matches && !expired) return { outcome: 'success', state: { ...state, used: true } }
    const next: OtpState = { ...state, wrong: state.wrong + 1 }
    if (next.wrong >= opts.maxAttempts) return { outcome: 'failed', state: { ...next, used: true } }
    return {
      outcome: 'retry',
      state: next,
      prompt: this.prompt(subject, next),
      notice:
        matches && expired
          ? { kind: 'code-expired' }
          : { kind: 'wrong-code', attemptsLeft: opts.maxAttempts - next.wrong },
    }
  }

  resend(subject: ChallengeSubject, raw: MethodState): Step {
    const state = raw as OtpState
    if (state.used || state.sends > this.options().maxResends)
      return { state, prompt: this.prompt(subject, state) }
    const next = this.send(subject, state.mode, state)
    return { state: next, prompt: this.prompt(subject, next), notice: { kind: 'code-resent' } }
  }
}
