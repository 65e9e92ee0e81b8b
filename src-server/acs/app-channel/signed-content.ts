import { X509Certificate, type KeyObject } from 'node:crypto'
import { CompactSign, compactVerify, decodeProtectedHeader } from 'jose'
import type { EcPublicJwk } from './ecdh'

/** Payload of `acsSignedContent` (ARes, app channel). */
export interface AcsSignedPayload {
  acsURL: string
  acsEphemPubKey: EcPublicJwk
  sdkEphemPubKey: EcPublicJwk
}

export interface AcsSigner {
  alg: 'PS256' | 'ES256'
  privateKey: KeyObject
  /** PEM certificates: the ACS signing certificate first, then every intermediate up to (not including) the DS root. */
  chainPem: readonly string[]
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g

/** Splits a PEM bundle into single certificates, in file order. */
export function splitPemChain(pem: string): string[] {
  return [...pem.matchAll(PEM_CERT)].map((m) => m[0])
}

/** x5c entries are standard base64 DER (not base64url), RFC 7515 §4.1.6. */
export function pemToX5c(pem: string): string {
  return new X509Certificate(pem).raw.toString('base64')
}

/**
 * Signs the app-channel content. The SDK validates the chain to the DS root for its directory server, so
 * the header carries the leaf and every intermediate (a missing intermediate kills the secure channel).
 */
export async function signAcsContent(payload: AcsSignedPayload, signer: AcsSigner): Promise<string> {
  if (signer.chainPem.length === 0) throw new Error('the signing certificate chain is empty')
  const x5c = signer.chainPem.map(pemToX5c)
  // jose signs ES256 in the raw r‖s (IEEE P1363) form that JOSE requires.
  return new CompactSign(Buffer.from(JSON.stringify(payload), 'utf8'))
    .setProtectedHeader({ alg: signer.alg, x5c })
    .sign(signer.privateKey)
}

export class SignedContentError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SignedContentError'
  }
}

/**
 * What an SDK does with `acsSignedContent`: validate x5c up to a trusted root, then verify the JWS with the
 * leaf key. Used by the lab SDK emulator and tests.
 */
export async function verifyAcsSignedContent(
  jws: string,
  trustedRootsPem: readonly string[],
  at = new Date(),
): Promise<AcsSignedPayload> {
  const header = decodeProtectedHeader(jws)
  if (header.alg !== 'PS256' && header.alg !== 'ES256')
    throw new SignedContentError(`unexpected alg ${String(header.alg)}`)
  if (!Array.isArray(header.x5c) || header.x5c.length === 0) throw new SignedContentError('x5c missing')
  const chain = header.x5c.map((b64) => new X509Certificate(Buffer.from(b64, 'base64')))
  const roots = trustedRootsPem.map((p) => new X509Certificate(p))
  for (const cert of chain) {
    if (new Date(cert.validFrom) > at || new Date(cert.validTo) < at)
      throw new SignedContentError(`certificate ${cert.subject} is not valid now`)
  }
  for (let i = 0; i < chain.length - 1; i++) {
    if (!chain[i].checkIssued(chain[i + 1]) || !chain[i].verify(chain[i + 1].publicKey)) {
      throw new SignedContentError(`x5c[${i}] is not issued by x5c[${i + 1}]`)
    }
  }
  const last = chain[chain.length - 1]
  const anchored =
    roots.some((r) => last.checkIssued(r) && last.verify(r.publicKey)) ||
    roots.some((r) => r.raw.equals(last.raw))
  if (!anchored) throw new SignedContentError('x5c does not chain to a trusted root')
  const { payload } = await compactVerify(jws, chain[0].publicKey, { algorithms: [header.alg] })
  return JSON.parse(Buffer.from(payload).toString('utf8')) as AcsSignedPayload
}
