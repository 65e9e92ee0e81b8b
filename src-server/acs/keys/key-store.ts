import { createHmac, createPrivateKey, randomBytes } from 'node:crypto'
import type { AuditLog } from '../../audit/audit-log'
import { desEncrypt } from '../../crypto/block'
import type { Vault } from '../../crypto/vault'
import { HttpProblem } from '../../http/problem'
import type { AuthValueConfig, AuthValueGeneratorName } from '../../issuers/model'
import type { IssuerRepository, ResolvedRange } from '../../issuers/repository'
import { generateTestPki } from '../../lab/pki'
import type { Db } from '../../store/db'
import { splitPemChain, type AcsSigner } from '../app-channel/signed-content'
import { certifiedKey } from './certified-key'
import {
  mastercardSpa2DsTransIdGenerator,
  mastercardSpa2GoCavvGenerator,
} from '../auth-values/mastercard-spa2'
import type { AuthValueGenerator } from '../auth-values/strategy'
import { visaCavvGenerator } from '../auth-values/visa-cavv'

/**
 * The ACS key store: authentication-value keys per card range and the per-brand app-channel signing key
 * with its certificate chain. Everything secret is sealed by the vault; the console sees key check values
 * (KCV) and certificate subjects only. Generators and signers are built once and cached, so the AReq path
 * never unseals a key.
 */
export type RangeKeyKind = 'visa-cvk' | 'mastercard-iav'

export interface RangeKeyView {
  kind: RangeKeyKind
  keyIndicator: string
  kcv: string
  createdAt: string
}

export interface SigningView {
  brand: string
  alg: 'PS256' | 'ES256'
  subject: string
  expiresAt: string
  certificates: number
  hasRoot: boolean
}

/** Which generator a range uses, from its `authValue` column, with per-brand defaults. */
export function generatorConfig(range: ResolvedRange): {
  generator: AuthValueGeneratorName
  keyIndicator: string
} {
  const cfg = range.authValue as AuthValueConfig
  const byBrand: Partial<Record<string, AuthValueGeneratorName>> = {
    visa: 'visa-cavv',
    mastercard: 'mastercard-spa2-go-cavv',
  }
  return {
    generator: cfg.generator ?? byBrand[range.brand] ?? 'none',
    keyIndicator: cfg.keyIndicator ?? '01',
  }
}

const KIND_OF_GENERATOR: Partial<Record<AuthValueGeneratorName, RangeKeyKind>> = {
  'visa-cavv': 'visa-cvk',
  'mastercard-spa2-go-cavv': 'mastercard-iav',
  'mastercard-spa2-dstransid': 'mastercard-iav',
}

/** Key check value: the CVK pair as 2-key TDES over zeros (the scheme convention), an HMAC of zeros for HMAC keys. */
export function keyCheckValue(kind: RangeKeyKind, key: Buffer): string {
  if (kind === 'visa-cvk')
    return desEncrypt(key, Buffer.alloc(8)).subarray(0, 3).toString('hex').toUpperCase()
  return createHmac('sha256', key)
    .update(Buffer.alloc(16))
    .digest()
    .subarray(0, 3)
    .toString('hex')
    .toUpperCase()
}

export class AcsKeyStore {
  /** Built generators by range, with the configuration they were built for (a range's may change). */
  private generators = new Map<number, { config: string; built: AuthValueGenerator | null }>()
  private signers = new Map<string, AcsSigner | null>()

  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly issuers: IssuerRepository,
    private readonly audit: AuditLog,
  ) {}

  listRangeKeys(rangeId: number): RangeKeyView[] {
    return (
      this.db
        .prepare(
          'SELECT kind, key_indicator, kcv, created_at FROM acs_range_keys WHERE range_id = ? ORDER BY kind, key_indicator',
        )
        .all(rangeId) as { kind: RangeKeyKind; key_indicator: string; kcv: string; created_at: string }[]
    ).map((r) => ({ kind: r.kind, keyIndicator: r.key_indicator, kcv: r.kcv, createdAt: r.created_at }))
  }

  /** Stores (or replaces) one key of a range. `key` is 16 bytes A‖B for a CVK pair, 16–64 bytes for IAV. */
  setRangeKey(
    rangeId: number,
    kind: RangeKeyKind,
    keyIndicator: string,
    key: Buffer,
    actor: string,
    /** The second operator of a dual-control entry. */
    approvedBy?: string,
  ): RangeKeyView {
    const range = this.issuers.getRange(rangeId)
    if (kind === 'visa-cvk' && key.length !== 16)
      throw new HttpProblem(422, 'Invalid key', 'A CVK pair is 16 bytes (32 hex digits): key A then key B')
    if (kind === 'mastercard-iav' && (key.length < 16 || key.length > 64))
      throw new HttpProblem(422, 'Invalid key', 'An IAV key is 16 to 64 bytes')
    if (!/^\d{2}$/.test(keyIndicator))
      throw new HttpProblem(422, 'Invalid key', 'The key indicator is 2 digits')
    const kcv = keyCheckValue(kind, key)
    const now = new Date().toISOString()
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO acs_range_keys (range_id, kind, key_indicator, sealed, kcv, created_by, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (range_id, kind, key_indicator) DO UPDATE SET sealed = excluded.sealed, kcv = excluded.kcv,
             created_by = excluded.created_by, created_at = excluded.created_at`,
        )
        .run(
          rangeId,
          kind,
          keyIndicator,
          this.vault.seal('secret-enc', key, `range-key:${rangeId}`),
          kcv,
          actor,
          now,
        )
      this.audit.record({
        actor,
        action: 'acs.range-key.set',
        target: `range:${range.startPrefix}-${range.endPrefix}`,
        details: { kind, keyIndicator, kcv, ...(approvedBy && { approvedBy }) },
      })
    })()
    this.generators.delete(rangeId)
    return { kind, keyIndicator, kcv, createdAt: now }
  }

  /** Generates random keys for a range's configured generator (pilot and lab ranges). */
  generateRangeKeys(rangeId: number, actor: string): RangeKeyView {
    const range = this.issuers.getRange(rangeId)
    const { generator, keyIndicator } = generatorConfig(range)
    const kind = KIND_OF_GENERATOR[generator]
    if (!kind)
      throw new HttpProblem(
        422,
        'No generator',
        `Card range ${rangeId} has no authentication-value generator`,
      )
    return this.setRangeKey(rangeId, kind, keyIndicator, randomBytes(kind === 'visa-cvk' ? 16 : 32), actor)
  }

  private openRangeKey(rangeId: number, kind: RangeKeyKind, keyIndicator: string): Buffer | undefined {
    const sealed = this.db
      .prepare('SELECT sealed FROM acs_range_keys WHERE range_id = ? AND kind = ? AND key_indicator = ?')
      .pluck()
      .get(rangeId, kind, keyIndicator) as Buffer | undefined
    return sealed ? this.vault.open(sealed, `range-key:${rangeId}`) : undefined
  }

  /** The range's authentication-value generator, or undefined when its keys are missing (fail closed). */
  generatorFor(range: ResolvedRange): AuthValueGenerator | undefined {
    const { generator, keyIndicator } = generatorConfig(range)
    const config = `${generator}/${keyIndicator}`
    const cached = this.generators.get(range.id)
    if (cached?.config === config) return cached.built ?? undefined
    const kind = KIND_OF_GENERATOR[generator]
    const key = kind ? this.openRangeKey(range.id, kind, keyIndicator) : undefined
    let built: AuthValueGenerator | null = null
    if (key && generator === 'visa-cavv') {
      const pair = { a: key.subarray(0, 8), b: key.subarray(8, 16) }
      built = visaCavvGenerator({ keyIndicator, keys: () => pair })
    } else if (key && generator === 'mastercard-spa2-go-cavv') built = mastercardSpa2GoCavvGenerator({ key })
    else if (key && generator === 'mastercard-spa2-dstransid')
      built = mastercardSpa2DsTransIdGenerator({ key })
    this.generators.set(range.id, { config, built })
    return built ?? undefined
  }

  listSigning(): SigningView[] {
    return (
      this.db
        .prepare(
          'SELECT brand, alg, subject, expires_at, chain_pem, root_pem FROM acs_signing_keys ORDER BY brand',
        )
        .all() as {
        brand: string
        alg: 'PS256' | 'ES256'
        subject: string
        expires_at: string
        chain_pem: string
        root_pem: string | null
      }[]
    ).map((r) => ({
      brand: r.brand,
      alg: r.alg,
      subject: r.subject,
      expiresAt: r.expires_at,
      certificates: splitPemChain(r.chain_pem).length,
      hasRoot: r.root_pem !== null,
    }))
  }

  /**
   * Imports a brand's signing key and chain (leaf first, then every intermediate). The chain is validated
   * (order, signatures, dates, CA flags, anchoring to the DS root when given) and the key must match the leaf.
   */
  importSigning(
    brand: string,
    input: { chainPem: string; privateKeyPem: string; rootPem?: string },
    actor: string,
  ): SigningView {
    const { chain, key, subject, expiresAt } = certifiedKey(input, 'signing')
    const alg =
      key.asymmetricKeyType === 'rsa' ? 'PS256' : key.asymmetricKeyType === 'ec' ? 'ES256' : undefined
    if (!alg)
      throw new HttpProblem(422, 'Unsupported key', 'The signing key must be RSA (PS256) or EC P-256 (ES256)')
    const pkcs8 = key.export({ format: 'der', type: 'pkcs8' })
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO acs_signing_keys (brand, alg, chain_pem, root_pem, key_sealed, subject, expires_at, created_by, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (brand) DO UPDATE SET alg = excluded.alg, chain_pem = excluded.chain_pem, root_pem = excluded.root_pem,
             key_sealed = excluded.key_sealed, subject = excluded.subject, expires_at = excluded.expires_at,
             created_by = excluded.created_by, created_at = excluded.created_at`,
        )
        .run(
          brand,
          alg,
          chain.join('\n'),
          input.rootPem ?? null,
          this.vault.seal('secret-enc', pkcs8, `signing:${brand}`),
          subject,
          expiresAt,
          actor,
          new Date().toISOString(),
        )
      this.audit.record({
        actor,
        action: 'acs.signing.import',
        target: `brand:${brand}`,
        details: { alg, subject, expiresAt },
      })
    })()
    this.signers.delete(brand)
    return this.listSigning().find((s) => s.brand === brand)!
  }

  /** A DS root → intermediate → signing-certificate test PKI for the pilot; returns the root to trust. */
  generateTestSigning(
    brand: string,
    actor: string,
    leafKeyType: 'RSA' | 'EC' = 'RSA',
  ): { rootPem: string; signing: SigningView } {
    const pki = generateTestPki({ name: `Lab ${brand} DS`, leafKeyType })
    const signing = this.importSigning(
      brand,
      { chainPem: pki.chainPem.join('\n'), privateKeyPem: pki.leafKeyPem, rootPem: pki.rootPem },
      actor,
    )
    return { rootPem: pki.rootPem, signing }
  }

  rootPem(brand: string): string | undefined {
    return (
      (this.db.prepare('SELECT root_pem FROM acs_signing_keys WHERE brand = ?').pluck().get(brand) as
        string | null) ?? undefined
    )
  }

  signerFor(brand: string): AcsSigner | undefined {
    const cached = this.signers.get(brand)
    if (cached !== undefined) return cached ?? undefined
    const row = this.db
      .prepare('SELECT alg, chain_pem, key_sealed FROM acs_signing_keys WHERE brand = ?')
      .get(brand) as { alg: 'PS256' | 'ES256'; chain_pem: string; key_sealed: Buffer } | undefined
    const signer: AcsSigner | null = row
      ? {
          alg: row.alg,
          chainPem: splitPemChain(row.chain_pem),
          privateKey: createPrivateKey({
            key: this.vault.open(row.key_sealed, `signing:${brand}`),
            format: 'der',
            type: 'pkcs8',
          }),
        }
      : null
    this.signers.set(brand, signer)
    return signer ?? undefined
  }
}
