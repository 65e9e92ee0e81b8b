import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

/**
 * scrypt password hashes: `scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>`. The parameters travel with the
 * hash so they can be raised later without invalidating stored passwords.
 */
const LOG_N = 15
const R = 8
const P = 1
const KEYLEN = 32

function derive(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEYLEN, { ...opts, maxmem: 256 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  )
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await derive(password, salt, { N: 2 ** LOG_N, r: R, p: P })
  return ['scrypt', LOG_N, R, P, salt.toString('base64'), key.toString('base64')].join('$')
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, logN, r, p, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || !salt || !hash) return false
  const expected = Buffer.from(hash, 'base64')
  const key = await derive(password, Buffer.from(salt, 'base64'), {
    N: 2 ** Number(logN),
    r: Number(r),
    p: Number(p),
  })
  return key.length === expected.length && timingSafeEqual(key, expected)
}

/** A hash of a random password, verified against when the username does not exist so timing gives nothing away. */
export const DUMMY_HASH =
  'scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='

export class WeakPasswordError extends Error {
  override name = 'WeakPasswordError'
}

/** Length over composition rules (NIST SP 800-63B): at least 12 characters, not all one character. */
export function checkPasswordPolicy(password: string, username?: string): void {
  if (password.length < 12) throw new WeakPasswordError('a password has at least 12 characters')
  if (password.length > 1024) throw new WeakPasswordError('a password has at most 1024 characters')
  if (/^(.)\1*$/.test(password)) throw new WeakPasswordError('a password is not one character repeated')
  if (username && password.toLowerCase().includes(username.toLowerCase())) {
    throw new WeakPasswordError('a password does not contain the username')
  }
}
