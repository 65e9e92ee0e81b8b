import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { hotp, matchingCounters, totp, type OathAlgorithm } from './oath'
import { referenceVectors } from './reference-vectors'

interface OathVector {
  description: string
  inputs: {
    secret_hex: string
    algorithm: OathAlgorithm
    digits: number
    counter?: number
    unix_time?: number
    start_counter?: number
    window?: number
    otp?: string
  }
  expected: { otp?: string; matched_counter?: number }
}

function oathtool(args: string[]): string {
  return execFileSync('oathtool', args, { encoding: 'utf8' }).trim()
}

describe('RFC 4226 HOTP known answers', () => {
  for (const v of referenceVectors<OathVector>('hotp')) {
    it(v.description, () => {
      const { secret_hex, algorithm, digits, counter, start_counter, window, otp } = v.inputs
      const secret = Buffer.from(secret_hex, 'hex')
      if (v.expected.matched_counter !== undefined) {
        // The window vector counts like oathtool -w: the start counter plus `window` more.
        const found = matchingCounters(secret, otp!, start_counter!, window! + 1, { algorithm, digits })
        expect(found).toEqual([v.expected.matched_counter])
      } else {
        expect(hotp(secret, counter!, { algorithm, digits })).toBe(v.expected.otp)
      }
    })
  }
})

describe('RFC 6238 TOTP known answers', () => {
  for (const v of referenceVectors<OathVector>('totp')) {
    it(v.description, () => {
      const { secret_hex, algorithm, digits, unix_time } = v.inputs
      const params = { algorithm, digits, period: 30, t0: 0 }
      expect(totp(Buffer.from(secret_hex, 'hex'), unix_time!, params)).toBe(v.expected.otp)
    })
  }
})

describe('against oathtool', () => {
  it('agrees on HOTP for random secrets, counters and digit counts', () => {
    for (let i = 0; i < 12; i++) {
      const secret = randomBytes(20)
      const counter = Math.floor(Math.random() * 1_000_000)
      const digits = 6 + (i % 3)
      const expected = oathtool([
        '--hotp',
        '-d',
        String(digits),
        '-c',
        String(counter),
        secret.toString('hex'),
      ])
      expect(hotp(secret, counter, { algorithm: 'SHA1', digits })).toBe(expected)
    }
  })

  it('agrees on TOTP with SHA-1/256/512 at random times', () => {
    const algorithms: OathAlgorithm[] = ['SHA1', 'SHA256', 'SHA512']
    for (const algorithm of algorithms) {
      for (let i = 0; i < 3; i++) {
        const secret = randomBytes(algorithm === 'SHA512' ? 64 : 32)
        const unix = Math.floor(Math.random() * 4_000_000_000)
        const expected = oathtool([
          `--totp=${algorithm.toLowerCase()}`,
          '-d',
          '8',
          '-s',
          '30',
          '-N',
          `@${unix}`,
          secret.toString('hex'),
        ])
        expect(totp(secret, unix, { algorithm, digits: 8, period: 30, t0: 0 })).toBe(expected)
      }
    }
  })

  it('finds the same matching counter as oathtool -w (the resync oracle)', () => {
    const secret = Buffer.from('3132333435363738393031323334353637383930', 'hex')
    const expected = Number(oathtool(['--hotp', '-c', '0', '-w', '20', secret.toString('hex'), '162583']))
    expect(matchingCounters(secret, '162583', 0, 21, { algorithm: 'SHA1', digits: 6 })).toEqual([expected])
  })
})

describe('matchingCounters', () => {
  const secret = Buffer.from('3132333435363738393031323334353637383930', 'hex')
  const params = { algorithm: 'SHA1' as const, digits: 6 }
  it('finds the counter of a code and nothing for malformed or wrong-length input', () => {
    expect(matchingCounters(secret, '338314', 0, 10, params)).toEqual([4])
    expect(matchingCounters(secret, '338315', 0, 10, params)).toEqual([])
    expect(matchingCounters(secret, '33831', 0, 10, params)).toEqual([])
    expect(matchingCounters(secret, '3383140', 0, 10, params)).toEqual([])
    expect(matchingCounters(secret, '3383l4', 0, 10, params)).toEqual([])
    expect(matchingCounters(secret, '+33831', 0, 10, params)).toEqual([])
  })
})

describe('parameter checks', () => {
  it('refuses digit counts outside 6–8 and negative counters', () => {
    const secret = Buffer.alloc(20, 1)
    expect(() => hotp(secret, 0, { algorithm: 'SHA1', digits: 5 })).toThrow(/6 to 8 digits/)
    expect(() => hotp(secret, 0, { algorithm: 'SHA1', digits: 9 })).toThrow(/6 to 8 digits/)
    expect(() => hotp(secret, 0, { algorithm: 'MD5' as OathAlgorithm, digits: 6 })).toThrow(/algorithm/)
    expect(() => hotp(secret, -1, { algorithm: 'SHA1', digits: 6 })).toThrow(/non-negative/)
  })
})
