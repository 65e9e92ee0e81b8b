import { createHash, randomBytes } from 'node:crypto'
import type { Context } from 'koa'
import { HttpProblem } from '../http/problem'

/**
 * API keys for machine clients (2FA applications, channel clients). A key is 256 random bits, so a plain
 * SHA-256 is enough to store it (no salt or stretching needed: it cannot be guessed from a dictionary).
 * The prefix names the kind of client, and the first characters after it are kept for recognising a key.
 */
export interface IssuedApiKey {
  apiKey: string
  hash: Buffer
  prefix: string
}

export function issueApiKey(kind: string): IssuedApiKey {
  const apiKey = `${kind}_${randomBytes(32).toString('base64url')}`
  return { apiKey, hash: hashApiKey(apiKey), prefix: apiKey.slice(0, kind.length + 7) }
}

export function hashApiKey(apiKey: string): Buffer {
  return createHash('sha256').update(apiKey, 'utf8').digest()
}

const APP_HEADER = /^App\s+([A-Za-z0-9_-]{20,200})$/

/** The key of an `Authorization: App <apiKey>` header, or a 401 that says how to send it. */
export function appKeyOf(ctx: Context): string {
  const m = APP_HEADER.exec(ctx.get('authorization'))
  if (!m)
    throw new HttpProblem(401, 'Unauthorized', 'Send the API key as the header `Authorization: App <apiKey>`')
  return m[1]
}

export const unknownApiKey = () =>
  new HttpProblem(401, 'Unauthorized', 'The API key is not valid (unknown, or replaced by a newer key)')
