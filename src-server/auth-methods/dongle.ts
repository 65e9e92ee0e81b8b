import type { SmsService } from '../sms/service'
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

/** What this method needs from the dongle inventory (services.dongles). */
export interface DongleCodes {
  /** Counter, drift, replay and the token's fail counter are the inventory's; `ok` is all it says. */
  verifyDongleCode(cardholderId: number, code: string, actor?: string): { ok: boolean }
  dongleFor(cardholderId: number): { digits: number } | undefined
}

/**
 * OATH hardware tokens (HOTP/TOTP). "OTP Dongle A": the cardholder types the token's code on the challenge
 * page or the SDK's native screen. "OTP Dongle B": the code is sent by SMS to the issuer's number (always
 * in decoupled mode; in browser and app challenges when the issuer chose `dongleAnswer: 'sms'`), from the
 * registered phone only. The token's own fail counter, lock and resync live in the inventory; this method
 * adds the challenge's attempt limit and the one generic answer for a wrong, replayed or locked token.
 */
interface DongleState extends MethodState {
  mode: ChallengeMode
  answer: 'entry' | 'sms'
  digits: number
  sends: number
  wrong: number
  used: boolean
}

const BARE_CODE = /^[0-9]{6,8}$/

const TEXTS: Record<string, { entry: string; sms: (to: string, replyNumber?: string) => string }> = {
  en: {
    entry: 'Enter the code shown on your security token.',
    sms: (to, n) =>
      `Send the code shown on your security token by SMS ${n ? `to ${n}` : 'in reply to the message we sent'} from ${to}. This page continues by itself once it arrives.`,
  },
  fr: {
    entry: 'Saisissez le code affiché par votre token de sécurité.',
    sms: (to, n) =>
      `Envoyez le code affiché par votre token par SMS ${n ? `au ${n}` : 'en réponse au message envoyé'} depuis le ${to}. Cette page continue d’elle-même dès réception.`,
  },
  de: {
    entry: 'Geben Sie den Code Ihres Sicherheitstokens ein.',
    sms: (to, n) =>
      `Senden Sie den Code Ihres Tokens per SMS ${n ? `an ${n}` : 'als Antwort auf unsere Nachricht'} von ${to}. Diese Seite geht danach von selbst weiter.`,
  },
}

export class DongleMethod implements AuthenticationMethod {
  readonly name = 'dongle'
  readonly authenticationType = '02' as const
  readonly authValueMethod = 'hardware-otp' as const
  readonly modes = ['browser', 'app', 'decoupled'] as const

  constructor(
    private readonly dongles: DongleCodes,
    private readonly sms: SmsService,
    private readonly settings: (issuerId: number | undefined) => EffectiveMethodSettings,
    private readonly templates: TemplateStore,
  ) {}

  /** Dongle B: the code goes back by SMS, so the screen only waits (an app SDK is told so in the ARes). */
  outOfBand(issuerId: number | undefined): boolean {
    return this.settings(issuerId).dongleAnswer === 'sms'
  }

  private request(subject: ChallengeSubject, sends: number): void {
    this.sms.enqueue({
      to: subject.mobile,
      text: this.templates.render(
        subject.issuerId,
        'dongle-request',
        subject.language,
        purchaseValues(subject),
      ),
      kind: 'dongle-request',
      priority: 0,
      idempotencyKey: `dongle:${subject.acsTransID}:${sends}`,
      ref: subject.acsTransID,
    })
  }

  private prompt(subject: ChallengeSubject, state: DongleState): Prompt {
    const t = TEXTS[subject.language] ?? TEXTS.en
    const to = maskMobile(subject.mobile)
    if (state.answer === 'sms')
      return {
        kind: 'oob',
        maskedDestination: to,
        instruction: t.sms(to, this.settings(subject.issuerId).replyNumber),
      }
    return {
      kind: 'code',
      codeLength: state.digits,
      maskedDestination: to,
      resendAvailable: false,
      instruction: t.entry,
    }
  }

  start(subject: ChallengeSubject, mode: ChallengeMode): Step {
    const token =
      subject.cardholderId === undefined ? undefined : this.dongles.dongleFor(subject.cardholderId)
    const answer = mode === 'decoupled' || this.outOfBand(subject.issuerId) ? 'sms' : 'entry'
    // Without a usable token the challenge still runs: every code fails the same way, nothing tells why.
    const state: DongleState = { mode, answer, digits: token?.digits ?? 8, sends: 0, wrong: 0, used: false }
    if (answer === 'sms') {
      state.sends = 1
      this.request(subject, 1)
    }
    return { state, prompt: this.prompt(subject, state) }
  }

  verify(subject: ChallengeSubject, raw: MethodState, input: string, source: AnswerSource): Verification {
    const state = raw as DongleState
    const opts = this.settings(subject.issuerId)
    if (state.used) return { outcome: 'failed', state }
    // A code entered where an SMS is expected (or the reverse) decides nothing.
    if ((state.answer === 'sms') !== (source === 'sms'))
      return { outcome: 'retry', state, prompt: this.prompt(subject, state) }
    if (source === 'sms' && parseReply(input).verdict === 'refuse')
      return { outcome: 'refused', state: { ...state, used: true } }
    const code = normaliseReply(input).replace(/ /g, '')
    const ok =
      subject.cardholderId !== undefined &&
      BARE_CODE.test(code) &&
      this.dongles.verifyDongleCode(subject.cardholderId, code, `acs:${subject.acsTransID}`).ok
    if (ok) return { outcome: 'success', state: { ...state, used: true } }
    const next = { ...state, wrong: state.wrong + 1 }
    if (next.wrong >= opts.maxAttempts) return { outcome: 'failed', state: { ...next, used: true } }
    return {
      outcome: 'retry',
      state: next,
      prompt: this.prompt(subject, next),
      notice: { kind: 'wrong-code', attemptsLeft: opts.maxAttempts - next.wrong },
    }
  }

  resend(subject: ChallengeSubject, raw: MethodState): Step {
    const state = raw as DongleState
    if (state.answer !== 'sms' || state.used || state.sends > this.settings(subject.issuerId).maxResends)
      return { state, prompt: this.prompt(subject, state) }
    const next = { ...state, sends: state.sends + 1 }
    this.request(subject, next.sends)
    return { state: next, prompt: this.prompt(subject, next), notice: { kind: 'code-resent' } }
  }

  /** Dongle B only: a bare token code or a refusal from the registered phone. */
  matchReply(raw: MethodState, text: string): ReplyMatch {
    const state = raw as DongleState
    if (state.answer !== 'sms') return 'no'
    if (parseReply(text).verdict === 'refuse') return 'fits'
    return BARE_CODE.test(normaliseReply(text).replace(/ /g, '')) ? 'fits' : 'no'
  }
}
