/**
 * The exact bytes a mobile authenticator signs (docs/mobile-authenticator.md, "Canonical records"). Shared
 * by the server and the authenticator web app, so both build the same text: no Node or DOM APIs here.
 *
 * Every record is UTF-8 text: a version line, then `name:value` lines in a fixed order, joined by a single
 * LF, with no trailing LF. Values are restricted to characters that cannot contain a separator (digits,
 * base64url, a lowercase UUID) except the merchant name, which is percent-encoded (RFC 3986 unreserved
 * characters kept, every other UTF-8 byte as %XX in upper case), so two different transactions can never
 * produce the same record.
 */

export const APPROVAL_RECORD_VERSION = 'IMS-MOBILE-APPROVAL/1'
export const ACTIVATION_RECORD_VERSION = 'IMS-MOBILE-ACTIVATION/1'
export const REQUEST_RECORD_VERSION = 'IMS-MOBILE-REQUEST/1'

export const DECISIONS = ['approve', 'decline', 'fraud'] as const
export type Decision = (typeof DECISIONS)[number]

/**
 * What is approved: a 3-D Secure transaction (`acsTransID:` line, the record 3-D Secure approvals always had)
 * or an authentication request of the channel API, MOTO / EDC / ECOM (`authRequest:` line). The line's name
 * keeps the two kinds apart, so a signature over one can never be taken for the other.
 */
export type ApprovalReference =
  { acsTransID: string; authRequest?: undefined } | { authRequest: string; acsTransID?: undefined }

/** The reference of an approval request as the device API gives it (ApprovalView: one of the two). */
export function approvalReference(v: { acsTransID?: string; authRequest?: string }): ApprovalReference {
  if (v.authRequest !== undefined && v.acsTransID === undefined) return { authRequest: v.authRequest }
  if (v.acsTransID !== undefined && v.authRequest === undefined) return { acsTransID: v.acsTransID }
  throw new RecordError('an approval names either an acsTransID or an authRequest')
}

/** What the cardholder approves or refuses: the transaction, the server's challenge and the device. */
export type ApprovalFields = ApprovalReference & {
  decision: Decision
  /** Amount in minor units (digits), or '-' for a non-payment authentication. */
  amount: string
  /** Decimal places of the amount (one digit), or '-'. */
  exponent: string
  /**
   * ISO 4217 code, or '-': numeric (three digits) for 3-D Secure, as in the AReq; alphabetic (three capital
   * letters) for a channel request, as the merchant sent it.
   */
  currency: string
  /** merchantName as received (may be empty). */
  merchant: string
  /** When the server opened the approval request (ms since the epoch). */
  issuedAt: number
  /** When the device signed (ms since the epoch, the device's clock). */
  signedAt: number
  /** The server's single-use nonce for this approval (base64url). */
  nonce: string
  deviceId: string
  /** The point-of-interaction screen whose QR code the device scanned, or '-'. */
  poi: string
}

const B64URL = /^[A-Za-z0-9_-]{1,128}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export class RecordError extends Error {
  override name = 'RecordError'
}

function check(ok: boolean, field: string): void {
  if (!ok) throw new RecordError(`${field} cannot be put in a canonical record`)
}

/** RFC 3986 percent-encoding of UTF-8: A–Z a–z 0–9 - . _ ~ stay, every other byte becomes %XX. */
export function percentEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

const isMillis = (n: number) => Number.isSafeInteger(n) && n >= 0

export function approvalRecord(f: ApprovalFields): string {
  const threeDS = f.acsTransID !== undefined
  check((DECISIONS as readonly string[]).includes(f.decision), 'decision')
  check(
    threeDS ? UUID.test(f.acsTransID) : UUID.test(f.authRequest ?? ''),
    threeDS ? 'acsTransID' : 'authRequest',
  )
  check(f.amount === '-' || /^\d{1,48}$/.test(f.amount), 'amount')
  check(f.exponent === '-' || /^\d$/.test(f.exponent), 'exponent')
  check(f.currency === '-' || (threeDS ? /^\d{3}$/ : /^[A-Z]{3}$/).test(f.currency), 'currency')
  check(typeof f.merchant === 'string' && f.merchant.length <= 100, 'merchant')
  check(isMillis(f.issuedAt), 'issuedAt')
  check(isMillis(f.signedAt), 'signedAt')
  check(B64URL.test(f.nonce), 'nonce')
  check(B64URL.test(f.deviceId), 'deviceId')
  check(f.poi === '-' || B64URL.test(f.poi), 'poi')
  return [
    APPROVAL_RECORD_VERSION,
    `decision:${f.decision}`,
    threeDS ? `acsTransID:${f.acsTransID}` : `authRequest:${f.authRequest}`,
    `amount:${f.amount}`,
    `exponent:${f.exponent}`,
    `currency:${f.currency}`,
    `merchant:${percentEncode(f.merchant)}`,
    `issuedAt:${f.issuedAt}`,
    `signedAt:${f.signedAt}`,
    `nonce:${f.nonce}`,
    `device:${f.deviceId}`,
    `poi:${f.poi}`,
  ].join('\n')
}

/**
 * Proof of possession at activation: the new key signs the activation token's hash and its own public key's
 * hash (both SHA-256, base64url), so a token cannot be replayed with another key.
 */
export function activationRecord(tokenHash: string, keyThumbprint: string): string {
  check(B64URL.test(tokenHash), 'token hash')
  check(B64URL.test(keyThumbprint), 'key thumbprint')
  return [ACTIVATION_RECORD_VERSION, `token:${tokenHash}`, `key:${keyThumbprint}`].join('\n')
}

/** A signed API request: method, path with query, the device's time and the SHA-256 of the raw body. */
export function requestRecord(method: string, pathAndQuery: string, at: number, bodyHash: string): string {
  check(/^[A-Z]{3,7}$/.test(method), 'method')
  check(/^\/[\x21-\x7e]{0,2000}$/.test(pathAndQuery), 'path')
  check(isMillis(at), 'time')
  check(B64URL.test(bodyHash), 'body hash')
  return [REQUEST_RECORD_VERSION, method, pathAndQuery, String(at), bodyHash].join('\n')
}

/** `IMS-Device <deviceId>.<time ms>.<signature base64url>`: the Authorization header of a signed request. */
export const DEVICE_AUTH_SCHEME = 'IMS-Device'

export function deviceAuthorization(deviceId: string, at: number, signature: string): string {
  return `${DEVICE_AUTH_SCHEME} ${deviceId}.${at}.${signature}`
}

export function parseDeviceAuthorization(
  header: string,
): { deviceId: string; at: number; signature: string } | undefined {
  const m = /^IMS-Device ([A-Za-z0-9_-]{16,64})\.(\d{1,16})\.([A-Za-z0-9_-]{80,100})$/.exec(header)
  if (!m) return undefined
  return { deviceId: m[1], at: Number(m[2]), signature: m[3] }
}
