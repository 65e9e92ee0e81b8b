import { randomBytes } from 'node:crypto'
import { KeyInputError } from './bytes'

/**
 * m-of-n secret sharing (Shamir over GF(2^8), the AES field x^8 + x^4 + x^3 + x + 1), byte by byte.
 * An alternative to XOR components when custodians may be absent: any `threshold` shares rebuild the
 * key, fewer reveal nothing about it.
 */
export interface SecretShare {
  /** The x coordinate, 1..255; never 0 (that is where the secret sits). */
  index: number
  value: Buffer
}

const EXP = new Uint8Array(510)
const LOG = new Uint8Array(256)
{
  let x = 1
  for (let i = 0; i < 255; i++) {
    EXP[i] = x
    LOG[x] = i
    // Multiply by the generator 3: x·2 (reduced by 0x11B) XOR x.
    x ^= (x << 1) ^ (x & 0x80 ? 0x11b : 0)
  }
  for (let i = 255; i < 510; i++) EXP[i] = EXP[i - 255]
}

function mul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]]
}

function div(a: number, b: number): number {
  if (b === 0) throw new RangeError('division by zero in GF(256)')
  return a === 0 ? 0 : EXP[LOG[a] + 255 - LOG[b]]
}

export function splitSecret(
  secret: Uint8Array,
  shares: number,
  threshold: number,
  random: (n: number) => Uint8Array = randomBytes,
): SecretShare[] {
  if (!Number.isInteger(threshold) || threshold < 2)
    throw new KeyInputError('the threshold must be at least 2')
  if (!Number.isInteger(shares) || shares < threshold || shares > 255) {
    throw new KeyInputError('the number of shares must be between the threshold and 255')
  }
  if (secret.length === 0) throw new KeyInputError('the secret is empty')
  const out = Array.from({ length: shares }, (_, i) => ({ index: i + 1, value: Buffer.alloc(secret.length) }))
  for (let b = 0; b < secret.length; b++) {
    const coefficients = [secret[b], ...random(threshold - 1)]
    for (const share of out) {
      // Horner's rule from the highest coefficient down.
      let y = 0
      for (let c = coefficients.length - 1; c >= 0; c--) y = mul(y, share.index) ^ coefficients[c]
      share.value[b] = y
    }
  }
  return out
}

/** Lagrange interpolation at x = 0. Needs at least the threshold number of distinct shares. */
export function combineShares(shares: readonly SecretShare[]): Buffer {
  if (shares.length < 2) throw new KeyInputError('at least two shares are needed')
  const length = shares[0].value.length
  const seen = new Set<number>()
  for (const share of shares) {
    if (!Number.isInteger(share.index) || share.index < 1 || share.index > 255) {
      throw new KeyInputError('a share index must be between 1 and 255')
    }
    if (seen.has(share.index)) throw new KeyInputError(`share ${share.index} was given twice`)
    if (share.value.length !== length) throw new KeyInputError('the shares have different lengths')
    seen.add(share.index)
  }
  const secret = Buffer.alloc(length)
  shares.forEach((share, i) => {
    let basis = 1
    shares.forEach((other, j) => {
      if (i !== j) basis = mul(basis, div(other.index, share.index ^ other.index))
    })
    for (let b = 0; b < length; b++) secret[b] ^= mul(share.value[b], basis)
  })
  return secret
}
