import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto'

/**
 * Device keys are ECDSA P-256 (WebCrypto's `{name:'ECDSA', namedCurve:'P-256'}`), sent as SPKI DER and
 * signing with SHA-256. Signatures arrive as WebCrypto makes them: IEEE P1363, r‖s, 64 bytes.
 */
export class DeviceKeyError extends Error {
  override name = 'DeviceKeyError'
}

/** Parses an SPKI public key and refuses anything but an EC key on P-256. */
export function importDeviceKey(spki: Buffer): KeyObject {
  let key: KeyObject
  try {
    key = createPublicKey({ key: spki, format: 'der', type: 'spki' })
  } catch {
    throw new DeviceKeyError('the public key is not a DER SubjectPublicKeyInfo')
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new DeviceKeyError('the public key must be ECDSA P-256')
  return key
}

/** SHA-256 of the SPKI DER, base64url: how records and the console name a key. */
export function keyThumbprint(spki: Buffer): string {
  return sha256(spki)
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('base64url')
}

/**
 * Verifies an r‖s signature over the UTF-8 record; anything malformed is simply not valid. Runs on the
 * libuv thread pool (node:crypto's callback form), so verifications use every core, not the event loop's.
 */
export function verifyRecord(key: KeyObject, record: string, signatureB64url: string): Promise<boolean> {
  if (!/^[A-Za-z0-9_-]{86}$/.test(signatureB64url)) return Promise.resolve(false)
  const signature = Buffer.from(signatureB64url, 'base64url')
  if (signature.length !== 64) return Promise.resolve(false)
  return new Promise((resolve) =>
    verify('sha256', Buffer.from(record, 'utf8'), { key, dsaEncoding: 'ieee-p1363' }, signature, (err, ok) =>
      resolve(!err && ok),
    ),
  )
}
