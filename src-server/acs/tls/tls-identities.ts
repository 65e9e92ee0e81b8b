import { createPrivateKey, X509Certificate } from 'node:crypto'
import type { SecureContextOptions } from 'node:tls'
import type { AuditLog } from '../../audit/audit-log'
import type { Vault } from '../../crypto/vault'
import { HttpProblem } from '../../http/problem'
import { generateTestTlsPki } from '../../lab/pki'
import type { Db } from '../../store/db'
import { splitPemChain } from '../app-channel/signed-content'
import { certifiedKey } from '../keys/certified-key'

export interface TlsIdentityView {
  brand: string
  subject: string
  /** The names the ACS certificate answers to (its subjectAltName). */
  names: string
  expiresAt: string
  /** Subjects of the DS CA certificates trusted for this brand. */
  dsCas: string[]
}

/** What a TLS socket needs to present the ACS's certificate and check the DS's. */
export interface TlsIdentity {
  brand: string
  /** PKCS#8 PEM of the ACS's TLS key (what TLS contexts take). */
  key: string
  /** The ACS's chain, leaf first. */
  cert: string[]
  /** The DS CA certificates. */
  ca: string[]
  caCertificates: X509Certificate[]
  leaf: X509Certificate
}

interface IdentityRow {
  brand: string
  chain_pem: string
  key_sealed: Buffer
  ds_ca_pem: string
}

/**
 * The ACS's mutual-TLS identities, one per card scheme: the certificate the scheme issued the ACS (the server
 * certificate a directory server connects to with its AReqs, and the client certificate the ACS presents with
 * its RReqs) with its key sealed by the vault, and the scheme's CA certificates that the DS's own
 * certificates chain to. The console sees subjects, names and expiry dates, never the key.
 */
export class TlsIdentities {
  private cache: Map<string, TlsIdentity> | undefined
  private readonly listeners = new Set<() => void>()

  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly audit: AuditLog,
  ) {}

  list(): TlsIdentityView[] {
    return [...this.all().values()].map((id) => ({
      brand: id.brand,
      subject: id.leaf.subject.replace(/\n/g, ', '),
      names: id.leaf.subjectAltName ?? '',
      expiresAt: new Date(id.leaf.validTo).toISOString(),
      dsCas: id.caCertificates.map((ca) => ca.subject.replace(/\n/g, ', ')),
    }))
  }

  /**
   * Stores a brand's identity after checking it: the chain with its key (`certifiedKey`), a leaf usable for
   * TLS, and DS CA certificates that are CA certificates in date.
   */
  import(
    brand: string,
    input: { chainPem: string; privateKeyPem: string; dsCaPem: string },
    actor: string,
  ): TlsIdentityView {
    const { chain, leaf, key, subject, expiresAt } = certifiedKey(input, 'TLS')
    const usages = leaf.keyUsage
    if (usages && !usages.includes('1.3.6.1.5.5.7.3.1') && !usages.includes('1.3.6.1.5.5.7.3.2'))
      throw new HttpProblem(
        422,
        'Not a TLS certificate',
        'The certificate allows neither TLS server nor TLS client authentication',
      )
    const cas = splitPemChain(input.dsCaPem)
    if (cas.length === 0)
      throw new HttpProblem(422, 'Invalid DS CA', 'No PEM certificate found for the DS CA')
    const now = new Date()
    cas.forEach((pem, i) => {
      let ca: X509Certificate
      try {
        ca = new X509Certificate(pem)
      } catch {
        throw new HttpProblem(422, 'Invalid DS CA', `DS CA certificate ${i + 1} cannot be parsed`)
      }
      if (!ca.ca) throw new HttpProblem(422, 'Invalid DS CA', `DS CA certificate ${i + 1} is not a CA`)
      if (new Date(ca.validTo) < now)
        throw new HttpProblem(422, 'Invalid DS CA', `DS CA certificate ${i + 1} has expired`)
    })
    const pkcs8 = key.export({ format: 'der', type: 'pkcs8' })
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO acs_tls_identities (brand, chain_pem, key_sealed, ds_ca_pem, subject, expires_at, created_by, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (brand) DO UPDATE SET chain_pem = excluded.chain_pem, key_sealed = excluded.key_sealed,
             ds_ca_pem = excluded.ds_ca_pem, subject = excluded.subject, expires_at = excluded.expires_at,
             created_by = excluded.created_by, created_at = excluded.created_at`,
        )
        .run(
          brand,
          chain.join('\n'),
          this.vault.seal('secret-enc', pkcs8, `tls:${brand}`),
          cas.join('\n'),
          subject,
          expiresAt,
          actor,
          now.toISOString(),
        )
      this.audit.record({
        actor,
        action: 'acs.tls.import',
        target: `brand:${brand}`,
        details: { subject, expiresAt, dsCas: cas.length },
      })
    })()
    this.changed()
    return this.list().find((v) => v.brand === brand)!
  }

  /**
   * A test link for a pilot: a DS TLS CA, an ACS certificate for `hosts` (imported as this brand's identity)
   * and a directory server's certificate, returned with its key for the DS that will connect (the lab's or a
   * partner's test tool).
   */
  generateTest(
    brand: string,
    hosts: string[] | undefined,
    actor: string,
  ): { identity: TlsIdentityView; caPem: string; dsCertPem: string; dsKeyPem: string } {
    const pki = generateTestTlsPki({ name: `Lab ${brand} DS`, hosts })
    const identity = this.import(
      brand,
      { chainPem: pki.acsCertPem, privateKeyPem: pki.acsKeyPem, dsCaPem: pki.caPem },
      actor,
    )
    return { identity, caPem: pki.caPem, dsCertPem: pki.dsCertPem, dsKeyPem: pki.dsKeyPem }
  }

  /** The brand's identity, for the RReqs sent to its DS. */
  forBrand(brand: string): TlsIdentity | undefined {
    return this.all().get(brand)
  }

  /**
   * What the mutual-TLS listener presents and trusts: every brand's DS CAs are trusted (a DS connects before
   * anyone knows which scheme it belongs to), and the certificate shown is the brand's whose names match the
   * name the DS asked for (SNI), else the first brand's. Undefined while no identity exists.
   */
  listenerContexts():
    { byDefault: SecureContextOptions; forName(name: string): SecureContextOptions } | undefined {
    const ids = [...this.all().values()]
    if (ids.length === 0) return undefined
    const ca = [...new Set(ids.flatMap((id) => id.ca))]
    const options = (id: TlsIdentity): SecureContextOptions => ({ key: id.key, cert: id.cert.join('\n'), ca })
    return {
      byDefault: options(ids[0]),
      forName: (name) => options(ids.find((id) => id.leaf.checkHost(name) !== undefined) ?? ids[0]),
    }
  }

  /**
   * The brands whose DS CAs certified a directory server's certificate chain (leaf first, as the TLS peer
   * presented it): the schemes that DS may speak for. Empty when no stored CA anchors it.
   */
  brandsCertifying(chain: X509Certificate[]): string[] {
    const anchored = (ca: X509Certificate) =>
      chain.some((c) => c.raw.equals(ca.raw) || (c.checkIssued(ca) && c.verify(ca.publicKey)))
    return [...this.all().values()].filter((id) => id.caCertificates.some(anchored)).map((id) => id.brand)
  }

  /** Called after every change (the listener reloads its certificates). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => void this.listeners.delete(listener)
  }

  private changed(): void {
    this.cache = undefined
    for (const l of this.listeners) l()
  }

  private all(): Map<string, TlsIdentity> {
    if (this.cache) return this.cache
    const rows = this.db
      .prepare('SELECT brand, chain_pem, key_sealed, ds_ca_pem FROM acs_tls_identities ORDER BY brand')
      .all() as IdentityRow[]
    this.cache = new Map(
      rows.map((r) => {
        const cert = splitPemChain(r.chain_pem)
        const ca = splitPemChain(r.ds_ca_pem)
        return [
          r.brand,
          {
            brand: r.brand,
            key: createPrivateKey({
              key: this.vault.open(r.key_sealed, `tls:${r.brand}`),
              format: 'der',
              type: 'pkcs8',
            })
              .export({ format: 'pem', type: 'pkcs8' })
              .toString(),
            cert,
            ca,
            caCertificates: ca.map((pem) => new X509Certificate(pem)),
            leaf: new X509Certificate(cert[0]),
          },
        ]
      }),
    )
    return this.cache
  }
}
