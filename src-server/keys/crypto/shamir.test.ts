import { describe, expect, it } from 'vitest'
import { combineShares, splitSecret } from './shamir'

const secret = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex')

describe('m-of-n secret sharing', () => {
  it('a known 2-of-2 split over GF(256): f(x) = s + a·x', () => {
    // With coefficient a = 0x02 for every byte: share(1) = s ⊕ 02, share(2) = s ⊕ (02·02 = 04).
    const shares = splitSecret(Buffer.from([0x10, 0x20]), 2, 2, (n) => Buffer.alloc(n, 0x02))
    expect(shares.map((s) => s.value.toString('hex'))).toEqual(['1222', '1424'])
    expect(combineShares(shares).toString('hex')).toBe('1020')
  })

  it('every 3 of 5 shares rebuild the key; order does not matter', () => {
    const shares = splitSecret(secret, 5, 3)
    for (let a = 0; a < 5; a++)
      for (let b = a + 1; b < 5; b++)
        for (let c = b + 1; c < 5; c++) {
          expect(combineShares([shares[c], shares[a], shares[b]])).toEqual(secret)
        }
    expect(combineShares(shares)).toEqual(secret)
  })

  it('two of a 3-of-5 split do not give the key', () => {
    const shares = splitSecret(secret, 5, 3)
    expect(combineShares([shares[0], shares[1]])).not.toEqual(secret)
  })

  it('rejects bad parameters and duplicate or malformed shares', () => {
    expect(() => splitSecret(secret, 2, 3)).toThrow(/between the threshold and 255/)
    expect(() => splitSecret(secret, 3, 1)).toThrow(/at least 2/)
    const shares = splitSecret(secret, 3, 2)
    expect(() => combineShares([shares[0], shares[0]])).toThrow(/given twice/)
    expect(() => combineShares([shares[0], { index: 0, value: shares[1].value }])).toThrow(
      /between 1 and 255/,
    )
    expect(() => combineShares([shares[0], { index: 9, value: Buffer.alloc(3) }])).toThrow(
      /different lengths/,
    )
  })
})
