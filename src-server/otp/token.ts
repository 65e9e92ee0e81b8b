import { assertOathParams, matchingCounters, timeStep, type OathAlgorithm } from './oath'

/** What an OATH token is: the seed and how it turns into codes. Stored encrypted by the caller. */
export type OathToken =
  | { kind: 'hotp'; secret: Uint8Array; algorithm: OathAlgorithm; digits: number }
  | { kind: 'totp'; secret: Uint8Array; algorithm: OathAlgorithm; digits: number; period: number; t0: number }

/**
 * The mutable part of a token, persisted by the caller after every verification (this module never stores
 * anything). Times are epoch milliseconds.
 */
export interface TokenState {
  /** HOTP: the next counter the token is expected to show (one past the last accepted). */
  counter: number
  /** TOTP: the token clock's offset from ours, in time steps, as last observed. */
  driftSteps: number
  /** TOTP: the last accepted time step; any step at or below it is a replay (RFC 6238 §5.2). */
  lastTimeStep: number | null
  failCount: number
  lockedUntil: number | null
  /** HOTP auto-resync: a code found in the sync window, waiting for its successor. */
  pendingResync: { counter: number; at: number } | null
}

export interface VerifyPolicy {
  /** HOTP look-ahead on normal verification (privacyIDEA DefaultCountWindow). */
  hotpWindow: number
  /** HOTP resync look-ahead (privacyIDEA DefaultSyncWindow). */
  syncWindow: number
  /** Accept two consecutive out-of-window codes as a resync during normal verification. */
  autoResync: boolean
  /** The second resync code must arrive within this many seconds of the first. */
  resyncTimeoutS: number
  /** TOTP: steps accepted either side of the drift-corrected current step. */
  totpWindowSteps: number
  /** Failures in a row that lock the token. */
  maxFails: number
  /** How long a lock lasts before the fail counter clears by itself. */
  lockSeconds: number
}

export const DEFAULT_POLICY: VerifyPolicy = {
  hotpWindow: 10,
  syncWindow: 1000,
  autoResync: true,
  resyncTimeoutS: 300,
  totpWindowSteps: 2,
  maxFails: 10,
  lockSeconds: 600,
}

/**
 * Why a verification ended as it did. For the audit log only: the caller shows one generic message for every
 * rejected outcome, so a locked token answers a right code and a wrong one identically.
 *
 * Effect on the token's fail counter: ok / resynced → reset to 0; wrong-code, replayed, resync-pending (the first
 * of two resync codes) and malformed → +1, locking the token at maxFails; locked → unchanged (the code is not
 * even looked at). The lock clears itself lockSeconds after it was set.
 */
export type VerifyReason =
  'ok' | 'resynced' | 'wrong-code' | 'replayed' | 'resync-pending' | 'locked' | 'malformed'

export interface VerifyResult {
  accepted: boolean
  /** The state to persist (always, also on rejection: fail counters and locks live here). */
  state: TokenState
  audit: { reason: VerifyReason; failCount: number; lockedUntil: number | null }
}

export function newTokenState(init: Partial<Pick<TokenState, 'counter'>> = {}): TokenState {
  return {
    counter: init.counter ?? 0,
    driftSteps: 0,
    lastTimeStep: null,
    failCount: 0,
    lockedUntil: null,
    pendingResync: null,
  }
}

export function assertToken(token: OathToken): void {
  assertOathParams(token)
  if (token.secret.length < 1) throw new RangeError('an OATH token needs a secret')
  if (token.kind === 'totp' && !(Number.isInteger(token.period) && token.period > 0)) {
    throw new RangeError('a TOTP period is a positive whole number of seconds')
  }
}

/** Verifies a code against an HOTP or TOTP token and returns the state to persist. */
export function verifyCode(
  token: OathToken,
  state: TokenState,
  submitted: string,
  nowMs: number,
  policy: VerifyPolicy = DEFAULT_POLICY,
): VerifyResult {
  const open = clearExpiredLock(state, nowMs)
  // A locked token does not look at the code at all: right or wrong, the answer is the same.
  if (open.lockedUntil !== null) return outcome(false, open, 'locked')
  if (!isWellFormed(submitted, token.digits)) return fail(open, 'malformed', nowMs, policy)
  return token.kind === 'hotp'
    ? verifyHotp(token, open, submitted, nowMs, policy)
    : verifyTotp(token, open, submitted, nowMs, policy)
}

/**
 * Explicit HOTP resynchronisation (an operator or user enters two consecutive codes): finds otp1 in the sync
 * window and requires otp2 at the next counter. Respects the lock: unlocking is a separate, audited action.
 */
export function resyncHotp(
  token: Extract<OathToken, { kind: 'hotp' }>,
  state: TokenState,
  otp1: string,
  otp2: string,
  nowMs: number,
  policy: VerifyPolicy = DEFAULT_POLICY,
): VerifyResult {
  const open = clearExpiredLock(state, nowMs)
  if (open.lockedUntil !== null) return outcome(false, open, 'locked')
  if (!isWellFormed(otp1, token.digits) || !isWellFormed(otp2, token.digits)) {
    return fail(open, 'malformed', nowMs, policy)
  }
  const firsts = matchingCounters(token.secret, otp1, open.counter, policy.syncWindow, token)
  for (const c of firsts) {
    if (matchingCounters(token.secret, otp2, c + 1, 1, token).length === 1) {
      return succeed({ ...open, counter: c + 2 }, 'resynced')
    }
  }
  return fail(open, 'wrong-code', nowMs, policy)
}

/**
 * Explicit TOTP resynchronisation for a token whose clock has drifted beyond the verification window: finds
 * otp1 at some step within ±`syncSteps` of our clock and otp2 at the step after it, then stores the token's
 * offset and that second step as the last one used (so neither code can be replayed). Respects the lock.
 */
export function resyncTotp(
  token: Extract<OathToken, { kind: 'totp' }>,
  state: TokenState,
  otp1: string,
  otp2: string,
  nowMs: number,
  syncSteps: number,
  policy: VerifyPolicy = DEFAULT_POLICY,
): VerifyResult {
  const open = clearExpiredLock(state, nowMs)
  if (open.lockedUntil !== null) return outcome(false, open, 'locked')
  if (!isWellFormed(otp1, token.digits) || !isWellFormed(otp2, token.digits)) {
    return fail(open, 'malformed', nowMs, policy)
  }
  const clockStep = timeStep(nowMs / 1000, token)
  const firsts = matchingCounters(token.secret, otp1, clockStep - syncSteps, 2 * syncSteps + 1, token)
  for (const s of firsts) {
    const second = s + 1
    const fresh = open.lastTimeStep === null || s > open.lastTimeStep
    if (fresh && matchingCounters(token.secret, otp2, second, 1, token).length === 1) {
      return succeed({ ...open, lastTimeStep: second, driftSteps: second - clockStep }, 'resynced')
    }
  }
  return fail(open, 'wrong-code', nowMs, policy)
}

/** Administrative unlock: clears the fail counter and the lock. */
export function unlockToken(state: TokenState): TokenState {
  return { ...state, failCount: 0, lockedUntil: null }
}

function verifyHotp(
  token: Extract<OathToken, { kind: 'hotp' }>,
  state: TokenState,
  submitted: string,
  nowMs: number,
  policy: VerifyPolicy,
): VerifyResult {
  // Counters below state.counter were used or skipped: never scanned, so never accepted again.
  const [match] = matchingCounters(token.secret, submitted, state.counter, policy.hotpWindow, token)
  if (match !== undefined) return succeed({ ...state, counter: match + 1 }, 'ok')
  if (!policy.autoResync) return fail(state, 'wrong-code', nowMs, policy)

  const syncFrom = state.counter + policy.hotpWindow
  const [far] = matchingCounters(
    token.secret,
    submitted,
    syncFrom,
    policy.syncWindow - policy.hotpWindow,
    token,
  )
  if (far === undefined) return fail(state, 'wrong-code', nowMs, policy)
  const pending = state.pendingResync
  if (pending && far === pending.counter + 1 && nowMs - pending.at <= policy.resyncTimeoutS * 1000) {
    return succeed({ ...state, counter: far + 1 }, 'resynced')
  }
  // The first of two resync codes still fails authentication: one far-ahead code alone proves little.
  return fail({ ...state, pendingResync: { counter: far, at: nowMs } }, 'resync-pending', nowMs, policy)
}

function verifyTotp(
  token: Extract<OathToken, { kind: 'totp' }>,
  state: TokenState,
  submitted: string,
  nowMs: number,
  policy: VerifyPolicy,
): VerifyResult {
  const clockStep = timeStep(nowMs / 1000, token)
  const centre = clockStep + state.driftSteps
  const width = policy.totpWindowSteps
  const matches = matchingCounters(token.secret, submitted, centre - width, 2 * width + 1, token)
  const fresh = matches.filter((s) => state.lastTimeStep === null || s > state.lastTimeStep)
  if (fresh.length === 0) return fail(state, matches.length > 0 ? 'replayed' : 'wrong-code', nowMs, policy)
  // Of several fresh matches (a truncation collision), the one nearest the expected step is the likely one.
  const step = fresh.reduce((best, s) => (Math.abs(s - centre) < Math.abs(best - centre) ? s : best))
  return succeed({ ...state, lastTimeStep: step, driftSteps: step - clockStep }, 'ok')
}

function isWellFormed(code: string, digits: number): boolean {
  return typeof code === 'string' && code.length === digits && /^[0-9]+$/.test(code)
}

function clearExpiredLock(state: TokenState, nowMs: number): TokenState {
  if (state.lockedUntil !== null && nowMs >= state.lockedUntil) return unlockToken(state)
  return state
}

function succeed(state: TokenState, reason: VerifyReason): VerifyResult {
  return outcome(true, { ...state, failCount: 0, pendingResync: null }, reason)
}

function fail(state: TokenState, reason: VerifyReason, nowMs: number, policy: VerifyPolicy): VerifyResult {
  const failCount = state.failCount + 1
  const lockedUntil = failCount >= policy.maxFails ? nowMs + policy.lockSeconds * 1000 : state.lockedUntil
  return outcome(false, { ...state, failCount, lockedUntil }, reason)
}

function outcome(accepted: boolean, state: TokenState, reason: VerifyReason): VerifyResult {
  return { accepted, state, audit: { reason, failCount: state.failCount, lockedUntil: state.lockedUntil } }
}
