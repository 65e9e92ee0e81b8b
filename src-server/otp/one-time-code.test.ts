import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { CODE_ALPHABETS, issueOneTimeCode, verifyOneTimeCode, type CodeAlphabet } from './one-time-code'

const KEY = randomBytes(32)
const NOW = 1_700_000_000_000
const policy = { length: 6, alphabet: 'NUMERIC' as const, ttlMs: 120_000, maxAttempts: 3 }

describe('SMS one-time codes', () => {
  it('generates codes of the configured length and alphabet, spread over the alphabet', () => {
    for (const alphabet of Object.keys(CODE_ALPHABETS) as CodeAlphabet[]) {
      const seen = new Set<string>()
      for (let i = 0; i < 200; i++) {
        const { code } = issueOneTimeCode(KEY, NOW, { ...policy, alphabet, length: 8 })
        expect(code).toHaveLength(8)
        for (const ch of code) {
          expect(CODE_ALPHABETS[alphabet]).toContain(ch)
          seen.add(ch)
        }
      }
      expect(seen.size).toBe(CODE_ALPHABETS[alphabet].length)
    }
  })

  it('stores no code, only a salted keyed hash', () => {
    const { code, record } = issueOneTimeCode(KEY, NOW, policy)
    expect(JSON.stringify(record)).not.toContain(code)
    const twin = issueOneTimeCode(KEY, NOW, policy)
    expect(twin.record.hashB64).not.toBe(record.hashB64)
  })

  it('verifies once: a second use is refused', () => {
    const { code, record } = issueOneTimeCode(KEY, NOW, policy)
    const ok = verifyOneTimeCode(record, code, KEY, NOW + 1000)
    expect(ok.verified).toBe(true)
    const again = verifyOneTimeCode(ok.record, code, KEY, NOW + 2000)
    expect(again).toMatchObject({ verified: false, error: 'ALREADY_USED' })
  })

  it('refuses a code under another hash key', () => {
    const { code, record } = issueOneTimeCode(KEY, NOW, policy)
    expect(verifyOneTimeCode(record, code, randomBytes(32), NOW).verified).toBe(false)
  })

  it('expires: a right and a wrong code get the same answer after the TTL', () => {
    const { code, record } = issueOneTimeCode(KEY, NOW, policy)
    const right = verifyOneTimeCode(record, code, KEY, NOW + 120_000)
    const wrong = verifyOneTimeCode(record, '000000', KEY, NOW + 120_000)
    expect(right).toEqual(wrong)
    expect(right.error).toBe('EXPIRED')
  })

  it('counts attempts down and then refuses even the right code', () => {
    const { code, record } = issueOneTimeCode(KEY, NOW, policy)
    const wrong = code === '000000' ? '111111' : '000000'
    let r = verifyOneTimeCode(record, wrong, KEY, NOW)
    expect(r).toMatchObject({ verified: false, error: 'WRONG_CODE', attemptsLeft: 2 })
    r = verifyOneTimeCode(r.record, wrong, KEY, NOW)
    r = verifyOneTimeCode(r.record, wrong, KEY, NOW)
    expect(r).toMatchObject({ verified: false, error: 'NO_MORE_ATTEMPTS', attemptsLeft: 0 })
    const right = verifyOneTimeCode(r.record, code, KEY, NOW)
    expect(right).toMatchObject({ verified: false, error: 'NO_MORE_ATTEMPTS' })
  })

  it('accepts lower-case input for alphabetic codes and rejects bad policies and short keys', () => {
    const { code, record } = issueOneTimeCode(KEY, NOW, { ...policy, alphabet: 'ALPHA' })
    expect(verifyOneTimeCode(record, ` ${code.toLowerCase()} `, KEY, NOW).verified).toBe(true)
    expect(() => issueOneTimeCode(KEY, NOW, { ...policy, length: 3 })).toThrow(/4 to 12/)
    expect(() => issueOneTimeCode(randomBytes(8), NOW, policy)).toThrow(/at least 16 bytes/)
  })
})
