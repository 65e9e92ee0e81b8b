import type { AuthenticationType } from '../acs/protocol/ares'
import type { AuthMethod as AuthValueMethod } from '../acs/auth-values/strategy'

/**
 * The one interface every cardholder authentication method plugs into (SMS OTP, SMS reply, OATH dongle;
 * mobile signature later). A method keeps its state in a JSON object the ACS stores with the challenge,
 * so a challenge survives a restart; it never sees the channel (browser page, SDK screen, decoupled), only
 * what it must show or send and what the cardholder answered.
 */
export type ChallengeMode = 'browser' | 'app' | 'decoupled'

/** What a method knows about the authentication it runs. No PAN: only its mask. */
export interface ChallengeSubject {
  acsTransID: string
  mobile: string
  language: string
  panMasked: string
  /** The issuer (templates, per-issuer code settings). */
  issuerId?: number
  /** The cardholder (their dongle); absent on challenges stored before it was recorded. */
  cardholderId?: number
  merchantName?: string
  /** e.g. "EUR 12.34". */
  amountText?: string
  /**
   * Set for an authentication request of the channel API (MOTO, EDC, ECOM): `acsTransID` then holds the
   * request's id, not a 3-D Secure transaction's.
   */
  channel?: 'MOTO' | 'EDC' | 'ECOM'
}

/**
 * What the cardholder is shown: a code entry (acsUiType 01) or an out-of-band wait (acsUiType 04).
 * `instruction` (in the subject's language) replaces the page's generic line when the method has
 * something more precise to say ("Enter the code shown on your token", "Reply YES K7QD").
 */
export type Prompt =
  | {
      kind: 'code'
      codeLength: number
      maskedDestination: string
      resendAvailable: boolean
      instruction?: string
    }
  | { kind: 'oob'; maskedDestination: string; instruction?: string; reference?: string; screen?: ScreenPanel }

/**
 * A payment screen's rotating QR code on the out-of-band page (mobile signature): the page shows the code
 * from `stateUrl` (GET, JSON, long poll) and continues by itself once the cardholder decided.
 */
export interface ScreenPanel {
  stateUrl: string
  /** The screen's own page (a shop terminal or call-centre desk shows it); absent on older challenges. */
  pageUrl?: string
  /** Alternative text of the code and the line under it, in the cardholder's language. */
  alt: string
  caption: string
}

export type Notice =
  { kind: 'wrong-code'; attemptsLeft: number } | { kind: 'code-resent' } | { kind: 'code-expired' }

export type MethodState = Record<string, unknown>

export interface Step {
  state: MethodState
  prompt: Prompt
  notice?: Notice
}

export type Verification =
  | { outcome: 'success'; state: MethodState }
  /** Wrong or expired input with attempts left: show the prompt again with the notice. */
  | ({ outcome: 'retry' } & Step)
  /** No attempts left. */
  | { outcome: 'failed'; state: MethodState }
  /** The cardholder said no (an SMS reply). */
  | { outcome: 'refused'; state: MethodState }

/** Where an answer came from: typed on the challenge page / SDK screen, or an SMS from the registered number. */
export type AnswerSource = 'entry' | 'sms'

/**
 * How an incoming SMS relates to a challenge of its sender: `names` when it carries the challenge's own
 * reference, `fits` when it has the right shape but names nothing (a bare code), `no` otherwise.
 */
export type ReplyMatch = 'names' | 'fits' | 'no'

export interface AuthenticationMethod {
  readonly name: string
  /** ARes/RReq authenticationType. */
  readonly authenticationType: AuthenticationType
  /** Second-factor code used in the authentication value. */
  readonly authValueMethod: AuthValueMethod
  readonly modes: readonly ChallengeMode[]
  /** Sends or shows the first challenge. */
  start(subject: ChallengeSubject, mode: ChallengeMode): Step
  /** Checks what the cardholder entered or replied by SMS. */
  verify(subject: ChallengeSubject, state: MethodState, input: string, source: AnswerSource): Verification
  /** Sends a new challenge when the limit allows; otherwise returns the current prompt unchanged. */
  resend(subject: ChallengeSubject, state: MethodState): Step
  /**
   * Whether the issuer's challenges of this method wait for an answer outside the challenge screen (an SMS
   * reply), so the app channel announces the native out-of-band template. Left out: as `authenticationType`
   * says (03 out of band, else a code typed on the screen).
   */
  outOfBand?(issuerId: number | undefined): boolean
  /**
   * Whether an SMS from the cardholder's registered number answers this challenge. Methods that take no
   * SMS answers leave it out. Must not change anything: the ACS asks every pending challenge of the sender.
   */
  matchReply?(state: MethodState, text: string): ReplyMatch
  /**
   * The cardholder decides in another application (the mobile authenticator), which ends the authentication
   * itself: nothing typed, posted or replied by SMS is an answer. Channels show a waiting screen.
   */
  readonly decidedElsewhere?: boolean
  /**
   * Whether the method can reach this card's holder now (the mobile signature needs an active
   * authenticator). Methods that always can leave it out.
   */
  availableFor?(card: { cardId: number }): boolean
  /** The method that challenges instead when `availableFor` says no (SMS OTP for the mobile signature). */
  readonly fallback?: string
}
