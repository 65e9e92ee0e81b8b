import type { Keyring } from '../crypto/keyring'
import { issueOneTimeCode, verifyOneTimeCode, type OneTimeCodeRecord } from '../otp/one-time-code'
import type { SmsService } from '../sms/service'
import { secret } from '../sms/redact'
import type { TemplateStore } from '../templates/store'
import { maskMobile, purchaseValues } from './message'
import type {
  AnswerSource,
  AuthenticationMethod,
  ChallengeMode,
  ChallengeSubject,
  MethodState,
  Prompt,
  ReplyMatch,
  Step,
  Verification,
} from './method'
import { normaliseReply, parseReply } from './reply'
import type { EffectiveMethodSettings } from './settings'

export { maskMobile } from './message'

/**
 * "SMS Push B": a one-time code sent by SMS. Issue and verification are the OTP engine's
 * (otp/one-time-code: CSPRNG code, stored only as a salted HMAC-SHA-256 under the keyring's 'otp-hash' key,
 * constant-time, single use, expiry checked first). This method adds the challenge rules: an attempt limit
 * across resends, a resend limit, and one generic answer for a wrong, expired or exhausted code. In decoupled
 * mode the cardholder approves by replying with the code (or refuses with NO).
 */
interface OtpState extends MethodState {
  keyId: number
  record: OneTimeCodeRecord
  sends: number
  wrong: number
  used: boolean
  mode: ChallengeMode
}

const BARE_CODE = /^[0-9]{4,12}$/

export class SmsOtpMethod implements AuthenticationMethod {
  readonly name = 'sms-otp'
  readonly authenticationType = '02' as const
  readonly authValueMethod = 'sms-otp' as const
  readonly modes = ['browser', 'app', 'decoupled'] as const

  constructor(
    private readonly sms: SmsService,
    private readonly keyring: Keyring,
    private readonly settings: (issuerId: number | undefined) => EffectiveMethodSettings,
    private readonly templates: TemplateStore,
  ) {}

  /** Issues a code, keeps only its record and queues the SMS (priority 0, idempotent per send). */
  private send(subject: ChallengeSubject, mode: ChallengeMode, previous?: OtpState): OtpState {
    const opts = this.settings(subject.issuerId)
    const key = this.keyring.active('otp-hash')
    const { code, record } = issueOneTimeCode(key.key, Date.now(), {
      length: opts.otpLength,
      alphabet: 'NUMERIC',
      ttlMs: opts.otpTtlSeconds * 1000,
      maxAttempts: opts.maxAttempts,
    })
    const sends = (previous?.sends ?? 0) + 1
    const text = this.templates.render(
      subject.issuerId,
      mode === 'decoupled' ? 'otp-decoupled' : 'otp',
      subject.language,
      { ...purchaseValues(subject), code: secret(code) },
    )
    this.sms.enqueue({
      to: subject.mobile,
      text,
      kind: 'otp',
      priority: 0,
      idempotencyKey: `otp:${subject.acsTransID}:${sends}`,
      ref: subject.acsTransID,
      expiresAt: record.expiresAt,
    })
    return { keyId: key.id, record, sends, wrong: previous?.wrong ?? 0, used: false, mode }
  }

  private prompt(subject: ChallengeSubject, state: OtpState): Prompt {
    const opts = this.settings(subject.issuerId)
    return {
      kind: 'code',
      codeLength: state.record.length,
      maskedDestination: maskMobile(subject.mobile),
      resendAvailable: state.sends <= opts.maxResends,
    }
  }

  start(subject: ChallengeSubject, mode: ChallengeMode): Step {
    const state = this.send(subject, mode)
    return { state, prompt: this.prompt(subject, state) }
  }

  verify(subject: ChallengeSubject, raw: MethodState, input: string, source: AnswerSource): Verification {
    const state = raw as OtpState
    const opts = this.settings(subject.issuerId)
    if (state.used) return { outcome: 'failed', state }
    if (source === 'sms' && parseReply(input).verdict === 'refuse')
      return { outcome: 'refused', state: { ...state, used: true } }
    const code = (source === 'sms' ? normaliseReply(input) : input).replace(/\s+/g, '')
    const r = verifyOneTimeCode(state.record, code, this.keyring.byId(state.keyId).key, Date.now())
    if (r.verified) return { outcome: 'success', state: { ...state, record: r.record, used: true } }
    const next: OtpState = { ...state, record: r.record, wrong: state.wrong + 1 }
    if (next.wrong >= opts.maxAttempts) return { outcome: 'failed', state: { ...next, used: true } }
    // Wrong, expired or exhausted: one answer, so the page never tells a guesser which it was.
    return {
      outcome: 'retry',
      state: next,
      prompt: this.prompt(subject, next),
      notice: { kind: 'wrong-code', attemptsLeft: opts.maxAttempts - next.wrong },
    }
  }

  resend(subject: ChallengeSubject, raw: MethodState): Step {
    const state = raw as OtpState
    if (state.used || state.sends > this.settings(subject.issuerId).maxResends)
      return { state, prompt: this.prompt(subject, state) }
    const next = this.send(subject, state.mode, state)
    return { state: next, prompt: this.prompt(subject, next), notice: { kind: 'code-resent' } }
  }

  /** Decoupled only: a bare code or a refusal. Anything else (FRAUD …, YES <ref>) belongs to someone else. */
  matchReply(raw: MethodState, text: string): ReplyMatch {
    const state = raw as OtpState
    if (state.mode !== 'decoupled') return 'no'
    if (parseReply(text).verdict === 'refuse') return 'fits'
    return BARE_CODE.test(normaliseReply(text).replace(/ /g, '')) ? 'fits' : 'no'
  }
}
