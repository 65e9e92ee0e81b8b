import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto'

/** AES-256-GCM with a random 96-bit IV. Layout: iv(12) ‖ tag(16) ‖ ciphertext. `aad` binds context. */
export function seal(key: Uint8Array | KeyObject, plaintext: Uint8Array, aad?: Uint8Array): Buffer {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  if (aad) cipher.setAAD(aad)
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), ct])
}

export class DecryptionError extends Error {
  override name = 'DecryptionError'
}

export function open(key: Uint8Array | KeyObject, sealed: Uint8Array, aad?: Uint8Array): Buffer {
  if (sealed.length < 28) throw new DecryptionError('sealed value is too short')
  const buf = Buffer.from(sealed)
  const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, 12))
  decipher.setAuthTag(buf.subarray(12, 28))
  if (aad) decipher.setAAD(aad)
  try {
    return Buffer.concat([decipher.update(buf.subarray(28)), decipher.final()])
  } catch {
    throw new DecryptionError('authentication failed: wrong key or tampered data')
  }
}
