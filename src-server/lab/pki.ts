import {
  X509Certificate,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto'
import { isIP } from 'node:net'
import forge from 'node-forge'

/**
 * Test PKI for the lab directory server: DS root → intermediate → ACS signing certificate, and the
 * validator applied to every PEM chain an operator imports.
 *
 * node-forge builds and signs the certificates (RSA CAs). It cannot encode EC keys, so for an EC (ES256)
 * leaf we let forge build the TBSCertificate around a placeholder key and then swap in the EC
 * SubjectPublicKeyInfo before the CA signs it. Keys come from node:crypto (forge's RSA keygen is slow).
 */
export type LeafKeyType = 'RSA' | 'EC'

export interface TestPki {
  rootPem: string
  intermediatePem: string
  leafPem: string
  /** PKCS#8 PEM of the ACS signing key. */
  leafKeyPem: string
  leafKey: KeyObject
  /** What goes into x5c: leaf first, then the intermediate. */
  chainPem: [string, string]
}

export interface TestPkiOptions {
  leafKeyType?: LeafKeyType
  /** Prefix of the common names, e.g. the brand ("Visa-like lab DS"). */
  name?: string
  notBefore?: Date
  validDays?: number
}

/** A CA able to issue: its subject and (forge) signing key. */
interface Authority {
  subject: forge.pki.CertificateField[]
  forgeKey: forge.pki.rsa.PrivateKey
}

// Present in node-forge, missing from its type definitions.
const getTBSCertificate = (
  forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }
).getTBSCertificate

function rsaKeyPair(bits = 2048): { forgeKey: forge.pki.rsa.PrivateKey; publicPem: string; key: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits })
  const privatePem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  return {
    forgeKey: forge.pki.privateKeyFromPem(privatePem) as forge.pki.rsa.PrivateKey,
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    key: privateKey,
  }
}

const dn = (cn: string): forge.pki.CertificateField[] => [
  { name: 'commonName', value: cn },
  { name: 'organizationName', value: 'Issuer Ops Suite Lab' },
  { name: 'countryName', value: 'FR' },
]

function issue(opts: {
  subject: forge.pki.CertificateField[]
  subjectPublicKeyPem: string
  /** Absent for the self-signed root, which then signs with `selfKey`. */
  issuer?: Authority
  selfKey?: forge.pki.rsa.PrivateKey
  ca: boolean
  notBefore: Date
  days: number
  /** A TLS end entity: extended key usage for both ends of a mutual-TLS link, and the names it answers to. */
  tls?: { dnsNames: string[]; ips: string[] }
}): string {
  const cert = forge.pki.createCertificate()
  cert.serialNumber = '01' + randomBytes(15).toString('hex')
  cert.validity.notBefore = opts.notBefore
  cert.validity.notAfter = new Date(opts.notBefore.getTime() + opts.days * 86_400_000)
  cert.setSubject(opts.subject)
  cert.setIssuer(opts.issuer ? opts.issuer.subject : opts.subject)
  const spki = createPublicKey(opts.subjectPublicKeyPem)
  const isRsa = spki.asymmetricKeyType === 'rsa'
  // A forge RSA key is required to build the TBS; for EC it is a placeholder replaced below.
  cert.publicKey = isRsa
    ? forge.pki.publicKeyFromPem(opts.subjectPublicKeyPem)
    : forge.pki.setRsaPublicKey(new forge.jsbn.BigInteger('3'), new forge.jsbn.BigInteger('3'))
  cert.setExtensions([
    { name: 'basicConstraints', cA: opts.ca, critical: true },
    opts.ca
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, keyEncipherment: !!opts.tls, critical: true },
    { name: 'subjectKeyIdentifier' },
    ...(opts.tls
      ? [
          { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
          {
            name: 'subjectAltName',
            altNames: [
              ...opts.tls.dnsNames.map((value) => ({ type: 2, value })),
              ...opts.tls.ips.map((ip) => ({ type: 7, ip })),
            ],
          },
        ]
      : []),
  ])
  const signer = opts.issuer?.forgeKey ?? opts.selfKey!
  const md = forge.md.sha256.create()
  cert.md = md
  cert.signatureOid = cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption
  const tbs = getTBSCertificate(cert)
  if (!isRsa) {
    const der = spki.export({ format: 'der', type: 'spki' })
    // TBSCertificate member 6 is subjectPublicKeyInfo.
    ;(tbs.value as forge.asn1.Asn1[])[6] = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')))
  }
  cert.tbsCertificate = tbs
  md.update(forge.asn1.toDer(tbs).getBytes())
  cert.signature = signer.sign(md)
  return forge.pem.encode({
    type: 'CERTIFICATE',
    body: forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(),
  })
}

/** DS root → intermediate → ACS signing certificate (RSA for PS256 or EC P-256 for ES256). */
export function generateTestPki(options: TestPkiOptions = {}): TestPki {
  const name = options.name ?? 'Lab DS'
  const notBefore = options.notBefore ?? new Date(Date.now() - 3_600_000)
  const days = options.validDays ?? 365
  const rootKey = rsaKeyPair()
  const root: Authority = { subject: dn(`${name} Root CA`), forgeKey: rootKey.forgeKey }
  const rootPem = issue({
    subject: root.subject,
    subjectPublicKeyPem: rootKey.publicPem,
    selfKey: rootKey.forgeKey,
    ca: true,
    notBefore,
    days: days * 3,
  })
  const intKey = rsaKeyPair()
  const intermediate: Authority = { subject: dn(`${name} Intermediate CA`), forgeKey: intKey.forgeKey }
  const intermediatePem = issue({
    subject: intermediate.subject,
    subjectPublicKeyPem: intKey.publicPem,
    issuer: root,
    ca: true,
    notBefore,
    days: days * 2,
  })
  let leafKey: KeyObject
  let leafPublicPem: string
  if (options.leafKeyType === 'EC') {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    leafKey = pair.privateKey
    leafPublicPem = pair.publicKey.export({ format: 'pem', type: 'spki' }).toString()
  } else {
    const pair = rsaKeyPair()
    leafKey = pair.key
    leafPublicPem = pair.publicPem
  }
  const leafPem = issue({
    subject: dn(`${name} ACS signing`),
    subjectPublicKeyPem: leafPublicPem,
    issuer: intermediate,
    ca: false,
    notBefore,
    days,
  })
  return {
    rootPem,
    intermediatePem,
    leafPem,
    leafKeyPem: leafKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    leafKey,
    chainPem: [leafPem, intermediatePem],
  }
}

/** A mutual-TLS link between the ACS and a directory server, both certified by one DS TLS CA. */
export interface TestTlsPki {
  /** The DS TLS CA: what each side trusts for the other's certificate. */
  caPem: string
  /** The ACS's certificate (server for AReqs, client for RReqs) and its PKCS#8 key. */
  acsCertPem: string
  acsKeyPem: string
  /** The (lab) directory server's certificate and key, for the client that sends AReqs. */
  dsCertPem: string
  dsKeyPem: string
}

/**
 * The scheme's TLS PKI in miniature, for a pilot and the tests: a DS TLS CA issuing the ACS's certificate
 * (named for `hosts`: DNS names and IP addresses) and a directory server's. Real links use the certificates
 * the card scheme issues; the shape is the same.
 */
export function generateTestTlsPki(
  options: { name?: string; hosts?: string[]; validDays?: number } = {},
): TestTlsPki {
  const name = options.name ?? 'Lab DS'
  const hosts = options.hosts ?? ['localhost', '127.0.0.1', '::1']
  const isIp = (h: string) => isIP(h) !== 0
  const notBefore = new Date(Date.now() - 3_600_000)
  const days = options.validDays ?? 365
  const caKey = rsaKeyPair()
  const ca: Authority = { subject: dn(`${name} TLS CA`), forgeKey: caKey.forgeKey }
  const caPem = issue({
    subject: ca.subject,
    subjectPublicKeyPem: caKey.publicPem,
    selfKey: caKey.forgeKey,
    ca: true,
    notBefore,
    days: days * 2,
  })
  const endEntity = (cn: string, tls: { dnsNames: string[]; ips: string[] }) => {
    const key = rsaKeyPair()
    return {
      certPem: issue({
        subject: dn(cn),
        subjectPublicKeyPem: key.publicPem,
        issuer: ca,
        ca: false,
        notBefore,
        days,
        tls,
      }),
      keyPem: key.key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    }
  }
  const acs = endEntity(`${name} ACS`, { dnsNames: hosts.filter((h) => !isIp(h)), ips: hosts.filter(isIp) })
  const ds = endEntity(`${name} directory server`, { dnsNames: ['localhost'], ips: ['127.0.0.1'] })
  return { caPem, acsCertPem: acs.certPem, acsKeyPem: acs.keyPem, dsCertPem: ds.certPem, dsKeyPem: ds.keyPem }
}

// -------------------------------------------------------------------------------------------------------
// Validation of an imported chain

export interface ChainCertificateInfo {
  subject: string
  issuer: string
  validTo: Date
  isCa: boolean
}

export interface ChainValidation {
  ok: boolean
  problems: string[]
  certificates: ChainCertificateInfo[]
  /** Days until the first certificate of the chain expires (for expiry alerts). */
  expiresInDays?: number
}

export interface ChainValidationOptions {
  /** DS root(s) the chain must lead to. */
  trustedRootsPem?: readonly string[]
  at?: Date
}

const KEY_USAGE_OID = '2.5.29.15'
const KU_DIGITAL_SIGNATURE = 0x80
const KU_KEY_CERT_SIGN = 0x04

/** KeyUsage bits (first byte) read from the DER, since forge cannot parse certificates with EC keys. */
function keyUsageByte(der: Buffer): number | undefined {
  const cert = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')))
  const tbs = (cert.value as forge.asn1.Asn1[])[0]
  const extWrapper = (tbs.value as forge.asn1.Asn1[]).find(
    (v) => v.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && v.type === 3,
  )
  if (!extWrapper) return undefined
  for (const ext of (extWrapper.value as forge.asn1.Asn1[])[0].value as forge.asn1.Asn1[]) {
    const parts = ext.value as forge.asn1.Asn1[]
    if (forge.asn1.derToOid(parts[0].value as string) !== KEY_USAGE_OID) continue
    const octets = parts[parts.length - 1].value as string
    const bitString = forge.asn1.fromDer(forge.util.createBuffer(octets)).value as string
    return bitString.length > 1 ? bitString.charCodeAt(1) : 0
  }
  return undefined
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/**
 * Checks a PEM chain (leaf first): order and signatures, validity dates, CA flags and key usage, and
 * anchoring to a trusted root when given. Never throws on bad input; everything is reported in `problems`.
 */
export function validateCertificateChain(pem: string, options: ChainValidationOptions = {}): ChainValidation {
  const at = options.at ?? new Date()
  const problems: string[] = []
  const blocks = pem.match(PEM_CERT) ?? []
  if (blocks.length === 0) return { ok: false, problems: ['no PEM certificate found'], certificates: [] }
  const certs: X509Certificate[] = []
  blocks.forEach((b, i) => {
    try {
      certs.push(new X509Certificate(b))
    } catch {
      problems.push(`certificate ${i + 1} cannot be parsed`)
    }
  })
  if (problems.length > 0) return { ok: false, problems, certificates: [] }

  certs.forEach((c, i) => {
    const label = `certificate ${i + 1} (${c.subject.replace(/\n/g, ', ')})`
    if (new Date(c.validFrom) > at) problems.push(`${label} is not yet valid`)
    if (new Date(c.validTo) < at) problems.push(`${label} has expired`)
    const ku = keyUsageByte(c.raw)
    if (i === 0) {
      if (c.ca) problems.push(`${label}: the signing certificate must not be a CA`)
      if (ku !== undefined && (ku & KU_DIGITAL_SIGNATURE) === 0)
        problems.push(`${label}: key usage lacks digitalSignature`)
    } else {
      if (!c.ca) problems.push(`${label}: an issuing certificate must be a CA`)
      if (ku !== undefined && (ku & KU_KEY_CERT_SIGN) === 0)
        problems.push(`${label}: key usage lacks keyCertSign`)
    }
    const next = certs[i + 1]
    if (next && !(c.checkIssued(next) && c.verify(next.publicKey))) {
      problems.push(`${label} is not signed by the next certificate: the chain is out of order or incomplete`)
    }
  })
  const roots = (options.trustedRootsPem ?? []).map((p) => new X509Certificate(p))
  if (roots.length > 0) {
    const last = certs[certs.length - 1]
    const anchored = roots.some(
      (r) => r.raw.equals(last.raw) || (last.checkIssued(r) && last.verify(r.publicKey)),
    )
    if (!anchored) problems.push('the chain does not lead to a trusted DS root')
  }
  const expiries = certs.map((c) => new Date(c.validTo).getTime())
  return {
    ok: problems.length === 0,
    problems,
    certificates: certs.map((c) => ({
      subject: c.subject,
      issuer: c.issuer,
      validTo: new Date(c.validTo),
      isCa: c.ca,
    })),
    expiresInDays: Math.floor((Math.min(...expiries) - at.getTime()) / 86_400_000),
  }
}
