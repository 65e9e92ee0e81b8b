import type { Brand, EciStatus } from './eci'

/**
 * One interface for every scheme's authentication value (Visa CAVV, Mastercard SPA2 AAV, other brands),
 * selected per card range: the scheme's exact input set has to be confirmed in scheme testing, so the
 * algorithm is configuration, not code paths.
 */
export type AuthMethod =
  | 'static-passcode'
  | 'sms-otp'
  | 'hardware-otp'
  | 'app-otp'
  | 'other-otp'
  | 'kba'
  | 'oob-biometric'
  | 'oob-app'
  | 'oob-other'
  | 'other'
  | 'frictionless-rba-review'
  | 'attempts'
  | 'frictionless-rba'

export interface AuthValueInput {
  pan: string
  transStatus: EciStatus
  messageCategory: string
  method: AuthMethod
  dsTransID: string
  merchantName?: string
  /** Minor units, as in the AReq. */
  purchaseAmount?: string
  purchaseCurrency?: string
  /** Authentication tracking number (16 digits); generated when absent. */
  atn?: string
}

export interface AuthValue {
  /** Base64, 28 characters. */
  authenticationValue: string
  eci?: string
}

export interface AuthValueGenerator {
  readonly name: string
  readonly brand: Brand
  generate(input: AuthValueInput): AuthValue
}

/** A card range (inclusive PAN prefixes of equal length) and the generator configured for it. */
export interface CardRangeGenerator {
  low: string
  high: string
  generator: AuthValueGenerator
}

/** Picks the generator of the most specific card range containing the PAN. */
export function generatorForPan(
  ranges: readonly CardRangeGenerator[],
  pan: string,
): AuthValueGenerator | undefined {
  let best: CardRangeGenerator | undefined
  for (const r of ranges) {
    const prefix = pan.slice(0, r.low.length)
    if (prefix >= r.low && prefix <= r.high && (!best || r.low.length > best.low.length)) best = r
  }
  return best?.generator
}
