import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto'

/**
 * Raw block-cipher operations (ECB, no padding) for the payment-crypto code: CVV/CAVV, DUKPT, TR-31, KCVs.
 *
 * OpenSSL 3 (Node 20) no longer offers single DES, so every DES key length runs as 3-key TDES:
 * K → K‖K‖K (single DES), K1‖K2 → K1‖K2‖K1 (2-key TDES). EDE with equal keys is exactly single DES.
 */
export function tdesKey(key: Uint8Array): Buffer {
  const k = Buffer.from(key)
  if (k.length === 8) return Buffer.concat([k, k, k])
  if (k.length === 16) return Buffer.concat([k, k.subarray(0, 8)])
  if (k.length === 24) return k
  throw new RangeError(`a DES key is 8, 16 or 24 bytes, not ${k.length}`)
}

function assertBlocks(data: Uint8Array, size: number): void {
  if (data.length === 0 || data.length % size !== 0) {
    throw new RangeError(`data must be a non-empty multiple of ${size} bytes, got ${data.length}`)
  }
}

function ecb(cipher: string, key: Buffer, data: Uint8Array, encrypt: boolean): Buffer {
  const c = encrypt ? createCipheriv(cipher, key, null) : createDecipheriv(cipher, key, null)
  c.setAutoPadding(false)
  return Buffer.concat([c.update(data), c.final()])
}

/** DES / 2-key / 3-key TDES, ECB over whole 8-byte blocks. */
export function desEncrypt(key: Uint8Array, data: Uint8Array): Buffer {
  assertBlocks(data, 8)
  return ecb('des-ede3-ecb', tdesKey(key), data, true)
}

export function desDecrypt(key: Uint8Array, data: Uint8Array): Buffer {
  assertBlocks(data, 8)
  return ecb('des-ede3-ecb', tdesKey(key), data, false)
}

/**
 * One DES-family key's ECB operations on OpenSSL contexts made once. ECB without padding carries nothing from
 * one `update` to the next, so one context serves every block; making a context (the key schedule) costs
 * five times the few blocks a CVV/CAVV encrypts, and a card range's CAVV keys serve every AReq.
 */
export class DesEcb {
  private readonly enc: Cipher
  private readonly dec: Decipher

  constructor(key: Uint8Array) {
    const k = tdesKey(key)
    this.enc = createCipheriv('des-ede3-ecb', k, null).setAutoPadding(false)
    this.dec = createDecipheriv('des-ede3-ecb', k, null).setAutoPadding(false)
  }

  encrypt(data: Uint8Array): Buffer {
    assertBlocks(data, 8)
    return this.enc.update(data)
  }

  decrypt(data: Uint8Array): Buffer {
    assertBlocks(data, 8)
    return this.dec.update(data)
  }
}

function aesCipherName(key: Uint8Array): string {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new RangeError(`an AES key is 16, 24 or 32 bytes, not ${key.length}`)
  }
  return `aes-${key.length * 8}-ecb`
}

/** AES-128/192/256, ECB over whole 16-byte blocks. */
export function aesEncrypt(key: Uint8Array, data: Uint8Array): Buffer {
  assertBlocks(data, 16)
  return ecb(aesCipherName(key), Buffer.from(key), data, true)
}

export function aesDecrypt(key: Uint8Array, data: Uint8Array): Buffer {
  assertBlocks(data, 16)
  return ecb(aesCipherName(key), Buffer.from(key), data, false)
}
