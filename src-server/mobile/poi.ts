import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Vault } from '../crypto/vault'
import type { Db } from '../store/db'

/** How long one key signs screen codes before a new one replaces it. */
export const POI_KEY_ROTATION_MS = 24 * 3_600_000

/** The sealed column of the keys, for the vault's re-encryption when 'secret-enc' rotates. */
export const POI_KEY_COLUMN = {
  table: 'mobile_poi_keys',
  column: 'key_sealed',
  purpose: 'secret-enc',
  aadColumn: "'mobile-poi-key:' || id",
} as const

const aad = (id: number) => `mobile-poi-key:${id}`

interface PoiKey {
  id: number
  key: Buffer
  createdAt: number
  /** For a replaced key: codes it signed verify until then (one QR lifetime after the replacement). */
  acceptedUntil?: number
}

interface KeyRow {
  id: number
  key_sealed: Buffer
  created_at: number
  accepted_until: number | null
}

/**
 * Rotating QR tokens of a point-of-interaction screen: `<poiId>.<expires, s>.<HMAC-SHA-256/128>`. The poi
 * id is random and names the screen only; no card or transaction data is in the token.
 *
 * The MAC key is a row of mobile_poi_keys sealed by the vault (under the 'secret-enc' data key, itself
 * wrapped by the master key), so a code on screen still verifies after a restart. A new key replaces it
 * every day (or on demand); the replaced one keeps verifying for one QR lifetime, the longest a code it
 * signed can live, and is deleted at the next rotation.
 */
export class PoiTokens {
  private keys: { current: PoiKey; previous?: PoiKey } | undefined

  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    /** Codes live two periods (qrPeriodSeconds): the grace of a replaced key. */
    private readonly lifetimeMs: () => number,
  ) {}

  mint(poiId: string, periodSeconds: number, now = Date.now()): { token: string; expiresAt: number } {
    let { current } = this.loaded(now)
    if (now - current.createdAt >= POI_KEY_ROTATION_MS) current = this.rotate(now)
    const expires = Math.floor(now / 1000) + 2 * periodSeconds
    return {
      token: `${poiId}.${expires}.${this.mac(current.key, poiId, expires)}`,
      expiresAt: expires * 1000,
    }
  }

  /** The screen a token names, when its MAC is right and it has not expired; otherwise why not. */
  verify(token: string, now = Date.now()): { poiId: string } | { error: 'malformed' | 'forged' | 'expired' } {
    const m = /^([A-Za-z0-9_-]{22})\.(\d{10})\.([A-Za-z0-9_-]{22})$/.exec(token)
    if (!m) return { error: 'malformed' }
    const { current, previous } = this.loaded(now)
    const given = Buffer.from(m[3], 'base64url')
    const signedBy = (k: PoiKey) => {
      const expected = Buffer.from(this.mac(k.key, m[1], Number(m[2])), 'base64url')
      return given.length === expected.length && timingSafeEqual(given, expected)
    }
    const accepted =
      signedBy(current) || (!!previous && now < (previous.acceptedUntil ?? 0) && signedBy(previous))
    if (!accepted) return { error: 'forged' }
    if (Number(m[2]) * 1000 <= now) return { error: 'expired' }
    return { poiId: m[1] }
  }

  /**
   * Replaces the signing key: the current one keeps verifying for one QR lifetime, the one before it (whose
   * grace is over) is deleted. Returns the new key.
   */
  rotate(now = Date.now()): PoiKey {
    const { current } = this.loaded(now)
    const acceptedUntil = now + this.lifetimeMs()
    const next = this.db.transaction(() => {
      this.db.prepare('DELETE FROM mobile_poi_keys WHERE id != ?').run(current.id)
      this.db
        .prepare('UPDATE mobile_poi_keys SET accepted_until = ? WHERE id = ?')
        .run(acceptedUntil, current.id)
      return this.create(now)
    })()
    this.keys = { current: next, previous: { ...current, acceptedUntil } }
    return next
  }

  /** The keys from the database (first use after a start), with a first key created when there is none. */
  private loaded(now: number): { current: PoiKey; previous?: PoiKey } {
    if (this.keys) return this.keys
    const rows = this.db.prepare('SELECT * FROM mobile_poi_keys ORDER BY id DESC LIMIT 2').all() as KeyRow[]
    const [newest, older] = rows.map((r) => ({
      id: r.id,
      key: this.vault.open(r.key_sealed, aad(r.id)),
      createdAt: r.created_at,
      acceptedUntil: r.accepted_until ?? undefined,
    }))
    this.keys = newest ? { current: newest, previous: older } : { current: this.create(now) }
    return this.keys
  }

  private create(now: number): PoiKey {
    const key = randomBytes(32)
    // The id is chosen first: it is part of the sealed value's AAD, so a key cannot be moved to another row.
    const id = this.db.prepare('SELECT COALESCE(MAX(id), 0) + 1 FROM mobile_poi_keys').pluck().get() as number
    this.db
      .prepare('INSERT INTO mobile_poi_keys (id, key_sealed, created_at) VALUES (?, ?, ?)')
      .run(id, this.vault.seal('secret-enc', key, aad(id)), now)
    return { id, key, createdAt: now }
  }

  private mac(key: Buffer, poiId: string, expires: number): string {
    return createHmac('sha256', key)
      .update(`ims-poi/1|${poiId}|${expires}`)
      .digest()
      .subarray(0, 16)
      .toString('base64url')
  }
}
