import { describe, expect, it } from 'vitest'
import { hotp, totp } from './oath'
import {
  DEFAULT_POLICY,
  newTokenState,
  resyncHotp,
  resyncTotp,
  unlockToken,
  verifyCode,
  type OathToken,
} from './token'

const SECRET = Buffer.from('3132333435363738393031323334353637383930', 'hex')
const HOTP: OathToken = { kind: 'hotp', secret: SECRET, algorithm: 'SHA1', digits: 6 }
const TOTP: OathToken = { kind: 'totp', secret: SECRET, algorithm: 'SHA1', digits: 8, period: 30, t0: 0 }
const code = (c: number) => hotp(SECRET, c, HOTP)
const totpAt = (unixS: number) => totp(SECRET, unixS, { ...TOTP, period: 30, t0: 0 })
const NOW = 1_700_000_000_000

describe('HOTP verification', () => {
  it('accepts the RFC 4226 codes in order and stores the counter past the match', () => {
    let state = newTokenState()
    for (let c = 0; c < 10; c++) {
      const r = verifyCode(HOTP, state, code(c), NOW)
      expect(r.accepted).toBe(true)
      expect(r.state.counter).toBe(c + 1)
      state = r.state
    }
  })

  it('accepts inside the look-ahead window of 10 and rejects just past it', () => {
    const state = newTokenState({ counter: 100 })
    expect(verifyCode(HOTP, state, code(109), NOW).state.counter).toBe(110)
    const past = verifyCode(HOTP, state, code(110), NOW, { ...DEFAULT_POLICY, autoResync: false })
    expect(past.accepted).toBe(false)
    expect(past.audit.reason).toBe('wrong-code')
  })

  it('never accepts a counter at or below the stored one (replay)', () => {
    const first = verifyCode(HOTP, newTokenState({ counter: 5 }), code(5), NOW)
    expect(first.accepted).toBe(true)
    const again = verifyCode(HOTP, first.state, code(5), NOW)
    expect(again.accepted).toBe(false)
    expect(verifyCode(HOTP, first.state, code(4), NOW).accepted).toBe(false)
  })

  it('auto-resyncs with two consecutive codes inside the sync window within 300 s', () => {
    const state = newTokenState({ counter: 0 })
    const first = verifyCode(HOTP, state, code(950), NOW)
    expect(first.accepted).toBe(false)
    expect(first.audit.reason).toBe('resync-pending')
    const second = verifyCode(HOTP, first.state, code(951), NOW + 299_000)
    expect(second.accepted).toBe(true)
    expect(second.audit.reason).toBe('resynced')
    expect(second.state.counter).toBe(952)
    expect(second.state.failCount).toBe(0)
  })

  it('does not resync on one far code alone, on non-consecutive codes, or after 300 s', () => {
    const first = verifyCode(HOTP, newTokenState(), code(500), NOW)
    expect(verifyCode(HOTP, first.state, code(502), NOW + 1000).accepted).toBe(false)
    expect(verifyCode(HOTP, first.state, code(501), NOW + 301_000).accepted).toBe(false)
  })

  it('does not look beyond the sync window of 1000', () => {
    const first = verifyCode(HOTP, newTokenState(), code(1000), NOW)
    expect(first.audit.reason).toBe('wrong-code')
  })

  it('explicit resync needs otp2 at the counter after otp1', () => {
    const token = HOTP as Extract<OathToken, { kind: 'hotp' }>
    const ok = resyncHotp(token, newTokenState(), code(700), code(701), NOW)
    expect(ok.accepted).toBe(true)
    expect(ok.state.counter).toBe(702)
    expect(resyncHotp(token, newTokenState(), code(700), code(702), NOW).accepted).toBe(false)
    expect(resyncHotp(token, newTokenState(), code(700), code(700), NOW).accepted).toBe(false)
  })

  it('rejects malformed input as a failure without throwing', () => {
    for (const bad of ['', '12345', '1234567', 'abcdef', '12 456']) {
      const r = verifyCode(HOTP, newTokenState(), bad, NOW)
      expect(r.accepted).toBe(false)
      expect(r.audit.reason).toBe('malformed')
      expect(r.state.failCount).toBe(1)
    }
  })
})

describe('fail counter and lock', () => {
  const policy = { ...DEFAULT_POLICY, maxFails: 3, lockSeconds: 60 }

  it('locks after maxFails, answers a right and a wrong code identically, clears after the timeout', () => {
    let state = newTokenState()
    for (let i = 0; i < 3; i++) state = verifyCode(HOTP, state, '000000', NOW + i, policy).state
    expect(state.failCount).toBe(3)
    expect(state.lockedUntil).toBe(NOW + 2 + 60_000)

    const right = verifyCode(HOTP, state, code(0), NOW + 10, policy)
    const wrong = verifyCode(HOTP, state, '000000', NOW + 10, policy)
    expect(right).toEqual(wrong)
    expect(right.accepted).toBe(false)
    expect(right.audit.reason).toBe('locked')

    const later = verifyCode(HOTP, state, code(0), NOW + 2 + 60_000, policy)
    expect(later.accepted).toBe(true)
    expect(later.state.failCount).toBe(0)
    expect(later.state.lockedUntil).toBeNull()
  })

  it('resets the fail counter on success and counts replays and pending resyncs as failures', () => {
    let state = verifyCode(HOTP, newTokenState(), '000000', NOW, policy).state
    expect(state.failCount).toBe(1)
    state = verifyCode(HOTP, state, code(0), NOW, policy).state
    expect(state.failCount).toBe(0)
    state = verifyCode(HOTP, state, code(0), NOW, policy).state
    expect(state.failCount).toBe(1)
    state = verifyCode(HOTP, state, code(400), NOW, policy).state
    expect(state.failCount).toBe(2)
  })

  it('explicit resync respects the lock; unlockToken clears it', () => {
    let state = newTokenState()
    for (let i = 0; i < 3; i++) state = verifyCode(HOTP, state, '000000', NOW, policy).state
    const token = HOTP as Extract<OathToken, { kind: 'hotp' }>
    expect(resyncHotp(token, state, code(10), code(11), NOW, policy).audit.reason).toBe('locked')
    expect(resyncHotp(token, unlockToken(state), code(10), code(11), NOW, policy).accepted).toBe(true)
  })
})

describe('TOTP verification', () => {
  const unix = NOW / 1000

  it('accepts the current code once and rejects a second use of the same step', () => {
    const first = verifyCode(TOTP, newTokenState(), totpAt(unix), NOW)
    expect(first.accepted).toBe(true)
    const replay = verifyCode(TOTP, first.state, totpAt(unix), NOW + 5000)
    expect(replay.accepted).toBe(false)
    expect(replay.audit.reason).toBe('replayed')
    // An older step is a replay too, even if never used.
    expect(verifyCode(TOTP, first.state, totpAt(unix - 30), NOW + 5000).accepted).toBe(false)
  })

  it('accepts drift inside the window and tracks it for the next verification', () => {
    const ahead = verifyCode(TOTP, newTokenState(), totpAt(unix + 60), NOW)
    expect(ahead.accepted).toBe(true)
    expect(ahead.state.driftSteps).toBe(2)
    // With the drift learnt, a code 4 steps ahead is now inside the window (centre + 2).
    const further = verifyCode(TOTP, ahead.state, totpAt(unix + 120 + 30), NOW + 30_000)
    expect(further.accepted).toBe(true)
    expect(further.state.driftSteps).toBe(4)
  })

  it('rejects a code outside the window', () => {
    const r = verifyCode(TOTP, newTokenState(), totpAt(unix + 90), NOW)
    expect(r.accepted).toBe(false)
    expect(r.audit.reason).toBe('wrong-code')
  })
})

describe('TOTP resynchronisation', () => {
  const unix = NOW / 1000
  const token = TOTP as Extract<OathToken, { kind: 'totp' }>

  it('learns a drift of 40 steps from two consecutive codes, after which normal codes verify', () => {
    const drifted = (offsetSteps: number) => totpAt(unix + (40 + offsetSteps) * 30)
    expect(verifyCode(TOTP, newTokenState(), drifted(0), NOW).accepted).toBe(false)
    const r = resyncTotp(token, newTokenState(), drifted(0), drifted(1), NOW, 120)
    expect(r.accepted).toBe(true)
    expect(r.audit.reason).toBe('resynced')
    expect(r.state.driftSteps).toBe(41)
    // Neither resync code can be used again; the token's next step verifies.
    expect(verifyCode(TOTP, r.state, drifted(1), NOW).accepted).toBe(false)
    expect(verifyCode(TOTP, r.state, drifted(2), NOW + 30_000).accepted).toBe(true)
  })

  it('refuses codes that are not consecutive, and counts the failure', () => {
    const r = resyncTotp(token, newTokenState(), totpAt(unix), totpAt(unix + 60), NOW, 120)
    expect(r.accepted).toBe(false)
    expect(r.state.failCount).toBe(1)
  })
})
