/** DES keys carry odd parity in the low bit of every byte; X9.24 expects combined keys to keep it. */

export function hasOddParity(key: Uint8Array): boolean {
  return key.every((byte) => popcount8(byte) % 2 === 1)
}

export function withOddParity(key: Uint8Array): Buffer {
  return Buffer.from(key.map((byte) => (popcount8(byte & 0xfe) % 2 === 0 ? byte | 1 : byte & 0xfe)))
}

function popcount8(byte: number): number {
  let c = 0
  for (let v = byte; v; v &= v - 1) c++
  return c
}
