import { createSign, createVerify, X509Certificate, type KeyObject } from 'node:crypto'
import forge from 'node-forge'
import { children, der, fromDer, integerOf, OID, toDer, ASN1_CLASS, ASN1_TYPE, type Asn1 } from './der'

/**
 * The small X.509 toolkit TR-34 needs: issue certificates (lab CA, PED factory chain), issue and parse
 * CRLs (forge has no CRL support), and validate a peer's certificate against a CA and its CRL.
 * Keys are node KeyObjects; certificates are node X509Certificates.
 */

export interface IssueOptions {
  /**
   * Subject attributes in order, e.g. [['C','US'],['O','Issuer'],['serialNumber','123'],['CN','PED 123 KRD']]
   * (short names, plus X.520 serialNumber for a device's serial).
   */
  subject: [string, string][]
  publicKey: KeyObject
  /** Serial number as hex (positive). */
  serialHex: string
  issuer?: { certificate: X509Certificate; privateKey: KeyObject }
  /** The subject's own private key for a self-signed root. */
  selfSignKey?: KeyObject
  isCa?: boolean
  notBefore?: Date
  notAfter?: Date
}

const forgePrivate = (key: KeyObject) =>
  forge.pki.privateKeyFromPem(key.export({ type: 'pkcs1', format: 'pem' }).toString())
const forgePublic = (key: KeyObject) =>
  forge.pki.publicKeyFromPem(key.export({ type: 'spki', format: 'pem' }).toString())
const forgeCert = (cert: X509Certificate) => forge.pki.certificateFromPem(cert.toString())

export function issueCertificate(o: IssueOptions): X509Certificate {
  const cert = forge.pki.createCertificate()
  cert.publicKey = forgePublic(o.publicKey)
  cert.serialNumber = o.serialHex
  cert.validity.notBefore = o.notBefore ?? new Date(Date.now() - 60_000)
  cert.validity.notAfter = o.notAfter ?? new Date(Date.now() + 10 * 365 * 86_400_000)
  // forge knows C, O, CN, ... by short name and serialNumber (2.5.4.5) by its name only.
  const attrs = o.subject.map(([type, value]) =>
    type === 'serialNumber' ? { name: type, value } : { shortName: type, value },
  )
  cert.setSubject(attrs)
  cert.setIssuer(o.issuer ? forgeCert(o.issuer.certificate).subject.attributes : attrs)
  cert.setExtensions([
    { name: 'basicConstraints', cA: Boolean(o.isCa), critical: true },
    o.isCa
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
  ])
  const signer = o.issuer?.privateKey ?? o.selfSignKey
  if (!signer) throw new Error('a certificate needs an issuer or a self-signing key')
  cert.sign(forgePrivate(signer), forge.md.sha256.create())
  return new X509Certificate(forge.pki.certificateToPem(cert))
}

/** The issuer Name and serial of a certificate as raw DER pieces (for CMS IssuerAndSerialNumber). */
export function issuerAndSerial(cert: X509Certificate): { issuer: Asn1; serial: Buffer } {
  const tbs = children(children(fromDer(cert.raw, 'the certificate'), 'the certificate')[0], 'tbsCertificate')
  const offset = tbs[0].tagClass === ASN1_CLASS.CONTEXT_SPECIFIC ? 1 : 0
  return { serial: integerOf(tbs[offset], 'the certificate serial'), issuer: tbs[offset + 2] }
}

/** The certificate's subject Name as DER (the CRL issuer must equal it). */
function subjectDer(cert: X509Certificate): Buffer {
  const tbs = children(children(fromDer(cert.raw, 'the certificate'), 'the certificate')[0], 'tbsCertificate')
  const offset = tbs[0].tagClass === ASN1_CLASS.CONTEXT_SPECIFIC ? 1 : 0
  return toDer(tbs[offset + 4])
}

export interface Crl {
  der: Buffer
  issuerDer: Buffer
  thisUpdate: Date
  nextUpdate?: Date
  /** Revoked serial numbers, upper-case hex without leading zeros. */
  revokedSerials: Set<string>
}

const normaliseSerial = (hex: string) => hex.toUpperCase().replace(/^0+(?=.)/, '')

/** Issue a v2 CRL signed with SHA-256/RSA. */
export function createCrl(o: {
  issuer: { certificate: X509Certificate; privateKey: KeyObject }
  revokedSerialsHex: string[]
  thisUpdate?: Date
  nextUpdate?: Date
  crlNumber?: number
}): Crl {
  const thisUpdate = o.thisUpdate ?? new Date()
  const nextUpdate = o.nextUpdate ?? new Date(thisUpdate.getTime() + 7 * 86_400_000)
  const sigAlg = der.algorithm(OID.sha256WithRsa, der.null())
  const serialBytes = (hex: string) => {
    const b = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex')
    return b[0] & 0x80 ? Buffer.concat([Buffer.alloc(1), b]) : b
  }
  const revoked = o.revokedSerialsHex.map((s) =>
    der.seq([der.intBytes(serialBytes(s)), der.utcTime(thisUpdate)]),
  )
  const tbs = der.seq([
    der.int(1),
    sigAlg,
    der.raw(subjectDer(o.issuer.certificate)),
    der.utcTime(thisUpdate),
    der.utcTime(nextUpdate),
    ...(revoked.length ? [der.seq(revoked)] : []),
    der.explicit(
      0,
      der.seq([der.seq([der.oid(OID.crlNumber), der.octets(toDer(der.int(o.crlNumber ?? 1)))])]),
    ),
  ])
  const tbsDer = toDer(tbs)
  const signature = createSign('sha256').update(tbsDer).sign(o.issuer.privateKey)
  return parseCrl(toDer(der.seq([tbs, sigAlg, der.bits(signature)])))
}

export function parseCrl(bytes: Uint8Array): Crl {
  const [tbs] = children(fromDer(bytes, 'the CRL'), 'the CRL')
  const fields = children(tbs, 'the CRL tbsCertList')
  let i = fields[0].type === ASN1_TYPE.INTEGER ? 1 : 0
  i++ // signature algorithm
  const issuerDer = toDer(fields[i++])
  const time = (item: Asn1) =>
    item.type === ASN1_TYPE.UTCTIME
      ? forge.asn1.utcTimeToDate(String(item.value))
      : forge.asn1.generalizedTimeToDate(String(item.value))
  const thisUpdate = time(fields[i++])
  let nextUpdate: Date | undefined
  if (fields[i] && (fields[i].type === ASN1_TYPE.UTCTIME || fields[i].type === ASN1_TYPE.GENERALIZEDTIME)) {
    nextUpdate = time(fields[i++])
  }
  const revokedSerials = new Set<string>()
  if (fields[i] && fields[i].tagClass === ASN1_CLASS.UNIVERSAL && fields[i].type === ASN1_TYPE.SEQUENCE) {
    for (const entry of children(fields[i], 'the revoked certificates')) {
      revokedSerials.add(
        normaliseSerial(integerOf(children(entry, 'a CRL entry')[0], 'a revoked serial').toString('hex')),
      )
    }
  }
  return { der: Buffer.from(bytes), issuerDer, thisUpdate, nextUpdate, revokedSerials }
}

function verifyCrlSignature(crl: Crl, issuer: X509Certificate): boolean {
  const [tbs, , signature] = children(fromDer(crl.der, 'the CRL'), 'the CRL')
  const sig = Buffer.from(String(signature.value), 'binary').subarray(1)
  return createVerify('sha256').update(toDer(tbs)).verify(issuer.publicKey, sig)
}

/**
 * The subject's X.520 serialNumber attribute: in a device (KRD) certificate, the serial of the device it
 * was issued to. Undefined when absent, or when there is more than one (ambiguous, so never trusted).
 */
export function subjectSerialNumber(cert: X509Certificate): string | undefined {
  const values = cert.subject
    .split('\n')
    .filter((line) => line.startsWith('serialNumber='))
    .map((line) => line.slice('serialNumber='.length))
  return values.length === 1 ? values[0] : undefined
}

export type CertificateRole = 'KDH' | 'KRD'

export class CertificateValidationError extends Error {
  constructor(
    readonly reason: 'untrusted' | 'expired' | 'revoked' | 'role' | 'crl',
    message: string,
  ) {
    super(message)
    this.name = 'CertificateValidationError'
  }
}

/**
 * Validate a TR-34 party certificate: issued and signed by the CA, inside its validity period, not on the
 * CA's CRL (whose signature and dates are checked too), and — because TR-34 often uses one root for both
 * sides — carrying the expected role marker ("KDH" / "KRD") in its CN.
 */
export function validatePartyCertificate(
  cert: X509Certificate,
  o: { ca: X509Certificate; crl?: Crl; role: CertificateRole; now?: Date },
): void {
  const now = o.now ?? new Date()
  if (!cert.checkIssued(o.ca) || !cert.verify(o.ca.publicKey)) {
    throw new CertificateValidationError('untrusted', 'the certificate is not signed by the trusted CA')
  }
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) {
    throw new CertificateValidationError('expired', 'the certificate is outside its validity period')
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? ''
  if (!new RegExp(`\\b${o.role}\\b`).test(cn)) {
    throw new CertificateValidationError('role', `the certificate CN does not mark it as a ${o.role}`)
  }
  if (o.crl) {
    if (!o.crl.issuerDer.equals(subjectDer(o.ca)) || !verifyCrlSignature(o.crl, o.ca)) {
      throw new CertificateValidationError('crl', 'the revocation list is not signed by the trusted CA')
    }
    if (o.crl.nextUpdate && now > o.crl.nextUpdate) {
      throw new CertificateValidationError('crl', 'the revocation list is out of date')
    }
    if (o.crl.revokedSerials.has(normaliseSerial(cert.serialNumber))) {
      throw new CertificateValidationError('revoked', 'the certificate has been revoked')
    }
  }
}
