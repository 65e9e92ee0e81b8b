import { createHmac, hkdfSync } from 'node:crypto'
import type { Keyring } from '../crypto/keyring'
import { conflict, HttpProblem } from '../http/problem'
import { toHex } from '../keys/crypto/bytes'
import { deriveAesInitialKey } from '../keys/crypto/dukpt-aes'
import { deriveTdesIpek } from '../keys/crypto/dukpt-tdes'
import { keyCheckValue } from '../keys/crypto/kcv'
import type { KeyStore } from '../keys/store'
import type { Db } from '../store/db'

/** TDES: the 19 bits between the key set ID and the 21-bit counter number the devices of one BDK. */
const TDES_MAX_DEVICES = 1 << 19
/** AES: the 32-bit derivation ID of the Initial Key ID. */
const AES_MAX_DEVICES = 2 ** 32

/**
 * An Initial Key ID (AES) or initial KSN (TDES) that another BDK already issued: two devices would share it,
 * which PCI PIN 20-1 forbids. Never skipped over: the BDK IDs overlap and someone has to find out why.
 */
export class DuplicateInitialKeyError extends Error {
  constructor(kind: 'tdes' | 'aes', initialKeyId: string, holder: string) {
    const what = kind === 'tdes' ? 'initial KSN' : 'Initial Key ID'
    super(`${what} ${initialKeyId} was already issued under BDK ${holder}: duplicate IK ID, investigate`)
    this.name = 'DuplicateInitialKeyError'
  }
}

export interface AllocatedInitialKey {
  id: number
  kind: 'tdes' | 'aes'
  deviceNumber: number
  /** TDES: the initial KSN (10 bytes, counter 0); AES: the Initial Key ID (8 bytes). */
  initialKeyId: Buffer
  initialKey: Buffer
  kcv: string
}

/**
 * Issues DUKPT initial keys, one per device, never twice. The device number is the next one after the
 * highest ever issued for the BDK, inside the insert's transaction, and the table's UNIQUE constraints
 * reject a repeated number, KSN / Initial Key ID or key whatever the code above them does. Those constraints
 * are per BDK; an ID that another BDK already issued (BDKs sharing a BDK ID) is refused here, in code.
 *
 * TDES initial KSN = FFFF ‖ key set ID (3 bytes) ‖ device number (19 bits) ‖ counter (21 bits, zero).
 * AES Initial Key ID = BDK ID (4 bytes) ‖ device number (4 bytes).
 */
export class InitialKeyAllocator {
  private fingerprintKey: Buffer | undefined

  constructor(
    private readonly db: Db,
    private readonly keyring: Keyring,
    private readonly keys: KeyStore,
  ) {}

  /** Allocates initial keys for `serials` in one transaction; the caller zeroes the returned keys. */
  allocate(bdkKeyId: number, serials: readonly string[], runId?: number): AllocatedInitialKey[] {
    const bdk = this.keys.get(bdkKeyId)
    if (bdk.kind !== 'bdk' || !bdk.bdkId)
      throw new HttpProblem(400, 'Invalid key request', `${bdk.name} is not a BDK`)
    const kind = bdk.algorithm === 'tdes2' ? 'tdes' : 'aes'
    const insert = this.db.prepare(
      `INSERT INTO dukpt_initial_keys (bdk_key_id, device_number, initial_key_id, key_fingerprint, kcv,
         device_serial, run_id, allocated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    const issuedBy = this.db.prepare(
      `SELECT k.name FROM dukpt_initial_keys d JOIN keys k ON k.id = d.bdk_key_id WHERE d.initial_key_id = ?`,
    )
    return this.keys.withKey(bdkKeyId, (bdkKey) =>
      this.db.transaction(() => {
        const last = this.db
          .prepare('SELECT max(device_number) FROM dukpt_initial_keys WHERE bdk_key_id = ?')
          .pluck()
          .get(bdkKeyId) as number | null
        const out: AllocatedInitialKey[] = []
        let deviceNumber = last ?? 0
        for (const serial of serials) {
          deviceNumber++
          if (deviceNumber >= (kind === 'tdes' ? TDES_MAX_DEVICES : AES_MAX_DEVICES)) {
            throw conflict(`BDK ${bdk.name} has numbered all the devices it can; use a new BDK`)
          }
          const initialKeyId =
            kind === 'tdes'
              ? tdesInitialKsn(bdk.bdkId!, deviceNumber)
              : aesInitialKeyId(bdk.bdkId!, deviceNumber)
          const holder = issuedBy.pluck().get(toHex(initialKeyId)) as string | undefined
          if (holder !== undefined) {
            // The transaction rolls back: nothing of this batch is issued, so its keys go too.
            for (const k of out) k.initialKey.fill(0)
            throw new DuplicateInitialKeyError(kind, toHex(initialKeyId), holder)
          }
          const initialKey =
            kind === 'tdes' ? deriveTdesIpek(bdkKey, initialKeyId) : deriveAesInitialKey(bdkKey, initialKeyId)
          const kcv = toHex(keyCheckValue(kind, initialKey))
          const info = insert.run(
            bdkKeyId,
            deviceNumber,
            toHex(initialKeyId),
            this.fingerprint(initialKey),
            kcv,
            serial,
            runId ?? null,
            new Date().toISOString(),
          )
          out.push({ id: Number(info.lastInsertRowid), kind, deviceNumber, initialKeyId, initialKey, kcv })
        }
        return out
      })(),
    )
  }

  /** HMAC-SHA-256 under a key derived (HKDF) from the fixed lookup key: comparable, not reversible. */
  private fingerprint(key: Buffer): Buffer {
    this.fingerprintKey ??= Buffer.from(
      hkdfSync(
        'sha256',
        this.keyring.active('pan-lookup').key,
        Buffer.alloc(0),
        'ims dukpt initial-key fingerprint',
        32,
      ),
    )
    return createHmac('sha256', this.fingerprintKey).update(key).digest()
  }
}

export function tdesInitialKsn(keySetId: string, deviceNumber: number): Buffer {
  const ksn = Buffer.alloc(10)
  ksn.writeUInt16BE(0xffff, 0)
  Buffer.from(keySetId, 'hex').copy(ksn, 2)
  // 19-bit device number followed by the 21 counter bits (zero): bits 39..21 of the last 5 bytes.
  const tail = BigInt(deviceNumber) << 21n
  for (let i = 0; i < 5; i++) ksn[9 - i] = Number((tail >> BigInt(8 * i)) & 0xffn)
  return ksn
}

export function aesInitialKeyId(bdkId: string, deviceNumber: number): Buffer {
  const id = Buffer.alloc(8)
  Buffer.from(bdkId, 'hex').copy(id, 0)
  id.writeUInt32BE(deviceNumber, 4)
  return id
}
