import forge from 'node-forge'

/**
 * Small DER helpers over node-forge's ASN.1 codec for the CMS / X.509 structures that forge does not build
 * itself (TR-34 tokens with RSA-OAEP, CRLs). forge works on binary strings; these take and give Buffers.
 */
const { asn1 } = forge
export type Asn1 = forge.asn1.Asn1

const U = asn1.Class.UNIVERSAL

export const der = {
  seq: (items: Asn1[]): Asn1 => asn1.create(U, asn1.Type.SEQUENCE, true, items),
  set: (items: Asn1[]): Asn1 => asn1.create(U, asn1.Type.SET, true, items),
  /** DER SET OF: elements sorted by their encodings (needed wherever a signature covers the set). */
  sortedSet(items: Asn1[]): Asn1 {
    const sorted = items
      .map((item) => ({ item, bytes: toDer(item) }))
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
      .map((x) => x.item)
    return asn1.create(U, asn1.Type.SET, true, sorted)
  },
  int: (n: number): Asn1 => asn1.create(U, asn1.Type.INTEGER, false, asn1.integerToDer(n).getBytes()),
  /** An INTEGER from its big-endian two's-complement bytes (certificate serial numbers). */
  intBytes: (bytes: Buffer): Asn1 => asn1.create(U, asn1.Type.INTEGER, false, bytes.toString('binary')),
  oid: (oid: string): Asn1 => asn1.create(U, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes()),
  octets: (bytes: Uint8Array): Asn1 =>
    asn1.create(U, asn1.Type.OCTETSTRING, false, Buffer.from(bytes).toString('binary')),
  bits: (bytes: Uint8Array): Asn1 =>
    asn1.create(U, asn1.Type.BITSTRING, false, '\x00' + Buffer.from(bytes).toString('binary')),
  null: (): Asn1 => asn1.create(U, asn1.Type.NULL, false, ''),
  utcTime: (date: Date): Asn1 => asn1.create(U, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date)),
  /** [n] EXPLICIT. */
  explicit: (n: number, item: Asn1): Asn1 => asn1.create(asn1.Class.CONTEXT_SPECIFIC, n, true, [item]),
  /** [n] IMPLICIT for a constructed value (SET OF / SEQUENCE). */
  implicitConstructed: (n: number, items: Asn1[]): Asn1 =>
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, n, true, items),
  /** [n] IMPLICIT OCTET STRING. */
  implicitOctets: (n: number, bytes: Uint8Array): Asn1 =>
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, n, false, Buffer.from(bytes).toString('binary')),
  algorithm: (oid: string, params?: Asn1): Asn1 => der.seq(params ? [der.oid(oid), params] : [der.oid(oid)]),
  raw: (bytes: Uint8Array): Asn1 => parse(bytes),
}

export function toDer(item: Asn1): Buffer {
  return Buffer.from(asn1.toDer(item).getBytes(), 'binary')
}

// forge's typings only admit a boolean, but its parser takes options; BIT STRINGs stay opaque so
// signatures are never mistaken for nested DER.
const parseWithOptions = asn1.fromDer as unknown as (bytes: string, options: object) => Asn1
function parse(bytes: Uint8Array): Asn1 {
  return parseWithOptions(Buffer.from(bytes).toString('binary'), {
    strict: true,
    parseAllBytes: true,
    decodeBitStrings: false,
  })
}

export function fromDer(bytes: Uint8Array, what: string): Asn1 {
  try {
    return parse(bytes)
  } catch {
    throw new Error(`${what} is not valid DER`)
  }
}

/** Children of a constructed value, or an error naming what was expected. */
export function children(item: Asn1 | undefined, what: string): Asn1[] {
  if (!item || !Array.isArray(item.value)) throw new Error(`${what} is malformed`)
  return item.value as Asn1[]
}

export function primitive(item: Asn1 | undefined, type: number, what: string): Buffer {
  if (
    !item ||
    item.tagClass !== asn1.Class.UNIVERSAL ||
    item.type !== type ||
    typeof item.value !== 'string'
  ) {
    throw new Error(`${what} is malformed`)
  }
  return Buffer.from(item.value, 'binary')
}

export function oidOf(item: Asn1 | undefined, what: string): string {
  return asn1.derToOid(forge.util.createBuffer(primitive(item, asn1.Type.OID, what).toString('binary')))
}

export function integerOf(item: Asn1 | undefined, what: string): Buffer {
  return primitive(item, asn1.Type.INTEGER, what)
}

export const ASN1_TYPE = asn1.Type
export const ASN1_CLASS = asn1.Class

export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  randomNonce: '1.2.840.113549.1.9.25.3',
  sha256: '2.16.840.1.101.3.4.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  rsaesOaep: '1.2.840.113549.1.1.7',
  mgf1: '1.2.840.113549.1.1.8',
  desEde3Cbc: '1.2.840.113549.3.7',
  aes128Cbc: '2.16.840.1.101.3.4.1.2',
  crlNumber: '2.5.29.20',
  keyUsage: '2.5.29.15',
} as const
