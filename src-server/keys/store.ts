import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import type { AuditLog } from '../audit/audit-log'
import type { Vault } from '../crypto/vault'
import { conflict, HttpProblem, notFound } from '../http/problem'
import type { Db } from '../store/db'
import { toHex } from './crypto/bytes'
import type { CipherFamily } from './crypto/cbc'
import { keyCheckValue, defaultKcvMethod } from './crypto/kcv'
import { withOddParity } from './crypto/parity'
import { unwrapTr31, wrapTr31, Tr31Error } from './crypto/tr31'
import {
  KEY_ENCRYPTION_USAGES,
  KEY_KIND_DEFAULTS,
  KEY_KIND_USAGES,
  SYMMETRIC_LENGTH,
  type KeyAlgorithm,
  type KeyKind,
  type KeyRecord,
  type KeyStatus,
  type SymmetricAlgorithm,
} from './model'

interface KeyRow {
  id: number
  name: string
  kind: KeyKind
  algorithm: KeyAlgorithm
  key_usage: string
  mode_of_use: string
  kcv: string
  kcv_method: 'legacy' | 'cmac' | 'sha256'
  status: KeyStatus
  wrapped_under: 'master' | 'key'
  kek_id: number | null
  sealed: Buffer | null
  key_block: string | null
  public_key: string | null
  bdk_id: string | null
  origin: 'generated' | 'ceremony' | 'imported'
  ceremony_id: number | null
  created_by: string
  created_at: string
  status_changed_at: string
}

export interface NewKeyMetadata {
  name: string
  kind: KeyKind
  algorithm: KeyAlgorithm
  keyUsage?: string
  modeOfUse?: string
  /** DUKPT BDKs: key set ID (TDES, 6 hex) or BDK ID (AES, 8 hex); random when absent. */
  bdkId?: string
  /** Store as a TR-31 key block under this stored key-encryption key instead of under the master key. */
  wrapUnder?: number
}

export const familyOf = (algorithm: SymmetricAlgorithm): CipherFamily =>
  algorithm.startsWith('aes') ? 'aes' : 'tdes'

const aadFor = (id: number, algorithm: string) => `ims key ${id} ${algorithm}`
const nowIso = () => new Date().toISOString()

/**
 * The key store: every key lives wrapped, either sealed by the vault under the master-key hierarchy or as
 * a TR-31 block under a stored key-encryption key. The outside world sees metadata and the KCV only; clear
 * key material exists only inside {@link KeyStore.withKey} callbacks and is zeroed when they return.
 */
export class KeyStore {
  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly audit: AuditLog,
  ) {}

  list(): KeyRecord[] {
    return (this.db.prepare('SELECT * FROM keys ORDER BY id').all() as KeyRow[]).map((r) => this.toRecord(r))
  }

  get(id: number): KeyRecord {
    return this.toRecord(this.row(id))
  }

  private row(id: number): KeyRow {
    const row = this.db.prepare('SELECT * FROM keys WHERE id = ?').get(id) as KeyRow | undefined
    if (!row) throw notFound(`No key with id ${id}`)
    return row
  }

  private toRecord(r: KeyRow): KeyRecord {
    const kek =
      r.kek_id === null
        ? undefined
        : (this.db.prepare('SELECT name FROM keys WHERE id = ?').pluck().get(r.kek_id) as string)
    return {
      id: r.id,
      name: r.name,
      kind: r.kind,
      algorithm: r.algorithm,
      keyUsage: r.key_usage,
      modeOfUse: r.mode_of_use,
      kcv: r.kcv,
      kcvMethod: r.kcv_method,
      status: r.status,
      wrappedUnder:
        r.kek_id === null ? { type: 'master' } : { type: 'key', keyId: r.kek_id, name: kek ?? '' },
      ...(r.public_key ? { publicKey: r.public_key } : {}),
      ...(r.bdk_id ? { bdkId: r.bdk_id } : {}),
      origin: r.origin,
      ...(r.ceremony_id !== null ? { ceremonyId: r.ceremony_id } : {}),
      createdBy: r.created_by,
      createdAt: r.created_at,
      statusChangedAt: r.status_changed_at,
    }
  }

  /** A fresh random key (odd parity for TDES), or an ECDSA P-256 key pair for signing keys. */
  generate(meta: NewKeyMetadata, actor: string): KeyRecord {
    if (meta.algorithm === 'ecdsa-p256') {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      const der = privateKey.export({ type: 'pkcs8', format: 'der' })
      try {
        return this.insert(meta, der, 'generated', actor, {
          publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        })
      } finally {
        der.fill(0)
      }
    }
    const length = SYMMETRIC_LENGTH[meta.algorithm]
    const raw = randomBytes(length)
    const key = familyOf(meta.algorithm) === 'tdes' ? withOddParity(raw) : raw
    raw.fill(0)
    try {
      return this.insert(meta, key, 'generated', actor)
    } finally {
      key.fill(0)
    }
  }

  /**
   * Stores clear key material that was just assembled (a ceremony's combined components, an import).
   * The caller zeroes its own copy afterwards.
   */
  storeSecret(
    meta: NewKeyMetadata,
    key: Buffer,
    origin: 'ceremony' | 'imported',
    actor: string,
    ceremonyId?: number,
  ): KeyRecord {
    if (meta.algorithm === 'ecdsa-p256') throw badKey('only symmetric keys can be entered or imported')
    if (key.length !== SYMMETRIC_LENGTH[meta.algorithm]) {
      throw badKey(`a ${meta.algorithm} key is ${SYMMETRIC_LENGTH[meta.algorithm]} bytes, not ${key.length}`)
    }
    return this.insert(meta, key, origin, actor, { ceremonyId })
  }

  /** Imports a TR-31 key block wrapped under a stored KEK/KBPK; the block is kept as it is, under that key. */
  importKeyBlock(
    meta: Omit<NewKeyMetadata, 'wrapUnder' | 'algorithm'> & { kekId: number; keyBlock: string },
    actor: string,
  ): KeyRecord {
    const kek = this.requireKek(meta.kekId)
    const unwrapped = this.withKey(kek.id, (kbpk) => {
      try {
        return unwrapTr31(kbpk, meta.keyBlock)
      } catch (err) {
        if (err instanceof Tr31Error) throw badKey(`the key block does not unwrap: ${err.message}`)
        throw err
      }
    })
    try {
      const algorithm = algorithmOfTr31(unwrapped.header.algorithm, unwrapped.key.length)
      return this.insert(
        {
          ...meta,
          algorithm,
          keyUsage: unwrapped.header.keyUsage,
          modeOfUse: unwrapped.header.modeOfUse,
          wrapUnder: kek.id,
        },
        unwrapped.key,
        'imported',
        actor,
        { keyBlock: meta.keyBlock },
      )
    } finally {
      unwrapped.key.fill(0)
    }
  }

  /**
   * The BDK ID for a new BDK: the requested one (checked) or a random one. KSNs and Initial Key IDs start
   * with it, so no two BDKs may share it whatever their algorithm (an AES-128 and an AES-256 BDK with the
   * same ID would issue the same Initial Key IDs; PCI PIN 20-1 wants one per device). The schema's unique
   * index is per algorithm only and stays so (older databases may hold such pairs), hence this check.
   * Destroyed BDKs keep their ID: the IDs they issued are still in the field.
   */
  newBdkId(algorithm: KeyAlgorithm, requested: string | undefined): string {
    const owner = this.db.prepare('SELECT name FROM keys WHERE bdk_id = ?').pluck()
    if (requested === undefined) {
      // A random 3-byte key set ID collides by chance once a few thousand BDKs exist: draw again.
      for (let attempt = 0; attempt < 100; attempt++) {
        const id = checkBdkId(algorithm, undefined)
        if (owner.get(id) === undefined) return id
      }
      throw conflict('no free BDK ID found; give one explicitly')
    }
    const id = checkBdkId(algorithm, requested)
    const taken = owner.get(id) as string | undefined
    if (taken !== undefined)
      throw conflict(`BDK ID ${id} is already the BDK ID of ${taken}; each BDK needs its own`)
    return id
  }

  private requireKek(id: number): KeyRow {
    const kek = this.row(id)
    // Kind and usage both: a row stored before usages were checked against kinds may disagree.
    if ((kek.kind !== 'kek' && kek.kind !== 'kbpk') || !KEY_ENCRYPTION_USAGES.includes(kek.key_usage)) {
      throw badKey(`key ${kek.name} is not a key-encryption key`)
    }
    if (kek.status !== 'active') throw conflict(`key-encryption key ${kek.name} is ${kek.status}, not active`)
    return kek
  }

  private insert(
    meta: NewKeyMetadata,
    key: Buffer,
    origin: KeyRow['origin'],
    actor: string,
    extra: { publicKey?: string; ceremonyId?: number; keyBlock?: string } = {},
  ): KeyRecord {
    const defaults = KEY_KIND_DEFAULTS[meta.kind]
    if (!defaults.algorithms.includes(meta.algorithm)) {
      throw badKey(`a ${meta.kind} key cannot be ${meta.algorithm} (use ${defaults.algorithms.join(', ')})`)
    }
    const keyUsage = meta.keyUsage ?? defaults.keyUsage
    const modeOfUse = meta.modeOfUse ?? defaults.modeOfUse
    // Generated, entered and imported keys alike (an import's usage comes from its block).
    checkKindUsage(meta.kind, keyUsage)
    const bdkId = meta.kind === 'bdk' ? this.newBdkId(meta.algorithm, meta.bdkId) : undefined
    if (meta.kind !== 'bdk' && meta.bdkId) throw badKey('only a BDK has a BDK ID')
    if (this.db.prepare('SELECT 1 FROM keys WHERE name = ?').get(meta.name)) {
      throw conflict(`A key named ${meta.name} already exists`)
    }
    const { kcv, method } = checkValueOf(meta.algorithm, key, extra.publicKey)
    return this.db.transaction(() => {
      const id = this.db.prepare('SELECT coalesce(max(id), 0) + 1 FROM keys').pluck().get() as number
      let sealed: Buffer | null = null
      let keyBlock: string | null = extra.keyBlock ?? null
      if (meta.wrapUnder !== undefined) {
        if (meta.algorithm === 'ecdsa-p256') throw badKey('signing keys are kept under the master key')
        const kek = this.requireKek(meta.wrapUnder)
        keyBlock ??= this.withKey(kek.id, (kbpk) => {
          try {
            return wrapTr31({
              kbpk,
              key,
              header: {
                version: kek.algorithm.startsWith('aes') ? 'D' : 'B',
                keyUsage,
                algorithm: meta.algorithm.startsWith('aes') ? 'A' : 'T',
                modeOfUse,
                exportability: 'E',
              },
            })
          } catch (err) {
            if (err instanceof Tr31Error) throw badKey(err.message)
            throw err
          }
        })
      } else {
        sealed = this.vault.seal('secret-enc', key, aadFor(id, meta.algorithm))
      }
      const at = nowIso()
      this.db
        .prepare(
          `INSERT INTO keys (id, name, kind, algorithm, key_usage, mode_of_use, kcv, kcv_method, status,
             wrapped_under, kek_id, sealed, key_block, public_key, bdk_id, origin, ceremony_id, created_by,
             created_at, status_changed_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          meta.name,
          meta.kind,
          meta.algorithm,
          keyUsage,
          modeOfUse,
          kcv,
          method,
          meta.wrapUnder === undefined ? 'master' : 'key',
          meta.wrapUnder ?? null,
          sealed,
          keyBlock,
          extra.publicKey ?? null,
          bdkId ?? null,
          origin,
          extra.ceremonyId ?? null,
          actor,
          at,
          at,
        )
      this.audit.record({
        actor,
        action: `keys.${origin === 'generated' ? 'generate' : origin === 'ceremony' ? 'create-from-components' : 'import'}`,
        target: `key:${id}`,
        details: {
          name: meta.name,
          kind: meta.kind,
          algorithm: meta.algorithm,
          keyUsage,
          kcv,
          wrappedUnder: meta.wrapUnder ?? 'master',
        },
      })
      return this.get(id)
    })()
  }

  activate(id: number, actor: string): KeyRecord {
    return this.transition(id, ['pending', 'retired'], 'active', actor)
  }

  retire(id: number, actor: string): KeyRecord {
    return this.transition(id, ['active'], 'retired', actor)
  }

  /** Destroys the key material for good; refused while other keys still live under it. */
  destroy(id: number, actor: string): KeyRecord {
    const dependants = this.db
      .prepare(`SELECT name FROM keys WHERE kek_id = ? AND status != 'destroyed'`)
      .pluck()
      .all(id) as string[]
    if (dependants.length) {
      throw conflict(`Keys are still wrapped under this key (${dependants.join(', ')}); destroy them first`)
    }
    return this.transition(id, ['pending', 'active', 'retired'], 'destroyed', actor)
  }

  private transition(id: number, from: KeyStatus[], to: KeyStatus, actor: string): KeyRecord {
    return this.db.transaction(() => {
      const row = this.row(id)
      if (!from.includes(row.status))
        throw conflict(`Key ${row.name} is ${row.status}; it cannot become ${to}`)
      const wipe = to === 'destroyed'
      this.db
        .prepare(
          `UPDATE keys SET status = ?, status_changed_at = ?${wipe ? ', sealed = NULL, key_block = NULL' : ''} WHERE id = ?`,
        )
        .run(to, nowIso(), id)
      this.audit.record({
        actor,
        action: `keys.${to === 'active' ? 'activate' : to === 'retired' ? 'retire' : 'destroy'}`,
        target: `key:${id}`,
        details: { name: row.name, kcv: row.kcv, from: row.status },
      })
      return this.get(id)
    })()
  }

  /**
   * Runs `fn` with the clear key, then zeroes it. Only active keys may be used, except that a KEK may be
   * used for unwrapping the keys stored under it whatever their own state (`allowInactive`).
   */
  withKey<T>(
    id: number,
    fn: (key: Buffer, record: KeyRecord) => T,
    options: { allowInactive?: boolean } = {},
  ): T {
    const row = this.row(id)
    if (row.status === 'destroyed') throw conflict(`Key ${row.name} was destroyed`)
    if (row.status !== 'active' && !options.allowInactive)
      throw conflict(`Key ${row.name} is ${row.status}, not active`)
    if (row.algorithm === 'ecdsa-p256') throw badKey(`key ${row.name} is a signing key`)
    const key = this.clear(row)
    try {
      return fn(key, this.toRecord(row))
    } finally {
      key.fill(0)
    }
  }

  private clear(row: KeyRow): Buffer {
    if (row.sealed) return this.vault.open(row.sealed, aadFor(row.id, row.algorithm))
    const kekId = row.kek_id!
    return this.withKey(kekId, (kbpk) => unwrapTr31(kbpk, row.key_block!).key, { allowInactive: true })
  }

  /** The private half of an active signing key. */
  signingKey(id: number): { privateKey: KeyObject; record: KeyRecord } {
    const row = this.row(id)
    if (row.algorithm !== 'ecdsa-p256') throw badKey(`key ${row.name} is not a signing key`)
    if (row.status !== 'active') throw conflict(`Signing key ${row.name} is ${row.status}, not active`)
    const der = this.vault.open(row.sealed!, aadFor(row.id, row.algorithm))
    try {
      return {
        privateKey: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
        record: this.toRecord(row),
      }
    } finally {
      der.fill(0)
    }
  }
}

function badKey(detail: string): HttpProblem {
  return new HttpProblem(400, 'Invalid key request', detail)
}

/** Refuses a TR-31 usage that does not belong to the kind (KEY_KIND_USAGES). */
export function checkKindUsage(kind: KeyKind, keyUsage: string): void {
  const usages = KEY_KIND_USAGES[kind]
  if (!usages.includes(keyUsage)) {
    throw badKey(`a ${kind} key cannot have TR-31 usage ${keyUsage} (use ${usages.join(', ')})`)
  }
}

function checkBdkId(algorithm: KeyAlgorithm, bdkId: string | undefined): string {
  const bytes = algorithm.startsWith('aes') ? 4 : 3
  if (bdkId === undefined) return toHex(randomBytes(bytes))
  if (!new RegExp(`^[0-9A-Fa-f]{${bytes * 2}}$`).test(bdkId)) {
    throw badKey(`the BDK ID of a ${algorithm} BDK is ${bytes * 2} hex digits`)
  }
  return bdkId.toUpperCase()
}

function checkValueOf(algorithm: KeyAlgorithm, key: Buffer, publicKeyPem?: string) {
  if (algorithm === 'ecdsa-p256') {
    // A signing key is known by a fingerprint of its public key: the first 5 bytes of SHA-256(SPKI PEM body).
    return {
      kcv: toHex(
        createHash('sha256')
          .update(publicKeyPem ?? '')
          .digest()
          .subarray(0, 5),
      ),
      method: 'sha256' as const,
    }
  }
  const family = familyOf(algorithm)
  return { kcv: toHex(keyCheckValue(family, key)), method: defaultKcvMethod(family) }
}

function algorithmOfTr31(tr31Algorithm: string, length: number): SymmetricAlgorithm {
  if (tr31Algorithm === 'T' && length === 16) return 'tdes2'
  if (tr31Algorithm === 'T' && length === 24) return 'tdes3'
  const aes = ({ 16: 'aes128', 24: 'aes192', 32: 'aes256' } as const)[length as 16 | 24 | 32]
  if (tr31Algorithm === 'A' && aes) return aes
  throw badKey(`a key block with algorithm ${tr31Algorithm} and ${length} bytes cannot be stored`)
}
