import { createHmac } from 'node:crypto'
import type { Db } from '../store/db'
import { open, seal } from './aead'
import type { KeyPurpose, Keyring } from './keyring'
import { last4, luhnValid, maskPan } from './mask'

/** A column holding values sealed by the vault, so key rotation can re-encrypt it in the background. */
export interface SealedColumn {
  table: string
  column: string
  purpose: KeyPurpose
  /** AAD used when sealing, computed from the row (optional). */
  aadColumn?: string
}

export interface SealedPan {
  ciphertext: Buffer
  lookup: Buffer
  masked: string
  last4: string
}

/**
 * Field-level encryption. Sealed layout: data key id (4 bytes BE) ‖ AES-256-GCM(iv ‖ tag ‖ ct).
 * PANs also get an HMAC-SHA-256 lookup hash so a full PAN can be searched without decrypting anything.
 */
export class Vault {
  private columns: SealedColumn[] = []

  constructor(
    private readonly keyring: Keyring,
    private readonly db: Db,
  ) {}

  seal(purpose: KeyPurpose, plaintext: Uint8Array | string, aad?: string): Buffer {
    const dk = this.keyring.active(purpose)
    const id = Buffer.alloc(4)
    id.writeUInt32BE(dk.id)
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext
    return Buffer.concat([id, seal(dk.keyObject, data, aad === undefined ? undefined : Buffer.from(aad))])
  }

  open(sealed: Uint8Array, aad?: string): Buffer {
    const buf = Buffer.from(sealed)
    const dk = this.keyring.byId(buf.readUInt32BE(0))
    return open(dk.keyObject, buf.subarray(4), aad === undefined ? undefined : Buffer.from(aad))
  }

  panLookup(pan: string): Buffer {
    return createHmac('sha256', this.keyring.active('pan-lookup').keyObject)
      .update(normalisePan(pan))
      .digest()
  }

  sealPan(pan: string): SealedPan {
    const digits = normalisePan(pan)
    return {
      ciphertext: this.seal('pan-enc', digits),
      lookup: this.panLookup(digits),
      masked: maskPan(digits),
      last4: last4(digits),
    }
  }

  openPan(ciphertext: Uint8Array): string {
    return this.open(ciphertext).toString('utf8')
  }

  registerSealedColumn(column: SealedColumn): void {
    this.columns.push(column)
  }

  /**
   * Rotates the data key of a purpose, then re-encrypts every registered column in batches, yielding to
   * the event loop between batches so the server keeps serving while it runs. An empty value (a NULL or a
   * zero-length blob) holds nothing sealed and is left as it is.
   */
  async rotate(purpose: KeyPurpose, batchSize = 500): Promise<{ keyId: number; reencrypted: number }> {
    const dk = this.keyring.rotate(purpose)
    const prefix = Buffer.alloc(4)
    prefix.writeUInt32BE(dk.id)
    let reencrypted = 0
    for (const col of this.columns.filter((c) => c.purpose === purpose)) {
      const aadSel = col.aadColumn ? `, ${col.aadColumn} AS aad` : ''
      const select = this.db.prepare(
        `SELECT rowid AS rid, ${col.column} AS v${aadSel} FROM ${col.table}
         WHERE length(${col.column}) > 0 AND substr(${col.column}, 1, 4) != ? LIMIT ?`,
      )
      const update = this.db.prepare(`UPDATE ${col.table} SET ${col.column} = ? WHERE rowid = ?`)
      for (;;) {
        const rows = select.all(prefix, batchSize) as { rid: number; v: Buffer; aad?: string }[]
        if (rows.length === 0) break
        this.db.transaction(() => {
          for (const r of rows) {
            const aad = r.aad === undefined ? undefined : String(r.aad)
            update.run(this.seal(purpose, this.open(r.v, aad), aad), r.rid)
          }
        })()
        reencrypted += rows.length
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    return { keyId: dk.id, reencrypted }
  }
}

export class InvalidPanError extends Error {
  override name = 'InvalidPanError'
}

export function normalisePan(pan: string): string {
  const digits = pan.replace(/[\s-]/g, '')
  if (!/^\d{12,19}$/.test(digits)) throw new InvalidPanError('a PAN is 12 to 19 digits')
  return digits
}

export function isValidPan(pan: string): boolean {
  const digits = pan.replace(/[\s-]/g, '')
  return luhnValid(digits)
}
