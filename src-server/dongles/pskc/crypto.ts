import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  pbkdf2Sync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto'

/** XML Encryption block ciphers PSKC uses for secrets (RFC 6030 §6.1): CBC with the IV prefixed. */
const CBC_ALGORITHMS: Record<string, { cipher: string; keyBytes: number }> = {
  'http://www.w3.org/2001/04/xmlenc#aes128-cbc': { cipher: 'aes-128-cbc', keyBytes: 16 },
  'http://www.w3.org/2001/04/xmlenc#aes192-cbc': { cipher: 'aes-192-cbc', keyBytes: 24 },
  'http://www.w3.org/2001/04/xmlenc#aes256-cbc': { cipher: 'aes-256-cbc', keyBytes: 32 },
}
export const AES128_CBC = 'http://www.w3.org/2001/04/xmlenc#aes128-cbc'

const MAC_ALGORITHMS: Record<string, string> = {
  'http://www.w3.org/2000/09/xmldsig#hmac-sha1': 'sha1',
  'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#hmac-sha384': 'sha384',
  'http://www.w3.org/2001/04/xmldsig-more#hmac-sha512': 'sha512',
}
export const HMAC_SHA1 = 'http://www.w3.org/2000/09/xmldsig#hmac-sha1'

export const PBKDF2 = 'http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2'
const PBKDF2_PRFS: Record<string, string> = {
  '': 'sha1',
  'http://www.w3.org/2000/09/xmldsig#hmac-sha1': 'sha1',
  'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#hmac-sha512': 'sha512',
}
/** An iteration count past this is a denial-of-service attempt, not a protection level. */
const MAX_PBKDF2_ITERATIONS = 10_000_000

export class PskcCryptoError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PskcCryptoError'
  }
}

export function macHashName(algorithm: string): string {
  const name = MAC_ALGORITHMS[algorithm]
  if (!name) throw new PskcCryptoError(`unsupported MAC algorithm ${algorithm || '(none)'}`)
  return name
}

export function pbkdf2Hash(prf: string): string {
  const name = PBKDF2_PRFS[prf]
  if (!name) throw new PskcCryptoError(`unsupported PBKDF2 PRF ${prf}`)
  return name
}

export function deriveKey(
  password: string,
  salt: Buffer,
  iterations: number,
  keyLength: number,
  hash: string,
) {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS) {
    throw new PskcCryptoError(`PBKDF2 iteration count ${iterations} is out of range`)
  }
  if (![16, 24, 32].includes(keyLength))
    throw new PskcCryptoError(`PBKDF2 key length ${keyLength} is not an AES key`)
  if (salt.length === 0) throw new PskcCryptoError('PBKDF2 salt is empty')
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, keyLength, hash)
}

export interface DecryptOptions {
  /** Accept a broken PKCS#7 pad (some vendors ship them; LinOTP tolerates it) and report it as a warning. */
  lenientPadding?: boolean
}

/** Decrypts IV‖ciphertext; returns the plaintext and whether the padding had to be forgiven. */
export function decryptCbc(
  algorithm: string,
  key: Buffer,
  data: Buffer,
  options: DecryptOptions = {},
): { plain: Buffer; badPadding: boolean } {
  const spec = CBC_ALGORITHMS[algorithm]
  if (!spec) throw new PskcCryptoError(`unsupported encryption algorithm ${algorithm || '(none)'}`)
  if (key.length !== spec.keyBytes) {
    throw new PskcCryptoError(
      `${spec.cipher} needs a ${spec.keyBytes}-byte key, the key given has ${key.length}`,
    )
  }
  if (data.length < 32 || data.length % 16 !== 0) {
    throw new PskcCryptoError('encrypted value is not an IV followed by whole AES blocks')
  }
  const decipher = createDecipheriv(spec.cipher, key, data.subarray(0, 16))
  decipher.setAutoPadding(false)
  const padded = Buffer.concat([decipher.update(data.subarray(16)), decipher.final()])
  const pad = padded[padded.length - 1]
  const padOk = pad >= 1 && pad <= 16 && padded.subarray(padded.length - pad).every((b) => b === pad)
  if (padOk) return { plain: padded.subarray(0, padded.length - pad), badPadding: false }
  if (!options.lenientPadding) {
    padded.fill(0)
    throw new PskcCryptoError('decryption failed (invalid padding): wrong key or password')
  }
  // Without a trustworthy pad length the best guess is the pad byte if plausible, else no padding at all.
  const cut = pad >= 1 && pad <= 16 ? pad : 0
  return { plain: padded.subarray(0, padded.length - cut), badPadding: true }
}

export function encryptCbc(algorithm: string, key: Buffer, plain: Buffer): Buffer {
  const spec = CBC_ALGORITHMS[algorithm]
  if (!spec || key.length !== spec.keyBytes) throw new PskcCryptoError('bad export cipher or key')
  const iv = randomBytes(16)
  const cipher = createCipheriv(spec.cipher, key, iv)
  return Buffer.concat([iv, cipher.update(plain), cipher.final()])
}

export function mac(hashName: string, key: Buffer, data: Buffer): Buffer {
  return createHmac(hashName, key).update(data).digest()
}

export function macMatches(hashName: string, key: Buffer, data: Buffer, expected: Buffer): boolean {
  const actual = mac(hashName, key, data)
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}
