import { createCipheriv, createDecipheriv } from 'node:crypto'
import { tdesKey } from '../../crypto/block'

/**
 * CBC without padding for the two block-cipher families used by key blocks and CMAC. The ECB primitives
 * live in src-server/crypto/block.ts; CBC is here because only key management chains blocks.
 */
export type CipherFamily = 'tdes' | 'aes'

export function blockSize(family: CipherFamily): 8 | 16 {
  return family === 'tdes' ? 8 : 16
}

function cipherName(family: CipherFamily, key: Uint8Array): { name: string; key: Buffer } {
  if (family === 'tdes') return { name: 'des-ede3-cbc', key: tdesKey(key) }
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new RangeError(`an AES key is 16, 24 or 32 bytes, not ${key.length}`)
  }
  return { name: `aes-${key.length * 8}-cbc`, key: Buffer.from(key) }
}

function run(encrypt: boolean, family: CipherFamily, key: Uint8Array, iv: Uint8Array, data: Uint8Array) {
  const size = blockSize(family)
  if (data.length === 0 || data.length % size !== 0) {
    throw new RangeError(`CBC data must be a non-empty multiple of ${size} bytes, got ${data.length}`)
  }
  if (iv.length !== size) throw new RangeError(`the CBC IV must be ${size} bytes, not ${iv.length}`)
  const c = cipherName(family, key)
  const cipher = encrypt ? createCipheriv(c.name, c.key, iv) : createDecipheriv(c.name, c.key, iv)
  cipher.setAutoPadding(false)
  return Buffer.concat([cipher.update(data), cipher.final()])
}

export function cbcEncrypt(family: CipherFamily, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  return run(true, family, key, iv, data)
}

export function cbcDecrypt(family: CipherFamily, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  return run(false, family, key, iv, data)
}
