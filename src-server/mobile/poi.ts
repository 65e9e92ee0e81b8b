import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Rotating QR tokens of a point-of-interaction screen: `<poiId>.<expires, s>.<HMAC-SHA-256/128>`. The poi
 * id is random and names the screen only; no card or transaction data is in the token. The MAC key lives in
 * memory: a token lives at most two periods, so after a restart the screens just show the next code.
 */
export class PoiTokens {
  private readonly key = randomBytes(32)

  mint(poiId: string, periodSeconds: number, now = Date.now()): { token: string; expiresAt: number } {
    const expires = Math.floor(now / 1000) + 2 * periodSeconds
    return { token: `${poiId}.${expires}.${this.mac(poiId, expires)}`, expiresAt: expires * 1000 }
  }

  /** The screen a token names, when its MAC is right and it has not expired; otherwise why not. */
  verify(token: string, now = Date.now()): { poiId: string } | { error: 'malformed' | 'forged' | 'expired' } {
    const m = /^([A-Za-z0-9_-]{22})\.(\d{10})\.([A-Za-z0-9_-]{22})$/.exec(token)
    if (!m) return { error: 'malformed' }
    const expected = Buffer.from(this.mac(m[1], Number(m[2])), 'base64url')
    const given = Buffer.from(m[3], 'base64url')
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { error: 'forged' }
    if (Number(m[2]) * 1000 <= now) return { error: 'expired' }
    return { poiId: m[1] }
  }

  private mac(poiId: string, expires: number): string {
    return createHmac('sha256', this.key)
      .update(`ims-poi/1|${poiId}|${expires}`)
      .digest()
      .subarray(0, 16)
      .toString('base64url')
  }
}
