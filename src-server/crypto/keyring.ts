import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto'
import type { Db } from '../store/db'
import { open, seal } from './aead'

/**
 * The key hierarchy below the master key. Each purpose has one active data key; retired keys stay
 * available for decryption until everything sealed under them has been re-encrypted, which is what makes
 * rotation possible without downtime.
 */
export const KEY_PURPOSES = {
  /** PANs at rest. Rotatable. */
  'pan-enc': { rotatable: true },
  /** HMAC-SHA-256 lookup key for PANs: rotating it would orphan every lookup hash, so it is fixed. */
  'pan-lookup': { rotatable: false },
  /** Other secrets at rest: TOTP and token seeds, key material wrapped for storage. Rotatable. */
  'secret-enc': { rotatable: true },
  /** Keyed hashes of one-time codes. */
  'otp-hash': { rotatable: true },
  /** MAC key of the audit chain: fixed, the chain is verified with it end to end. */
  'audit-mac': { rotatable: false },
} as const
export type KeyPurpose = keyof typeof KEY_PURPOSES

export interface DataKey {
  id: number
  purpose: KeyPurpose
  key: Buffer
  /**
   * The same key imported into OpenSSL once: a cipher made from it skips importing the bytes again, about a
   * third of sealing a short value (every SMS, every PAN).
   */
  keyObject: KeyObject
}

const dataKey = (id: number, purpose: KeyPurpose, key: Buffer): DataKey => ({
  id,
  purpose,
  key,
  keyObject: createSecretKey(key),
})

export class Keyring {
  private cache = new Map<number, DataKey>()
  private activeIds = new Map<KeyPurpose, number>()
  private readonly dataVersion
  /** `PRAGMA data_version` when the active keys were last looked up. */
  private seenVersion: unknown

  constructor(
    private readonly db: Db,
    private readonly masterKey: Buffer,
  ) {
    if (masterKey.length !== 32) throw new RangeError('the master key is 32 bytes')
    this.dataVersion = db.prepare('PRAGMA data_version').pluck()
  }

  private aad(purpose: string): Buffer {
    return Buffer.from(`ims data key:${purpose}`)
  }

  private unwrap(row: { id: number; purpose: string; wrapped: Buffer }): DataKey {
    const key = open(this.masterKey, row.wrapped, this.aad(row.purpose))
    const dk = dataKey(row.id, row.purpose as KeyPurpose, key)
    this.cache.set(row.id, dk)
    return dk
  }

  /** The active key for a purpose, created on first use. */
  active(purpose: KeyPurpose): DataKey {
    // Another connection committed (`ims keys rotate` beside a running server): the active keys are looked up
    // again, or this process would go on sealing under the key the rotation just retired. A fixed purpose's key
    // never changes, so its lookups (the PAN lookup key, on every AReq) skip the check.
    if (KEY_PURPOSES[purpose].rotatable) {
      const version = this.dataVersion.get()
      if (version !== this.seenVersion) {
        this.activeIds.clear()
        this.seenVersion = version
      }
    }
    const cachedId = this.activeIds.get(purpose)
    if (cachedId !== undefined) return this.cache.get(cachedId)!
    const row = this.db
      .prepare(`SELECT id, purpose, wrapped FROM data_keys WHERE purpose = ? AND status = 'active'`)
      .get(purpose) as { id: number; purpose: string; wrapped: Buffer } | undefined
    const dk = row ? (this.cache.get(row.id) ?? this.unwrap(row)) : this.create(purpose)
    this.activeIds.set(purpose, dk.id)
    return dk
  }

  byId(id: number): DataKey {
    const cached = this.cache.get(id)
    if (cached) return cached
    const row = this.db.prepare('SELECT id, purpose, wrapped FROM data_keys WHERE id = ?').get(id) as
      { id: number; purpose: string; wrapped: Buffer } | undefined
    if (!row) throw new Error(`data key ${id} does not exist`)
    return this.unwrap(row)
  }

  private create(purpose: KeyPurpose): DataKey {
    const key = randomBytes(32)
    const info = this.db
      .prepare(`INSERT INTO data_keys (purpose, wrapped, status, created_at) VALUES (?, ?, 'active', ?)`)
      .run(purpose, seal(this.masterKey, key, this.aad(purpose)), new Date().toISOString())
    const dk = dataKey(Number(info.lastInsertRowid), purpose, key)
    this.cache.set(dk.id, dk)
    return dk
  }

  /** Retires the active key of a rotatable purpose and makes a new one; old keys still decrypt. */
  rotate(purpose: KeyPurpose): DataKey {
    if (!KEY_PURPOSES[purpose].rotatable) throw new Error(`keys for ${purpose} are not rotatable`)
    return this.db.transaction(() => {
      this.db
        .prepare(`UPDATE data_keys SET status = 'retired' WHERE purpose = ? AND status = 'active'`)
        .run(purpose)
      this.activeIds.delete(purpose)
      const dk = this.create(purpose)
      this.activeIds.set(purpose, dk.id)
      return dk
    })()
  }

  /** Re-wraps every data key under a new master key (the data itself is untouched). */
  rewrapUnder(newMasterKey: Buffer): void {
    const rows = this.db.prepare('SELECT id, purpose, wrapped FROM data_keys').all() as {
      id: number
      purpose: string
      wrapped: Buffer
    }[]
    const update = this.db.prepare('UPDATE data_keys SET wrapped = ? WHERE id = ?')
    this.db.transaction(() => {
      for (const row of rows) {
        const key = open(this.masterKey, row.wrapped, this.aad(row.purpose))
        update.run(seal(newMasterKey, key, this.aad(row.purpose)), row.id)
      }
    })()
  }
}
