import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createSign,
  createVerify,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  X509Certificate,
  type KeyObject,
} from 'node:crypto'
import { constantTimeEqual } from './bytes'
import {
  ASN1_CLASS,
  ASN1_TYPE,
  children,
  der,
  fromDer,
  integerOf,
  oidOf,
  OID,
  primitive,
  toDer,
  type Asn1,
} from './der'
import { issuerAndSerial, parseCrl, type Crl } from './pki'

/**
 * TR-34 (ANSI X9.139) two-pass key transport, built as CMS by hand because node-forge's EnvelopedData
 * only does RSAES-PKCS1-v1_5:
 * - key block: SEQUENCE { version 1, IssuerAndSerialNumber (KDH), OCTET STRING key, header attribute };
 * - KT-KDH: SignedData (KDH signs; signed attributes carry the KRD's random nonce and the key-block header)
 *   over EnvelopedData (ephemeral key under RSAES-OAEP SHA-256 / MGF1-SHA-256, 3TDES- or AES-128-CBC);
 * - CT-KDH / CT-KRD credential tokens: degenerate SignedData holding certificates (and a CRL).
 */

export class Tr34Error extends Error {
  constructor(
    readonly reason: 'format' | 'signature' | 'nonce' | 'unknown-kdh' | 'decrypt',
    message: string,
  ) {
    super(message)
    this.name = 'Tr34Error'
  }
}

export type Tr34ContentCipher = 'tdes' | 'aes128'
const CONTENT_CIPHERS: Record<
  Tr34ContentCipher,
  { oid: string; name: string; keyLength: number; ivLength: number }
> = {
  tdes: { oid: OID.desEde3Cbc, name: 'des-ede3-cbc', keyLength: 24, ivLength: 8 },
  aes128: { oid: OID.aes128Cbc, name: 'aes-128-cbc', keyLength: 16, ivLength: 16 },
}

function guard<T>(reason: Tr34Error['reason'], what: string, f: () => T): T {
  try {
    return f()
  } catch (err) {
    if (err instanceof Tr34Error) throw err
    throw new Tr34Error(reason, `${what}: ${err instanceof Error ? err.message : 'malformed'}`)
  }
}

function issuerAndSerialDer(cert: X509Certificate): Asn1 {
  const { issuer, serial } = issuerAndSerial(cert)
  return der.seq([issuer, der.intBytes(serial)])
}

// ---------------------------------------------------------------------------------------------------------
// Key block

export interface Tr34KeyBlock {
  version: number
  /** DER of the KDH certificate's issuer Name. */
  kdhIssuerDer: Buffer
  kdhSerial: Buffer
  key: Buffer
  /** TR-31-style header; its length field is ignored in TR-34. */
  header: string
}

export function encodeKeyBlock(kdhCertificate: X509Certificate, key: Uint8Array, header: string): Buffer {
  return toDer(
    der.seq([
      der.int(1),
      issuerAndSerialDer(kdhCertificate),
      der.octets(key),
      der.seq([der.oid(OID.data), der.set([der.octets(Buffer.from(header, 'ascii'))])]),
    ]),
  )
}

export function decodeKeyBlock(bytes: Uint8Array): Tr34KeyBlock {
  return guard('format', 'the TR-34 key block', () => {
    const [version, ias, key, attribute] = children(fromDer(bytes, 'the key block'), 'the key block')
    const [issuer, serial] = children(ias, 'IssuerAndSerialNumber')
    const [attrType, attrValues] = children(attribute, 'the header attribute')
    if (oidOf(attrType, 'the header attribute type') !== OID.data)
      throw new Error('the header attribute is not pkcs7-data')
    const header = primitive(children(attrValues, 'the header value')[0], ASN1_TYPE.OCTETSTRING, 'the header')
    return {
      version: integerOf(version, 'the version').readUIntBE(0, 1),
      kdhIssuerDer: toDer(issuer),
      kdhSerial: integerOf(serial, 'the KDH serial'),
      key: primitive(key, ASN1_TYPE.OCTETSTRING, 'the key'),
      header: header.toString('ascii'),
    }
  })
}

/** The symmetric layer: CBC with PKCS#7 padding under the ephemeral key (exposed for the TR-34 known answer). */
export function encryptContent(
  cipher: Tr34ContentCipher,
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
): Buffer {
  const c = createCipheriv(CONTENT_CIPHERS[cipher].name, key, iv)
  return Buffer.concat([c.update(plaintext), c.final()])
}

// ---------------------------------------------------------------------------------------------------------
// EnvelopedData with RSAES-OAEP

const OAEP_PARAMS = () =>
  der.seq([
    der.explicit(0, der.algorithm(OID.sha256, der.null())),
    der.explicit(1, der.algorithm(OID.mgf1, der.algorithm(OID.sha256, der.null()))),
  ])

export function envelope(
  recipient: X509Certificate,
  plaintext: Uint8Array,
  cipher: Tr34ContentCipher = 'aes128',
  random: (n: number) => Buffer = randomBytes,
): Buffer {
  const spec = CONTENT_CIPHERS[cipher]
  const contentKey = random(spec.keyLength)
  const iv = random(spec.ivLength)
  const encryptedKey = publicEncrypt(
    { key: recipient.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    contentKey,
  )
  return toDer(
    der.seq([
      der.int(0),
      der.set([
        der.seq([
          der.int(0),
          issuerAndSerialDer(recipient),
          der.algorithm(OID.rsaesOaep, OAEP_PARAMS()),
          der.octets(encryptedKey),
        ]),
      ]),
      der.seq([
        der.oid(OID.data),
        der.algorithm(spec.oid, der.octets(iv)),
        der.implicitOctets(0, encryptContent(cipher, contentKey, iv, plaintext)),
      ]),
    ]),
  )
}

/** Decrypt an EnvelopedData addressed to `recipient` (the KRD side; also used to read `openssl cms` output). */
export function openEnvelope(bytes: Uint8Array, recipient: X509Certificate, privateKey: KeyObject): Buffer {
  const parsed = guard('format', 'the EnvelopedData', () => {
    const fields = children(fromDer(bytes, 'the EnvelopedData'), 'the EnvelopedData')
    // version, [originatorInfo], recipientInfos, encryptedContentInfo
    const infos = children(fields[fields.length - 2], 'the recipient infos')
    const eci = children(fields[fields.length - 1], 'the encrypted content info')
    const mine = recipientMatcher(recipient)
    const ri = infos.map((r) => children(r, 'a recipient info')).find((r) => mine(r[1]))
    if (!ri) throw new Tr34Error('decrypt', 'the key token is not addressed to this device')
    if (
      oidOf(children(ri[2], 'the key encryption algorithm')[0], 'the key encryption algorithm') !==
      OID.rsaesOaep
    ) {
      throw new Error('the ephemeral key is not RSAES-OAEP encrypted')
    }
    const [algorithm, params] = children(eci[1], 'the content encryption algorithm')
    const oid = oidOf(algorithm, 'the content encryption algorithm')
    const cipher = (Object.keys(CONTENT_CIPHERS) as Tr34ContentCipher[]).find(
      (c) => CONTENT_CIPHERS[c].oid === oid,
    )
    if (!cipher) throw new Error('the content cipher is neither 3TDES-CBC nor AES-128-CBC')
    const content = eci[2]
    if (!content || content.tagClass !== ASN1_CLASS.CONTEXT_SPECIFIC)
      throw new Error('the encrypted content is missing')
    // A constructed [0] (BER, e.g. from some encoders) holds OCTET STRING pieces.
    const ciphertext = Array.isArray(content.value)
      ? Buffer.concat((content.value as Asn1[]).map((p) => Buffer.from(String(p.value), 'binary')))
      : Buffer.from(String(content.value), 'binary')
    return {
      encryptedKey: primitive(ri[3], ASN1_TYPE.OCTETSTRING, 'the encrypted key'),
      cipher,
      iv: primitive(params, ASN1_TYPE.OCTETSTRING, 'the IV'),
      ciphertext,
    }
  })
  return guard('decrypt', 'cannot decrypt the key token', () => {
    const contentKey = privateDecrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      parsed.encryptedKey,
    )
    const d = createDecipheriv(CONTENT_CIPHERS[parsed.cipher].name, contentKey, parsed.iv)
    return Buffer.concat([d.update(parsed.ciphertext), d.final()])
  })
}

function recipientMatcher(cert: X509Certificate) {
  const { issuer, serial } = issuerAndSerial(cert)
  const issuerDer = toDer(issuer)
  return (rid: Asn1 | undefined) => {
    const [i, s] = children(rid, 'the recipient identifier')
    return toDer(i).equals(issuerDer) && integerOf(s, 'the recipient serial').equals(serial)
  }
}

// ---------------------------------------------------------------------------------------------------------
// SignedData

function attribute(oid: string, value: Asn1): Asn1 {
  return der.seq([der.oid(oid), der.set([value])])
}

export interface KeyTokenOptions {
  kdhCertificate: X509Certificate
  kdhPrivateKey: KeyObject
  krdCertificate: X509Certificate
  key: Uint8Array
  /** TR-31-style header describing the key (usage, algorithm, mode, ...). */
  header: string
  /** RT-KRD: the random nonce the KRD sent (2-pass). */
  nonce: Uint8Array
  contentCipher?: Tr34ContentCipher
  random?: (n: number) => Buffer
}

/** KT-KDH, 2-pass: SignedData by the KDH over EnvelopedData to the KRD, nonce and header as signed attributes. */
export function createKeyToken(o: KeyTokenOptions): Buffer {
  if (o.nonce.length < 8 || o.nonce.length > 32)
    throw new Tr34Error('nonce', 'the KRD nonce must be 8 to 32 bytes')
  const keyBlock = encodeKeyBlock(o.kdhCertificate, o.key, o.header)
  const enveloped = envelope(o.krdCertificate, keyBlock, o.contentCipher ?? 'aes128', o.random)
  const signedAttributes = [
    attribute(OID.contentType, der.oid(OID.envelopedData)),
    attribute(OID.randomNonce, der.octets(o.nonce)),
    attribute(OID.data, der.octets(Buffer.from(o.header, 'ascii'))),
    attribute(OID.messageDigest, der.octets(createHash('sha256').update(enveloped).digest())),
  ]
  const signedSet = der.sortedSet(signedAttributes)
  const signature = createSign('sha256').update(toDer(signedSet)).sign(o.kdhPrivateKey)
  const signerInfo = der.seq([
    der.int(1),
    issuerAndSerialDer(o.kdhCertificate),
    der.algorithm(OID.sha256, der.null()),
    der.implicitConstructed(0, signedSet.value as Asn1[]),
    der.algorithm(OID.sha256WithRsa, der.null()),
    der.octets(signature),
  ])
  return contentInfo(
    der.seq([
      der.int(3),
      der.set([der.algorithm(OID.sha256, der.null())]),
      der.seq([der.oid(OID.envelopedData), der.explicit(0, der.octets(enveloped))]),
      der.set([signerInfo]),
    ]),
  )
}

function contentInfo(signedData: Asn1): Buffer {
  return toDer(der.seq([der.oid(OID.signedData), der.explicit(0, signedData)]))
}

interface ParsedSignedData {
  eContentType: string
  eContent?: Buffer
  certificates: X509Certificate[]
  crls: Crl[]
  signerInfos: Asn1[][]
}

function parseSignedData(bytes: Uint8Array): ParsedSignedData {
  return guard('format', 'the CMS SignedData', () => {
    const [type, wrapped] = children(fromDer(bytes, 'the token'), 'the ContentInfo')
    if (oidOf(type, 'the content type') !== OID.signedData) throw new Error('not a SignedData')
    const fields = children(children(wrapped, 'the SignedData')[0], 'the SignedData')
    const [eType, eWrapped] = children(fields[2], 'the encapsulated content')
    const out: ParsedSignedData = {
      eContentType: oidOf(eType, 'the encapsulated content type'),
      certificates: [],
      crls: [],
      signerInfos: children(fields[fields.length - 1], 'the signer infos').map((s) =>
        children(s, 'a signer info'),
      ),
    }
    if (eWrapped)
      out.eContent = primitive(children(eWrapped, 'the content')[0], ASN1_TYPE.OCTETSTRING, 'the content')
    for (const f of fields.slice(3, -1)) {
      if (f.tagClass !== ASN1_CLASS.CONTEXT_SPECIFIC) continue
      for (const item of children(f, 'a certificate set')) {
        if (f.type === 0) out.certificates.push(new X509Certificate(toDer(item)))
        else out.crls.push(parseCrl(toDer(item)))
      }
    }
    return out
  })
}

export interface OpenedKeyToken {
  keyBlock: Tr34KeyBlock
  nonce: Buffer
  header: string
}

/**
 * The KRD side of KT-KDH: verify the KDH signature (signer must be the bound KDH), the nonce and the
 * content digest, decrypt with the device key, and check the key block names the same KDH and header.
 */
export function openKeyToken(
  token: Uint8Array,
  o: {
    kdhCertificate: X509Certificate
    krdCertificate: X509Certificate
    krdPrivateKey: KeyObject
    expectedNonce: Uint8Array
  },
): OpenedKeyToken {
  const sd = parseSignedData(token)
  if (sd.eContentType !== OID.envelopedData || !sd.eContent) {
    throw new Tr34Error('format', 'the key token does not carry an EnvelopedData')
  }
  if (sd.signerInfos.length !== 1) throw new Tr34Error('format', 'the key token must have exactly one signer')
  const si = sd.signerInfos[0]
  const kdhMatches = recipientMatcher(o.kdhCertificate)
  if (!guard('format', 'the signer identifier', () => kdhMatches(si[1]))) {
    throw new Tr34Error('unknown-kdh', 'the key token is signed by a KDH this device is not bound to')
  }
  const signed = si[3]
  if (!signed || signed.tagClass !== ASN1_CLASS.CONTEXT_SPECIFIC || signed.type !== 0) {
    throw new Tr34Error('format', 'the key token has no signed attributes')
  }
  const attrs = new Map<string, Buffer>()
  guard('format', 'the signed attributes', () => {
    for (const a of children(signed, 'the signed attributes')) {
      const [t, values] = children(a, 'an attribute')
      const value = children(values, 'an attribute value')[0]
      attrs.set(
        oidOf(t, 'an attribute type'),
        value.type === ASN1_TYPE.OID
          ? Buffer.from(oidOf(value, 'a value'))
          : primitive(value, ASN1_TYPE.OCTETSTRING, 'a value'),
      )
    }
  })
  const signedSetDer = toDer(der.set(signed.value as Asn1[]))
  const signature = guard('format', 'the signature', () =>
    primitive(si[5], ASN1_TYPE.OCTETSTRING, 'the signature'),
  )
  if (!createVerify('sha256').update(signedSetDer).verify(o.kdhCertificate.publicKey, signature)) {
    throw new Tr34Error('signature', 'the KDH signature on the key token does not verify')
  }
  const digest = attrs.get(OID.messageDigest)
  if (!digest || !constantTimeEqual(digest, createHash('sha256').update(sd.eContent).digest())) {
    throw new Tr34Error('signature', 'the key token content does not match its signed digest')
  }
  if (attrs.get(OID.contentType)?.toString() !== OID.envelopedData) {
    throw new Tr34Error('format', 'the signed content type is not EnvelopedData')
  }
  const nonce = attrs.get(OID.randomNonce)
  if (!nonce || !constantTimeEqual(nonce, o.expectedNonce)) {
    throw new Tr34Error('nonce', 'the key token nonce does not match the one this device issued')
  }
  const keyBlock = decodeKeyBlock(openEnvelope(sd.eContent, o.krdCertificate, o.krdPrivateKey))
  const { issuer, serial } = issuerAndSerial(o.kdhCertificate)
  if (!keyBlock.kdhIssuerDer.equals(toDer(issuer)) || !keyBlock.kdhSerial.equals(serial)) {
    throw new Tr34Error('unknown-kdh', 'the key block names a different KDH than the signer')
  }
  const header = attrs.get(OID.data)?.toString('ascii')
  if (header === undefined || header !== keyBlock.header) {
    throw new Tr34Error('format', 'the signed header does not match the key block header')
  }
  return { keyBlock, nonce, header }
}

// ---------------------------------------------------------------------------------------------------------
// Credential tokens (degenerate SignedData: certificates and CRLs, no signer)

export function createCredentialToken(certificates: X509Certificate[], crls: Crl[] = []): Buffer {
  return contentInfo(
    der.seq([
      der.int(1),
      der.set([]),
      der.seq([der.oid(OID.data)]),
      der.implicitConstructed(
        0,
        certificates.map((c) => der.raw(c.raw)),
      ),
      ...(crls.length
        ? [
            der.implicitConstructed(
              1,
              crls.map((c) => der.raw(c.der)),
            ),
          ]
        : []),
      der.set([]),
    ]),
  )
}

export function parseCredentialToken(token: Uint8Array): { certificates: X509Certificate[]; crls: Crl[] } {
  const sd = parseSignedData(token)
  if (sd.certificates.length === 0) throw new Tr34Error('format', 'the credential token holds no certificate')
  return { certificates: sd.certificates, crls: sd.crls }
}
