import type { ApprovalService } from '../mobile/approvals'
import { maskMobile } from './sms-otp'
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
 * "Mobile Signature": the cardholder approves in the bank's authenticator (docs/mobile-authenticator.md),
 * which signs the transaction with a device-bound ECDSA key. The decision never comes through the page or
 * the SDK: the authenticator posts it to the mobile API, which checks the signature and ends the challenge
 * through the ACS flow (or the channel API's request, for MOTO / EDC / ECOM). Here the method only opens the
 * approval request and shows the waiting screen.
 */
interface ApprovalState extends MethodState {
  approvalId: string
  poiId: string
}

const SCAN: Record<string, { alt: string; caption: string }> = {
  en: { alt: 'QR code of this payment', caption: 'Or scan this code with your authenticator.' },
  fr: { alt: 'Code QR de ce paiement', caption: 'Ou scannez ce code avec votre authentificateur.' },
  de: { alt: 'QR-Code dieser Zahlung', caption: 'Oder scannen Sie diesen Code mit Ihrem Authenticator.' },
}

const INSTRUCTION: Record<string, string> = {
  en: 'Open your bank’s authenticator on your phone and approve this payment.',
  fr: 'Ouvrez l’authentificateur de votre banque sur votre téléphone et validez ce paiement.',
  de: 'Öffnen Sie den Authenticator Ihrer Bank auf Ihrem Telefon und bestätigen Sie diese Zahlung.',
}

export class MobileSignatureMethod implements AuthenticationMethod {
  readonly name = 'mobile-signature'
  /** Out-of-band (03); the ACS reports decoupled ones as 04 itself. */
  readonly authenticationType = '03' as const
  readonly authValueMethod = 'oob-app' as const
  readonly modes = ['browser', 'app', 'decoupled'] as const
  readonly decidedElsewhere = true
  /** A cardholder without an active authenticator gets a code by SMS instead of waiting for nothing. */
  readonly fallback = 'sms-otp'

  constructor(
    private readonly approvals: ApprovalService,
    /** Whether an active (not revoked) authenticator is bound to the card. */
    private readonly hasAuthenticator: (cardId: number) => boolean,
  ) {}

  availableFor(card: { cardId: number }): boolean {
    return this.hasAuthenticator(card.cardId)
  }

  /** The waiting screen, with the payment screen's rotating QR code (scanning it binds the approval). */
  private prompt(subject: ChallengeSubject, state: MethodState): Prompt {
    const { poiId } = state as ApprovalState
    return {
      kind: 'oob',
      maskedDestination: maskMobile(subject.mobile),
      instruction: INSTRUCTION[subject.language] ?? INSTRUCTION.en,
      screen: {
        stateUrl: `/poi/${poiId}/state`,
        pageUrl: `/poi/${poiId}`,
        ...(SCAN[subject.language] ?? SCAN.en),
      },
    }
  }

  start(subject: ChallengeSubject, mode: ChallengeMode): Step {
    const state: ApprovalState = this.approvals.open(subject, mode)
    return { state, prompt: this.prompt(subject, state) }
  }

  /**
   * Whatever is typed on the page or posted by the SDK decides nothing: only a signed decision from the
   * authenticator does. The waiting screen is shown again, without counting an attempt against anyone.
   */
  verify(subject: ChallengeSubject, state: MethodState): Verification {
    return { outcome: 'retry', state, prompt: this.prompt(subject, state) }
  }

  resend(subject: ChallengeSubject, state: MethodState): Step {
    return { state, prompt: this.prompt(subject, state) }
  }
}
