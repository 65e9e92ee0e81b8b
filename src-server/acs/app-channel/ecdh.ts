import { createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto'

/** P-256 public key as JWK, the form used by sdkEphemPubKey and acsEphemPubKey. */
export interface EcPublicJwk {
  kty: 'EC'
  crv: 'P-256'
  x: string
  y: string
}

export interface EphemeralKeyPair {
  privateKey: KeyObject
  publicJwk: EcPublicJwk
}

/** A fresh ACS key pair for one transaction's app channel. */
export function generateEphemeralKeyPair(): EphemeralKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' })
  return { privateKey, publicJwk: { kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y! } }
}

export class InvalidSdkKeyError extends Error {
  constructor(reason: string) {
    super(`sdkEphemPubKey rejected: ${reason}`)
    this.name = 'InvalidSdkKeyError'
  }
}

/**
 * Imports the SDK's ephemeral public key. OpenSSL rejects coordinates that are not a point on P-256
 * while importing, which is the on-curve check the protocol asks for (invalid-curve attacks).
 */
export function importSdkPublicKey(jwk: {
  kty?: unknown
  crv?: unknown
  x?: unknown
  y?: unknown
}): KeyObject {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new InvalidSdkKeyError('not an EC P-256 key')
  if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string')
    throw new InvalidSdkKeyError('missing coordinates')
  if (Buffer.from(jwk.x, 'base64url').length !== 32 || Buffer.from(jwk.y, 'base64url').length !== 32) {
    throw new InvalidSdkKeyError('coordinates must be 32 bytes')
  }
  try {
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, format: 'jwk' })
  } catch {
    throw new InvalidSdkKeyError('point is not on the curve')
  }
}

/** Z: the ECDH shared secret (x coordinate, 32 bytes). */
export function sharedSecret(privateKey: KeyObject, peerPublicKey: KeyObject): Buffer {
  return diffieHellman({ privateKey, publicKey: peerPublicKey })
}
