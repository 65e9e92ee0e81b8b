import { createHmac } from 'node:crypto'

/** The OATH hash functions RFC 6238 allows (RFC 4226 HOTP is SHA-1 only, but tokens ship all three). */
export type OathAlgorithm = 'SHA1' | 'SHA256' | 'SHA512'

export interface OathParams {
  algorithm: OathAlgorithm
  /** 6–8 decimal digits: below 6 is guessable, above 8 exceeds the 31-bit dynamic truncation. */
  digits: number
}

export interface TotpParams extends OathParams {
  /** Time-step length X in seconds (RFC 6238 default 30). */
  period: number
  /** Unix time T0 in seconds at which step 0 starts (RFC 6238 default 0). */
  t0: number
}

const HMAC_NAMES: Record<OathAlgorithm, string> = { SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' }
const POWERS = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000]

export function assertOathParams(params: OathParams): void {
  if (!(params.algorithm in HMAC_NAMES))
    throw new RangeError(`unknown OATH algorithm ${String(params.algorithm)}`)
  if (!Number.isInteger(params.digits) || params.digits < 6 || params.digits > 8) {
    throw new RangeError(`an OATH code has 6 to 8 digits, not ${params.digits}`)
  }
}

/** RFC 4226 HOTP value for one counter: HMAC over the 8-byte big-endian counter, dynamic truncation. */
export function hotp(secret: Uint8Array, counter: number, params: OathParams): string {
  assertCounter(counter)
  assertOathParams(params)
  return String(truncatedValue(secret, counter, params, Buffer.alloc(8))).padStart(params.digits, '0')
}

/** RFC 6238 time step T = floor((unixSeconds - T0) / X). */
export function timeStep(unixSeconds: number, params: Pick<TotpParams, 'period' | 't0'>): number {
  return Math.floor((unixSeconds - params.t0) / params.period)
}

export function totp(secret: Uint8Array, unixSeconds: number, params: TotpParams): string {
  return hotp(secret, timeStep(unixSeconds, params), params)
}

/**
 * Returns every counter in `from .. from + count - 1` whose code equals the submitted one (normally zero or one;
 * two only on a truncation collision). Every candidate is computed and compared, match or not, and codes are
 * compared as integers (one machine comparison, no early exit on the first differing digit), so the time taken
 * does not reveal where, whether or how nearly the code matched.
 */
export function matchingCounters(
  secret: Uint8Array,
  submitted: string,
  from: number,
  count: number,
  params: OathParams,
): number[] {
  assertOathParams(params)
  // The format check only looks at public facts (length, digits), not at the expected code.
  if (submitted.length !== params.digits || !/^[0-9]+$/.test(submitted)) return []
  const wanted = Number(submitted)
  const message = Buffer.alloc(8)
  const matches: number[] = []
  for (let c = Math.max(0, from); c < from + count; c++) {
    if (truncatedValue(secret, c, params, message) === wanted) matches.push(c)
  }
  return matches
}

/** The decimal code for `counter` as a number (dynamic truncation mod 10^digits); `message` is scratch space. */
function truncatedValue(secret: Uint8Array, counter: number, params: OathParams, message: Buffer): number {
  message.writeUInt32BE(Math.floor(counter / 0x1_0000_0000), 0)
  message.writeUInt32BE(counter >>> 0, 4)
  const mac = createHmac(HMAC_NAMES[params.algorithm], secret).update(message).digest()
  const offset = mac[mac.length - 1] & 0x0f
  return (mac.readUInt32BE(offset) & 0x7fff_ffff) % POWERS[params.digits]
}

function assertCounter(counter: number): void {
  if (!Number.isSafeInteger(counter) || counter < 0)
    throw new RangeError('HOTP counter must be a non-negative integer')
}
