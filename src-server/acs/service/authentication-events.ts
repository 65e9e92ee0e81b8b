import type { Logger } from '../../log'
import { isolate, type Db } from '../../store/db'
import type { Challenge } from './challenge-store'

/**
 * One authentication of an enrolled card, as observers (the fraud notifier) learn about it: when the ARes
 * is final (frictionless, refused, attempts), and for challenged and decoupled ones when the challenge ends.
 * No PAN. Observers cannot change the answer, and their failures are logged, never passed to the cardholder
 * or the DS.
 */
export interface AuthenticationEvent {
  acsTransID: string
  issuerId: number
  cardId: number
  cardholderId?: number
  /** The card's status at the AReq ('active' unless the card or its cardholder is not). */
  cardStatus: string
  mobile: string | null
  language: string
  panMasked: string
  merchantName?: string
  purchaseAmount?: string
  purchaseCurrency?: string
  purchaseExponent?: string
  amountText?: string
  /** The final transStatus (the RReq's for challenges). */
  transStatus: string
  challenged: boolean
}

/**
 * The event of a challenge's ending: the card and purchase as the AReq gave them. `challenged`: whether the
 * cardholder was asked in a challenge (callers differ on decoupled ones).
 */
export function challengeEvent(
  ch: Challenge,
  transStatus: string,
  challenged: boolean,
  cardholderId = ch.context.cardholderId,
): AuthenticationEvent & { mobile: string } {
  const c = ch.context
  return {
    acsTransID: ch.acsTransID,
    issuerId: c.issuerId,
    cardId: c.cardId,
    cardholderId,
    cardStatus: 'active',
    mobile: ch.mobile,
    language: c.language,
    panMasked: c.panMasked,
    merchantName: c.merchantName,
    purchaseAmount: c.purchaseAmount,
    purchaseCurrency: c.purchaseCurrency,
    purchaseExponent: c.purchaseExponent,
    amountText: c.amountText,
    transStatus,
    challenged,
  }
}

/**
 * Emitted inside the transaction that records the result, so what observers write (the fraud alert and its
 * SMS) commits with the authentication or not at all: a crash can never leave an authentication whose
 * notification was lost. Each observer is isolated (db.ts `isolate`), so a failing one is rolled back alone.
 */
export class AuthenticationEvents {
  private readonly observers: ((e: AuthenticationEvent) => void)[] = []

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  on(observer: (e: AuthenticationEvent) => void): void {
    this.observers.push(observer)
  }

  /** Call inside the transaction that records the authentication's result. */
  emit(e: AuthenticationEvent): void {
    for (const observe of this.observers)
      isolate(
        this.db,
        () => observe(e),
        (err) => this.log.error({ err, acsTransID: e.acsTransID }, 'authentication observer failed'),
      )
  }
}
