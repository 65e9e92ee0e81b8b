import { aesEncrypt, desEncrypt } from '../../crypto/block'
import { blockSize, cbcEncrypt, type CipherFamily } from './cbc'

/**
 * CMAC (NIST SP 800-38B, RFC 4493 for AES). node:crypto has none, so it is written out here.
 * The block size decides the subkey constant: Rb = 0x87 for 128-bit AES blocks, 0x1B for 64-bit TDES blocks.
 */

function encryptBlock(family: CipherFamily, key: Uint8Array, block: Uint8Array): Buffer {
  return family === 'aes' ? aesEncrypt(key, block) : desEncrypt(key, block)
}

/** Left shift by one bit; XOR Rb into the last byte when the shifted-out bit was set. */
function doubleBlock(block: Buffer, rb: number): Buffer {
  const out = Buffer.allocUnsafe(block.length)
  for (let i = 0; i < block.length; i++) {
    out[i] = ((block[i] << 1) | (i + 1 < block.length ? block[i + 1] >> 7 : 0)) & 0xff
  }
  if (block[0] & 0x80) out[out.length - 1] ^= rb
  return out
}

export function cmacSubkeys(family: CipherFamily, key: Uint8Array): { k1: Buffer; k2: Buffer } {
  const size = blockSize(family)
  const rb = size === 16 ? 0x87 : 0x1b
  const l = encryptBlock(family, key, Buffer.alloc(size))
  const k1 = doubleBlock(l, rb)
  return { k1, k2: doubleBlock(k1, rb) }
}

/** The full-length CMAC tag (8 bytes for TDES, 16 for AES); callers truncate where a standard says so. */
export function cmac(family: CipherFamily, key: Uint8Array, message: Uint8Array): Buffer {
  const size = blockSize(family)
  const { k1, k2 } = cmacSubkeys(family, key)
  const complete = message.length > 0 && message.length % size === 0
  const blocks = Math.max(1, Math.ceil(message.length / size))
  const padded = Buffer.alloc(blocks * size)
  padded.set(message)
  if (!complete) padded[message.length] = 0x80
  const last = padded.subarray((blocks - 1) * size)
  const subkey = complete ? k1 : k2
  for (let i = 0; i < size; i++) last[i] ^= subkey[i]
  const chained = cbcEncrypt(family, key, Buffer.alloc(size), padded)
  return chained.subarray(chained.length - size)
}
