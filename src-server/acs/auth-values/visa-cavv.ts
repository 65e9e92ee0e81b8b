import { randomInt } from 'node:crypto'
import { CvvKeys } from './cvv'
import { eciFor, type EciStatus } from './eci'
import type { AuthMethod, AuthValueGenerator, AuthValueInput } from './strategy'

/**
 * Visa CAVV, usage 3 / version 0 layout (20 bytes) as quoted in pablom/go-cavv visa_cavv.go:
 * results code ‖ second factor ‖ key indicator ‖ CAVV output (3 BCD digits) ‖ last 4 ATN digits ‖ ATN
 * (16 BCD digits) ‖ version/action ‖ IP (zero-filled). Whether VCAS expects this layout or "CAVV v7" must
 * be confirmed during certification, hence the strategy.
 */
const RESULTS_CODE: Record<EciStatus, string> = { Y: '0', U: '5', N: '9', R: '9', A: '7' }

export const SECOND_FACTOR: Record<AuthMethod, string> = {
  'static-passcode': '01',
  'sms-otp': '02',
  'hardware-otp': '03',
  'app-otp': '04',
  'other-otp': '05',
  kba: '06',
  'oob-biometric': '07',
  'oob-app': '08',
  'oob-other': '09',
  other: '10',
  'frictionless-rba-review': '97',
  attempts: '98',
  'frictionless-rba': '99',
}

export interface CvkPair {
  a: Uint8Array
  b: Uint8Array
}

export interface VisaCavvConfig {
  /** "01" or "02" for a standard ACS; selects the CVK pair. */
  keyIndicator: string
  /** Key lookup by indicator (from the keystore; never logged). */
  keys: (keyIndicator: string) => CvkPair
  /** Version/action byte (confirm with Visa). */
  versionAction?: number
}

/** Writes decimal digits as BCD into `out` at `offset` (an odd count gets a leading zero); returns the next offset. */
function putBcd(out: Buffer, offset: number, digits: string): number {
  const even = digits.length % 2 ? '0' + digits : digits
  for (let i = 0; i < even.length; i += 2)
    out[offset++] = ((even.charCodeAt(i) - 48) << 4) | (even.charCodeAt(i + 1) - 48)
  return offset
}

/** 16 uniformly random digits, drawn eight at a time (randomInt's range stops below 2^48). */
export function randomAtn(): string {
  const eight = () => String(randomInt(100_000_000)).padStart(8, '0')
  return eight() + eight()
}

const cvvKeysOf = (config: VisaCavvConfig) => {
  const { a, b } = config.keys(config.keyIndicator)
  return new CvvKeys(a, b)
}

/** `cvk`: the configured pair made ready once, when the caller computes many values with it. */
export function visaCavvBytes(
  input: AuthValueInput,
  config: VisaCavvConfig,
  cvk: CvvKeys = cvvKeysOf(config),
): Buffer {
  if (!/^\d{2}$/.test(config.keyIndicator)) throw new RangeError('key indicator must be 2 digits')
  const atn = input.atn ?? randomAtn()
  if (!/^\d{16}$/.test(atn)) throw new RangeError('ATN must be 16 digits')
  const results = RESULTS_CODE[input.transStatus]
  const factor = SECOND_FACTOR[input.method]
  const cvv = cvk.cvv(input.pan, atn.slice(-4), results + factor)
  const out = Buffer.alloc(20) // the last four bytes (IP) stay zero
  let at = putBcd(out, 0, results)
  at = putBcd(out, at, factor)
  at = putBcd(out, at, config.keyIndicator)
  at = putBcd(out, at, cvv.padStart(4, '0'))
  at = putBcd(out, at, atn.slice(-4))
  at = putBcd(out, at, atn)
  out[at] = config.versionAction ?? 0
  return out
}

export function visaCavvGenerator(config: VisaCavvConfig): AuthValueGenerator {
  let cvk: CvvKeys | undefined
  return {
    name: 'visa-cavv-usage3',
    brand: 'visa',
    generate: (input) => ({
      authenticationValue: visaCavvBytes(input, config, (cvk ??= cvvKeysOf(config))).toString('base64'),
      eci: eciFor('visa', input.transStatus, input.messageCategory),
    }),
  }
}
