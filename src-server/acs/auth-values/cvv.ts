import { DesEcb } from '../../crypto/block'

/**
 * A CVK pair (two single-DES keys) ready to compute CVVs: the card CVV algorithm, also the core of the Visa
 * CAVV, over 32 hex digits of input with decimalised output. Single DES runs as TDES with K‖K‖K (OpenSSL 3
 * has no plain DES). Made once per key pair: the cipher contexts are reused for every value.
 */
export class CvvKeys {
  private readonly a: DesEcb
  /** A‖B as 2-key TDES: its EDE (A, B, A) is the algorithm's last three steps in one call. */
  private readonly ab: DesEcb

  constructor(keyA: Uint8Array, keyB: Uint8Array) {
    if (keyA.length !== 8 || keyB.length !== 8) throw new RangeError('CVK halves must be 8 bytes each')
    this.a = new DesEcb(keyA)
    this.ab = new DesEcb(Buffer.concat([keyA, keyB]))
  }

  cvv(pan: string, fourDigits: string, threeDigits: string): string {
    if (!/^\d{12,19}$/.test(pan)) throw new RangeError('PAN must be 12–19 digits')
    if (!/^\d{4}$/.test(fourDigits) || !/^\d{3}$/.test(threeDigits))
      throw new RangeError('CVV inputs must be 4 and 3 digits')
    const pan16 = pan.length >= 16 ? pan.slice(-16) : pan.padStart(16, '0')
    const data = (pan16 + fourDigits + threeDigits).padEnd(32, '0')
    const r = this.a.encrypt(packDigits(data, 0))
    const block2 = packDigits(data, 16)
    for (let i = 0; i < 8; i++) r[i] ^= block2[i]
    return decimalise(this.ab.encrypt(r), 3)
  }
}

/** Eight bytes holding the 16 decimal digits of `digits` from `from`, two per byte (what `Buffer.from(hex)` gives). */
function packDigits(digits: string, from: number): Buffer {
  const out = Buffer.allocUnsafe(8)
  for (let i = 0; i < 8; i++)
    out[i] = ((digits.charCodeAt(from + 2 * i) - 48) << 4) | (digits.charCodeAt(from + 2 * i + 1) - 48)
  return out
}

/**
 * Decimalisation of the nibbles of `bytes`: the decimal digits left to right, then the hex letters A–F as
 * 0–5, stopping after `count` digits (the CVV keeps three).
 */
export function decimalise(bytes: Uint8Array, count = 2 * bytes.length): string {
  let out = ''
  for (let pass = 0; pass < 2; pass++)
    for (let i = 0; i < 2 * bytes.length && out.length < count; i++) {
      const nibble = i % 2 === 0 ? bytes[i >> 1] >> 4 : bytes[i >> 1] & 15
      if (pass === 0 && nibble < 10) out += nibble
      else if (pass === 1 && nibble >= 10) out += nibble - 10
    }
  return out
}

/** One CVV with a key pair used once (the CLI, the vectors). */
export function cvvCore(
  pan: string,
  fourDigits: string,
  threeDigits: string,
  keyA: Uint8Array,
  keyB: Uint8Array,
): string {
  return new CvvKeys(keyA, keyB).cvv(pan, fourDigits, threeDigits)
}
