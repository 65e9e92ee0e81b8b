import type { Logger } from '../../log'

/**
 * One authentication of an enrolled card, as observers (the fraud notifier) learn about it: when the ARes
 * is final (frictionless, refused, attempts) right after it is committed, and for challenged and decoupled
 * ones when the challenge ends. No PAN. Observers cannot change the answer, and their failures are logged,
 * never passed to the cardholder or the DS.
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

export class AuthenticationEvents {
  private readonly observers: ((e: AuthenticationEvent) => void)[] = []

  constructor(private readonly log: Logger) {}

  on(observer: (e: AuthenticationEvent) => void): void {
    this.observers.push(observer)
  }

  emit(e: AuthenticationEvent): void {
    for (const observe of this.observers) {
      try {
        observe(e)
      } catch (err) {
        this.log.error({ err, acsTransID: e.acsTransID }, 'authentication observer failed')
      }
    }
  }
}
