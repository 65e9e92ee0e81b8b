import { createCipheriv } from 'node:crypto'

/**
 * Lean single-call ECB encryption for the DUKPT key walks, where every step has a new key so no cipher
 * object can be reused (node:crypto cannot re-key one). Compared with crypto/block.ts it skips the key
 * expansion copy (a scratch buffer is filled instead; createCipheriv copies the key), Buffer.concat and
 * final(): with padding off, update() already returns every whole block. Profiling the derivation showed
 * these per-call allocations at about a fifth of its time.
 */
const tdesScratch = Buffer.alloc(24)

/** Single DES (as 3-key EDE with K‖K‖K, OpenSSL 3 has no plain DES) over whole 8-byte blocks. */
export function singleDesEncrypt(key: Uint8Array, data: Uint8Array): Buffer {
  tdesScratch.set(key.subarray(0, 8), 0)
  tdesScratch.set(key.subarray(0, 8), 8)
  tdesScratch.set(key.subarray(0, 8), 16)
  const cipher = createCipheriv('des-ede3-ecb', tdesScratch, null).setAutoPadding(false)
  tdesScratch.fill(0)
  return cipher.update(data)
}

const AES_ECB: Record<number, string> = { 16: 'aes-128-ecb', 24: 'aes-192-ecb', 32: 'aes-256-ecb' }

/** AES-128/192/256 over whole 16-byte blocks. */
export function aesEcbEncrypt(key: Uint8Array, data: Uint8Array): Buffer {
  const name = AES_ECB[key.length]
  if (!name) throw new RangeError(`an AES key is 16, 24 or 32 bytes, not ${key.length}`)
  return createCipheriv(name, key, null).setAutoPadding(false).update(data)
}
