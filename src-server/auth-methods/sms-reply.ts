import { randomInt } from 'node:crypto'
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
import { newReference, parseReply } from './reply'
import type { EffectiveMethodSettings } from './settings'

/**
 * "SMS Push A": the cardholder approves by SMS. The challenge shows a short reference and the SMS asks
 * for `YES <ref>` (or `NO <ref>`); sending the reference alone, as the page shows it, also approves. Only
 * an SMS from the registered number that names this challenge's reference decides it: the page, the SDK
 * screen and any other phone can only wait. Runs as a browser or app OOB screen (acsUiType 04) and as
 * decoupled authentication.
 */
interface ReplyState extends MethodState {
  ref: string
  sends: number
  mode: ChallengeMode
}

const INSTRUCTION: Record<string, (ref: string, to: string) => string> = {
  en: (ref, to) =>
    `We sent a message to ${to}. Reply YES ${ref} to approve (or send ${ref}), or NO ${ref} to refuse. This page continues by itself once your reply arrives.`,
  fr: (ref, to) =>
    `Nous avons envoyé un message au ${to}. Répondez YES ${ref} pour valider (ou envoyez ${ref}), ou NO ${ref} pour refuser. Cette page continue d’elle-même dès réception de votre réponse.`,
  de: (ref, to) =>
    `Wir haben eine Nachricht an ${to} gesendet. Antworten Sie YES ${ref} zum Bestätigen (oder senden Sie ${ref}) oder NO ${ref} zum Ablehnen. Diese Seite geht nach Ihrer Antwort von selbst weiter.`,
}

export class SmsReplyMethod implements AuthenticationMethod {
  readonly name = 'sms-reply'
  readonly authenticationType = '03' as const
  readonly authValueMethod = 'oob-other' as const
  readonly modes = ['browser', 'app', 'decoupled'] as const

  constructor(
    private readonly sms: SmsService,
    private readonly settings: (issuerId: number | undefined) => EffectiveMethodSettings,
    private readonly templates: TemplateStore,
  ) {}

  private send(subject: ChallengeSubject, state: ReplyState): void {
    this.sms.enqueue({
      to: subject.mobile,
      text: this.templates.render(subject.issuerId, 'reply-request', subject.language, {
        ...purchaseValues(subject),
        ref: state.ref,
      }),
      kind: 'reply-request',
      priority: 0,
      idempotencyKey: `reply:${subject.acsTransID}:${state.sends}`,
      ref: subject.acsTransID,
    })
  }

  private prompt(subject: ChallengeSubject, state: ReplyState): Prompt {
    const to = maskMobile(subject.mobile)
    return {
      kind: 'oob',
      maskedDestination: to,
      reference: state.ref,
      instruction: (INSTRUCTION[subject.language] ?? INSTRUCTION.en)(state.ref, to),
    }
  }

  start(subject: ChallengeSubject, mode: ChallengeMode): Step {
    const ref = newReference(this.settings(subject.issuerId).referenceLength, randomInt)
    const state: ReplyState = { ref, sends: 1, mode }
    this.send(subject, state)
    return { state, prompt: this.prompt(subject, state) }
  }

  verify(subject: ChallengeSubject, raw: MethodState, input: string, source: AnswerSource): Verification {
    const state = raw as ReplyState
    // Nothing typed on the page or in the SDK can approve: only the registered phone's reply decides.
    if (source !== 'sms' || this.matchReply(state, input) !== 'names')
      return { outcome: 'retry', state, prompt: this.prompt(subject, state) }
    return parseReply(input).verdict === 'refuse'
      ? { outcome: 'refused', state }
      : { outcome: 'success', state }
  }

  resend(subject: ChallengeSubject, raw: MethodState): Step {
    const state = raw as ReplyState
    if (state.sends > this.settings(subject.issuerId).maxResends)
      return { state, prompt: this.prompt(subject, state) }
    const next = { ...state, sends: state.sends + 1 }
    this.send(subject, next)
    return { state: next, prompt: this.prompt(subject, next), notice: { kind: 'code-resent' } }
  }

  /** `YES <ref>`, `NO <ref>` or `<ref>` alone, for this challenge's reference; a bare YES names nothing. */
  matchReply(raw: MethodState, text: string): ReplyMatch {
    const state = raw as ReplyState
    return parseReply(text).reference === state.ref ? 'names' : 'no'
  }
}
