import type { AuthenticationMethod } from './method'

export interface MethodChoice {
  method: AuthenticationMethod
  /** The cardholder's own method when another one runs instead. */
  fallbackFrom?: string
  /** Says which method runs and why, when it is not the cardholder's own (for the ledger and logs). */
  note?: string
}

/**
 * The method that challenges a card: the cardholder's own, or its fallback when the own one cannot reach the
 * cardholder now (a mobile signature without an active authenticator falls back to SMS OTP), so nobody is
 * left waiting on a phone that will never hear of the payment. Undefined when no method can be used: the
 * method is unknown here, there is no mobile number, or neither the method nor its fallback is available.
 */
export function chooseMethod(
  methods: ReadonlyMap<string, AuthenticationMethod>,
  card: { method: string; mobile: string | null; cardId: number },
): MethodChoice | undefined {
  const own = methods.get(card.method)
  if (!own || !card.mobile) return undefined
  const available = (m: AuthenticationMethod) => m.availableFor?.(card) ?? true
  if (available(own)) return { method: own }
  const fallback = own.fallback === undefined ? undefined : methods.get(own.fallback)
  if (!fallback || !available(fallback)) return undefined
  return {
    method: fallback,
    fallbackFrom: own.name,
    note: `${own.name} cannot reach the cardholder now: ${fallback.name} instead`,
  }
}
