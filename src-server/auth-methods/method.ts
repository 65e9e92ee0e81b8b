import type { AuthenticationType } from '../acs/protocol/ares'
import type { AuthMethod as AuthValueMethod } from '../acs/auth-values/strategy'

/**
 * The one interface every cardholder authentication method plugs into (SMS OTP now; SMS reply, OATH
 * dongle and mobile signature later). A method is pure over a JSON state the ACS stores with the challenge,
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
  merchantName?: string
  /** e.g. "EUR 12.34". */
  amountText?: string
}

/** What the cardholder is shown: a code entry (acsUiType 01) or an out-of-band wait (acsUiType 04). */
export type Prompt =
  | { kind: 'code'; codeLength: number; maskedDestination: string; resendAvailable: boolean }
  | { kind: 'oob'; maskedDestination: string; screen?: ScreenPanel }

/**
 * A payment screen's rotating QR code on the out-of-band page (mobile signature): the page shows the code
 * from `stateUrl` (GET, JSON, long poll) and continues by itself once the cardholder decided.
 */
export interface ScreenPanel {
  stateUrl: string
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
  /** The cardholder said no (decoupled reply). */
  | { outcome: 'refused'; state: MethodState }

export interface AuthenticationMethod {
  readonly name: string
  /** ARes/RReq authenticationType. */
  readonly authenticationType: AuthenticationType
  /** Second-factor code used in the authentication value. */
  readonly authValueMethod: AuthValueMethod
  readonly modes: readonly ChallengeMode[]
  /** Sends or shows the first challenge. */
  start(subject: ChallengeSubject, mode: ChallengeMode): Step
  /** Checks what the cardholder entered (browser/app) or replied (decoupled). */
  verify(subject: ChallengeSubject, state: MethodState, input: string): Verification
  /** Sends a new challenge when the limit allows; otherwise returns the current prompt unchanged. */
  resend(subject: ChallengeSubject, state: MethodState): Step
}
