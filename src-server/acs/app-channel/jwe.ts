import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto'

/**
 * JWE compact serialisation with `alg: dir` for the EMV 3DS app channel. Built on node:crypto because
 * the protocol fixes the IV (a direction byte pattern plus the message counter) and JOSE libraries
 * always draw a random one.
 */
export type ContentEncryption = 'A128CBC-HS256' | 'A128GCM'
export const CONTENT_ENCRYPTIONS: readonly ContentEncryption[] = ['A128CBC-HS256', 'A128GCM']

export type Direction = 'sdk-to-acs' | 'acs-to-sdk'

export interface Sealed {
  ciphertext: Buffer
  tag: Buffer
}

/** RFC 7518 §5.2.3: MAC key = first 16 bytes, AES key = last 16; tag = HMAC-SHA-256(A ‖ IV ‖ C ‖ AL)[0..16]. */
export function a128cbcHs256Encrypt(
  key: Uint8Array,
  iv: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): Sealed {
  assertLength(key, 32, 'A128CBC-HS256 key')
  assertLength(iv, 16, 'A128CBC-HS256 IV')
  const c = createCipheriv('aes-128-cbc', key.subarray(16), iv)
  const ciphertext = Buffer.concat([c.update(plaintext), c.final()])
  return { ciphertext, tag: cbcTag(key, iv, aad, ciphertext) }
}

export function a128cbcHs256Decrypt(
  key: Uint8Array,
  iv: Uint8Array,
  aad: Uint8Array,
  sealed: Sealed,
): Buffer {
  assertLength(key, 32, 'A128CBC-HS256 key')
  assertLength(iv, 16, 'A128CBC-HS256 IV')
  const expected = cbcTag(key, iv, aad, sealed.ciphertext)
  if (sealed.tag.length !== expected.length || !timingSafeEqual(sealed.tag, expected))
    throw new JweError('authentication tag mismatch')
  const d = createDecipheriv('aes-128-cbc', key.subarray(16), iv)
  return Buffer.concat([d.update(sealed.ciphertext), d.final()])
}

function cbcTag(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Buffer {
  const al = Buffer.alloc(8)
  al.writeBigUInt64BE(BigInt(aad.length) * 8n)
  return createHmac('sha256', key.subarray(0, 16))
    .update(aad)
    .update(iv)
    .update(ciphertext)
    .update(al)
    .digest()
    .subarray(0, 16)
}

export function a128gcmEncrypt(
  key: Uint8Array,
  iv: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): Sealed {
  assertLength(key, 16, 'A128GCM key')
  assertLength(iv, 12, 'A128GCM IV')
  const c = createCipheriv('aes-128-gcm', key, iv)
  c.setAAD(aad)
  const ciphertext = Buffer.concat([c.update(plaintext), c.final()])
  return { ciphertext, tag: c.getAuthTag() }
}

export function a128gcmDecrypt(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Sealed): Buffer {
  assertLength(key, 16, 'A128GCM key')
  assertLength(iv, 12, 'A128GCM IV')
  if (sealed.tag.length !== 16) throw new JweError('authentication tag must be 16 bytes')
  const d = createDecipheriv('aes-128-gcm', key, iv)
  d.setAAD(aad)
  d.setAuthTag(sealed.tag)
  return Buffer.concat([d.update(sealed.ciphertext), d.final()])
}

export class JweError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'JweError'
  }
}

function assertLength(b: Uint8Array, n: number, what: string): void {
  if (b.length !== n) throw new JweError(`${what} must be ${n} bytes`)
}

/** The key for one direction: CBC-HS256 uses the whole CEK; GCM uses bytes 0–15 SDK→ACS and 16–31 ACS→SDK. */
export function directionKey(cek: Uint8Array, enc: ContentEncryption, direction: Direction): Buffer {
  assertLength(cek, 32, 'CEK')
  const k = Buffer.from(cek)
  if (enc === 'A128CBC-HS256') return k
  return direction === 'sdk-to-acs' ? k.subarray(0, 16) : k.subarray(16, 32)
}

/** Counter IV: 00…00 (SDK→ACS) or FF…FF (ACS→SDK) with the counter value as the last byte. */
export function counterIv(enc: ContentEncryption, direction: Direction, counter: number): Buffer {
  if (!Number.isInteger(counter) || counter < 0 || counter > 255) throw new JweError('counter must be 0–255')
  const iv = Buffer.alloc(enc === 'A128GCM' ? 12 : 16, direction === 'sdk-to-acs' ? 0x00 : 0xff)
  iv[iv.length - 1] = counter
  return iv
}

export interface JweHeader {
  alg: 'dir'
  enc: ContentEncryption
  kid?: string
  [other: string]: unknown
}

/** Produces a compact JWE (empty encrypted-key part, as `dir` requires). */
export function encryptCompact(
  header: JweHeader,
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
): string {
  const protectedB64 = Buffer.from(JSON.stringify(header), 'utf8').toString('base64url')
  const aad = Buffer.from(protectedB64, 'ascii')
  const sealed =
    header.enc === 'A128GCM'
      ? a128gcmEncrypt(key, iv, aad, plaintext)
      : a128cbcHs256Encrypt(key, iv, aad, plaintext)
  return [
    protectedB64,
    '',
    Buffer.from(iv).toString('base64url'),
    sealed.ciphertext.toString('base64url'),
    sealed.tag.toString('base64url'),
  ].join('.')
}

export interface ParsedJwe {
  header: JweHeader
  protectedB64: string
  iv: Buffer
  ciphertext: Buffer
  tag: Buffer
}

const B64URL_PART = /^[A-Za-z0-9_-]*$/

/** Splits and checks a compact `dir` JWE without decrypting it (to find the transaction by `kid`). */
export function parseCompact(compact: string): ParsedJwe {
  const parts = compact.trim().split('.')
  if (parts.length !== 5 || !parts.every((p) => B64URL_PART.test(p))) throw new JweError('not a compact JWE')
  const [protectedB64, encryptedKey, iv, ciphertext, tag] = parts
  if (encryptedKey !== '') throw new JweError('alg dir carries no encrypted key')
  let header: unknown
  try {
    header = JSON.parse(Buffer.from(protectedB64, 'base64url').toString('utf8'))
  } catch {
    throw new JweError('protected header is not JSON')
  }
  const h = header as Partial<JweHeader>
  if (typeof header !== 'object' || header === null || h.alg !== 'dir') throw new JweError('alg must be dir')
  if (!CONTENT_ENCRYPTIONS.includes(h.enc as ContentEncryption)) throw new JweError('unsupported enc')
  if (h.zip !== undefined || h.crit !== undefined) throw new JweError('zip/crit not supported')
  return {
    header: header as JweHeader,
    protectedB64,
    iv: Buffer.from(iv, 'base64url'),
    ciphertext: Buffer.from(ciphertext, 'base64url'),
    tag: Buffer.from(tag, 'base64url'),
  }
}

export function decryptParsed(jwe: ParsedJwe, key: Uint8Array): Buffer {
  const aad = Buffer.from(jwe.protectedB64, 'ascii')
  const sealed = { ciphertext: jwe.ciphertext, tag: jwe.tag }
  try {
    return jwe.header.enc === 'A128GCM'
      ? a128gcmDecrypt(key, jwe.iv, aad, sealed)
      : a128cbcHs256Decrypt(key, jwe.iv, aad, sealed)
  } catch (e) {
    if (e instanceof JweError) throw e
    throw new JweError('decryption failed')
  }
}
