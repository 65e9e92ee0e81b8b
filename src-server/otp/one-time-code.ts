import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto'

/** Character sets for SMS codes (the Infobip pinType values). */
export const CODE_ALPHABETS = {
  NUMERIC: '0123456789',
  HEX: '0123456789ABCDEF',
  // Upper case only: codes are read off a phone screen and typed back; case adds errors, not much entropy.
  ALPHA: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  ALPHANUMERIC: '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ',
} as const
export type CodeAlphabet = keyof typeof CODE_ALPHABETS

export interface OneTimeCodePolicy {
  length: number
  alphabet: CodeAlphabet
  ttlMs: number
  maxAttempts: number
}

export const DEFAULT_CODE_POLICY: OneTimeCodePolicy = {
  length: 6,
  alphabet: 'NUMERIC',
  ttlMs: 5 * 60_000,
  maxAttempts: 3,
}

/**
 * What the caller stores for an issued code: never the code itself, only a keyed hash of it (HMAC-SHA-256 under
 * a key the caller holds), salted per record so two equal codes do not share a hash.
 */
export interface OneTimeCodeRecord {
  saltB64: string
  hashB64: string
  alphabet: CodeAlphabet
  length: number
  expiresAt: number
  attemptsLeft: number
  status: 'pending' | 'verified'
}

/** Terminal and non-terminal failure causes; map them to the API's pinError values at the edge. */
export type CodeError = 'WRONG_CODE' | 'EXPIRED' | 'NO_MORE_ATTEMPTS' | 'ALREADY_USED'

export interface CodeVerifyResult {
  verified: boolean
  record: OneTimeCodeRecord
  attemptsLeft: number
  error?: CodeError
}

const MIN_KEY_BYTES = 16

export function issueOneTimeCode(
  hashKey: Uint8Array,
  nowMs: number,
  policy: OneTimeCodePolicy = DEFAULT_CODE_POLICY,
): { code: string; record: OneTimeCodeRecord } {
  assertPolicy(policy)
  assertKey(hashKey)
  const chars = CODE_ALPHABETS[policy.alphabet]
  let code = ''
  // randomInt rejects biased draws, so every character is uniform over the alphabet.
  for (let i = 0; i < policy.length; i++) code += chars[randomInt(chars.length)]
  const salt = randomBytes(16)
  return {
    code,
    record: {
      saltB64: salt.toString('base64'),
      hashB64: codeHash(hashKey, salt, code).toString('base64'),
      alphabet: policy.alphabet,
      length: policy.length,
      expiresAt: nowMs + policy.ttlMs,
      attemptsLeft: policy.maxAttempts,
      status: 'pending',
    },
  }
}

/**
 * Checks a submitted code. Expiry and exhaustion are checked before the code is looked at, so a terminal record
 * answers a right and a wrong code identically; a verified record is single use.
 */
export function verifyOneTimeCode(
  record: OneTimeCodeRecord,
  submitted: string,
  hashKey: Uint8Array,
  nowMs: number,
): CodeVerifyResult {
  assertKey(hashKey)
  if (record.status === 'verified') return reject(record, 'ALREADY_USED')
  if (nowMs >= record.expiresAt) return reject(record, 'EXPIRED')
  if (record.attemptsLeft <= 0) return reject(record, 'NO_MORE_ATTEMPTS')

  const normalised = typeof submitted === 'string' ? submitted.trim().toUpperCase() : ''
  const expected = Buffer.from(record.hashB64, 'base64')
  const actual = codeHash(hashKey, Buffer.from(record.saltB64, 'base64'), normalised)
  const match = expected.length === actual.length && timingSafeEqual(expected, actual)
  if (match)
    return { verified: true, record: { ...record, status: 'verified' }, attemptsLeft: record.attemptsLeft }
  const attemptsLeft = record.attemptsLeft - 1
  return reject({ ...record, attemptsLeft }, attemptsLeft === 0 ? 'NO_MORE_ATTEMPTS' : 'WRONG_CODE')
}

function reject(record: OneTimeCodeRecord, error: CodeError): CodeVerifyResult {
  return { verified: false, record, attemptsLeft: Math.max(0, record.attemptsLeft), error }
}

function codeHash(key: Uint8Array, salt: Uint8Array, code: string): Buffer {
  return createHmac('sha256', key).update(salt).update(code, 'utf8').digest()
}

function assertKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length < MIN_KEY_BYTES) {
    throw new RangeError(`the code hash key must be at least ${MIN_KEY_BYTES} bytes`)
  }
}

function assertPolicy(policy: OneTimeCodePolicy): void {
  if (!(policy.alphabet in CODE_ALPHABETS)) throw new RangeError(`unknown code alphabet ${policy.alphabet}`)
  if (!Number.isInteger(policy.length) || policy.length < 4 || policy.length > 12) {
    throw new RangeError('a one-time code has 4 to 12 characters')
  }
  if (!(policy.ttlMs > 0)) throw new RangeError('a one-time code needs a positive time to live')
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new RangeError('a one-time code allows at least one attempt')
  }
}
