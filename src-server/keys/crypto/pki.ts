import { createSign, createVerify, X509Certificate, type KeyObject } from 'node:crypto'
import forge from 'node-forge'
import {
  children,
  der,
  fromDer,
  integerOf,
  oidOf,
  OID,
  primitive,
  toDer,
  ASN1_CLASS,
  ASN1_TYPE,
  type Asn1,
} from './der'

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

/** keyUsage bit numbers (RFC 5280 §4.2.1.3). */
const KEY_USAGE_CRL_SIGN = 6

/** The certificate's keyUsage BIT STRING (its unused-bits octet first); undefined when it has none. */
function keyUsageOf(cert: X509Certificate): Buffer | undefined {
  const tbs = children(children(fromDer(cert.raw, 'the certificate'), 'the certificate')[0], 'tbsCertificate')
  const extensions = tbs.find((item) => item.tagClass === ASN1_CLASS.CONTEXT_SPECIFIC && item.type === 3)
  if (!extensions) return undefined
  for (const ext of children(children(extensions, 'the certificate extensions')[0], 'the extensions')) {
    const parts = children(ext, 'a certificate extension')
    if (oidOf(parts[0], 'a certificate extension') !== OID.keyUsage) continue
    const value = primitive(parts[parts.length - 1], ASN1_TYPE.OCTETSTRING, 'the key usage')
    return primitive(fromDer(value, 'the key usage'), ASN1_TYPE.BITSTRING, 'the key usage')
  }
  return undefined
}

const hasUsageBit = (bits: Buffer, bit: number) => ((bits[1 + (bit >> 3)] ?? 0) & (0x80 >> (bit & 7))) !== 0

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
  /** The cRLNumber extension (RFC 5280 §5.2.3): the CA numbers its CRLs in increasing order. */
  crlNumber?: bigint
  /** Revoked serial numbers as `X509Certificate.serialNumber` writes them, without leading zeros (`serialKey`). */
  revokedSerials: Set<string>
}

/**
 * A serial as Node's `X509Certificate.serialNumber` writes it (upper-case hex, with '-' before the negative
 * serials of non-conformant CAs), without leading zeros: what a certificate and a CRL entry are matched by.
 */
const serialKey = (hex: string) => hex.toUpperCase().replace(/^(-?)0+(?=.)/, '$1')

/** A DER INTEGER's content bytes (two's complement) as a `serialKey`. */
function serialOfDer(content: Buffer): string {
  let value = BigInt(`0x${content.toString('hex') || '0'}`)
  if (content[0] & 0x80) value -= 1n << BigInt(8 * content.length)
  return value < 0n ? `-${(-value).toString(16).toUpperCase()}` : value.toString(16).toUpperCase()
}

/** The shortest two's-complement content bytes of a serial written as `serialKey` writes it. */
function derOfSerial(serial: string): Buffer {
  const value = serial.startsWith('-') ? -BigInt(`0x${serial.slice(1)}`) : BigInt(`0x${serial}`)
  let length = 1
  while (value < -(1n << BigInt(8 * length - 1)) || value >= 1n << BigInt(8 * length - 1)) length++
  const bits = value < 0n ? value + (1n << BigInt(8 * length)) : value
  return Buffer.from(bits.toString(16).padStart(2 * length, '0'), 'hex')
}

/** Issue a v2 CRL signed with SHA-256/RSA. */
export function createCrl(o: {
  issuer: { certificate: X509Certificate; privateKey: KeyObject }
  /** Serials as `X509Certificate.serialNumber` gives them (hex, '-' before a negative one). */
  revokedSerialsHex: string[]
  thisUpdate?: Date
  nextUpdate?: Date
  crlNumber?: number
}): Crl {
  const thisUpdate = o.thisUpdate ?? new Date()
  const nextUpdate = o.nextUpdate ?? new Date(thisUpdate.getTime() + 7 * 86_400_000)
  const sigAlg = der.algorithm(OID.sha256WithRsa, der.null())
  const revoked = o.revokedSerialsHex.map((s) =>
    der.seq([der.intBytes(derOfSerial(s)), der.utcTime(thisUpdate)]),
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

const isUniversal = (item: Asn1 | undefined, type: number) =>
  item?.tagClass === ASN1_CLASS.UNIVERSAL && item.type === type

/**
 * The extensions of a CRL or of one of its entries. None this code reads is ever critical, and a critical
 * one it does not process makes the whole CRL unusable (RFC 5280 §5.2, §5.3): a delta CRL
 * (deltaCRLIndicator), a partitioned one (issuingDistributionPoint) or an indirect one (certificateIssuer)
 * read as the complete list of the CA's own revocations would hide revocations.
 */
function readExtensions(list: Asn1, what: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  for (const ext of children(list, what)) {
    const parts = children(ext, `an extension of ${what}`)
    const oid = oidOf(parts[0], `an extension of ${what}`)
    const critical =
      parts.length === 3 && isUniversal(parts[1], ASN1_TYPE.BOOLEAN) && parts[1].value !== '\x00'
    if (critical) {
      throw new Error(`the CRL has a critical extension that is not supported (${oid})`)
    }
    out.set(oid, primitive(parts[parts.length - 1], ASN1_TYPE.OCTETSTRING, `an extension of ${what}`))
  }
  return out
}

/** Parse a DER CRL; any structural problem is an Error whose message says what is wrong. */
export function parseCrl(bytes: Uint8Array): Crl {
  const top = children(fromDer(bytes, 'the CRL'), 'the CRL')
  if (top.length !== 3) throw new Error('the CRL is malformed')
  const fields = children(top[0], 'the CRL tbsCertList')
  let i = 0
  if (isUniversal(fields[0], ASN1_TYPE.INTEGER)) {
    if (integerOf(fields[i++], 'the CRL version').readUIntBE(0, 1) !== 1) {
      throw new Error('the CRL is not a version 2 CRL')
    }
  }
  i++ // signature algorithm (checked with the signature)
  const issuer = fields[i++]
  if (!isUniversal(issuer, ASN1_TYPE.SEQUENCE)) throw new Error('the CRL issuer is malformed')
  const issuerDer = toDer(issuer)
  const time = (item: Asn1 | undefined, what: string) => {
    const date = isUniversal(item, ASN1_TYPE.UTCTIME)
      ? forge.asn1.utcTimeToDate(String(item!.value))
      : isUniversal(item, ASN1_TYPE.GENERALIZEDTIME)
        ? forge.asn1.generalizedTimeToDate(String(item!.value))
        : undefined
    if (!date || Number.isNaN(date.getTime())) throw new Error(`the CRL ${what} is malformed`)
    return date
  }
  const thisUpdate = time(fields[i++], 'thisUpdate')
  let nextUpdate: Date | undefined
  if (isUniversal(fields[i], ASN1_TYPE.UTCTIME) || isUniversal(fields[i], ASN1_TYPE.GENERALIZEDTIME)) {
    nextUpdate = time(fields[i++], 'nextUpdate')
  }
  const revokedSerials = new Set<string>()
  if (isUniversal(fields[i], ASN1_TYPE.SEQUENCE)) {
    for (const entry of children(fields[i++], 'the revoked certificates')) {
      const [serial, , extensions] = children(entry, 'a CRL entry')
      if (extensions) readExtensions(extensions, 'a CRL entry')
      revokedSerials.add(serialOfDer(integerOf(serial, 'a revoked serial')))
    }
  }
  let crlNumber: bigint | undefined
  const extensions = fields[i]
  if (extensions?.tagClass === ASN1_CLASS.CONTEXT_SPECIFIC && extensions.type === 0) {
    const number = readExtensions(children(extensions, 'the CRL extensions')[0], 'the CRL').get(OID.crlNumber)
    if (number) {
      const value = integerOf(fromDer(number, 'the CRL number'), 'the CRL number')
      crlNumber = BigInt(`0x${value.toString('hex')}`)
    }
  }
  return { der: Buffer.from(bytes), issuerDer, thisUpdate, nextUpdate, crlNumber, revokedSerials }
}

/** The hash of each signature algorithm a CRL may use; node's verify takes the key type from the CA key. */
const CRL_SIGNATURE_HASHES: Record<string, string> = {
  [OID.sha256WithRsa]: 'sha256',
  [OID.sha384WithRsa]: 'sha384',
  [OID.sha512WithRsa]: 'sha512',
  [OID.ecdsaWithSha256]: 'sha256',
  [OID.ecdsaWithSha384]: 'sha384',
}

function crlSignatureVerifies(crl: Crl, issuer: X509Certificate): boolean {
  const [tbs, algorithm, signature] = children(fromDer(crl.der, 'the CRL'), 'the CRL')
  const fields = children(tbs, 'the CRL tbsCertList')
  const inner = fields[isUniversal(fields[0], ASN1_TYPE.INTEGER) ? 1 : 0]
  // RFC 5280 §5.1.1.2: the signed copy of the algorithm must be the one used, or it could be swapped.
  if (!toDer(inner).equals(toDer(algorithm))) {
    throw new CertificateValidationError(
      'crl',
      'the revocation list names two different signature algorithms',
    )
  }
  const oid = oidOf(children(algorithm, 'the CRL signature algorithm')[0], 'the CRL signature algorithm')
  const hash = CRL_SIGNATURE_HASHES[oid]
  if (!hash) {
    throw new CertificateValidationError(
      'crl',
      `the revocation list is signed with an unsupported algorithm (${oid})`,
    )
  }
  const bits = Buffer.from(String(signature.value), 'binary')
  if (bits[0] !== 0) return false // unused bits: not a whole-byte signature
  return createVerify(hash).update(toDer(tbs)).verify(issuer.publicKey, bits.subarray(1))
}

/**
 * Check a CRL against the CA whose revocations it is meant to list: issued under the CA's name, signed by
 * the CA's key, and not past its nextUpdate (an out-of-date CRL may miss recent revocations, so it is an
 * error, never a CRL quietly ignored).
 */
export function verifyCrl(crl: Crl, ca: X509Certificate, now = new Date()): void {
  if (!crl.issuerDer.equals(subjectDer(ca))) {
    throw new CertificateValidationError(
      'crl',
      'the revocation list is issued by another CA than the trusted one',
    )
  }
  // RFC 5280 §6.3.3 (f): a CA whose certificate limits its key usage must be allowed to sign CRLs.
  const usage = keyUsageOf(ca)
  if (usage && !hasUsageBit(usage, KEY_USAGE_CRL_SIGN)) {
    throw new CertificateValidationError(
      'crl',
      "the trusted CA's certificate does not allow it to sign revocation lists (its key usage lacks cRLSign)",
    )
  }
  if (!crlSignatureVerifies(crl, ca)) {
    throw new CertificateValidationError('crl', 'the revocation list is not signed by the trusted CA')
  }
  if (crl.nextUpdate && now > crl.nextUpdate) {
    throw new CertificateValidationError(
      'crl',
      `the revocation list is out of date (its next update was due ${crl.nextUpdate.toISOString()})`,
    )
  }
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
    verifyCrl(o.crl, o.ca, now)
    if (o.crl.revokedSerials.has(serialKey(cert.serialNumber))) {
      throw new CertificateValidationError(
        'revoked',
        `the ${o.role} certificate (serial ${cert.serialNumber}) has been revoked by the CA`,
      )
    }
  }
}
