import { timingSafeEqual } from 'node:crypto'

/**
 * Byte helpers shared by the key-management primitives. Errors name the field, never its value:
 * the value may be key material, a PIN or a PAN.
 */

export class KeyInputError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'KeyInputError'
  }
}

/** Parse a hex string (spaces allowed) into bytes, checking its length in bytes when `lengths` is given. */
export function parseHex(field: string, value: string, lengths?: readonly number[]): Buffer {
  const clean = value.replace(/\s+/g, '')
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new KeyInputError(`${field} must be an even number of hex digits`)
  }
  const bytes = Buffer.from(clean, 'hex')
  if (lengths && !lengths.includes(bytes.length)) {
    throw new KeyInputError(
      `${field} must be ${lengths.map((n) => n * 2).join(', ')} hex digits, not ${clean.length}`,
    )
  }
  return bytes
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase()
}

export function xor(a: Uint8Array, b: Uint8Array): Buffer {
  if (a.length !== b.length) throw new RangeError(`cannot XOR ${a.length} bytes with ${b.length} bytes`)
  const out = Buffer.allocUnsafe(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i]
  return out
}

/** Compare two byte strings without leaking where they differ; unequal lengths are simply unequal. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  return timingSafeEqual(a, b)
}

export function popcount32(n: number): number {
  let v = n >>> 0
  let c = 0
  while (v) {
    v &= v - 1
    c++
  }
  return c
}
