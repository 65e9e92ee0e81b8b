/** Format predicates shared by the message field tables. */

export const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
export const DIGITS = (min: number, max: number) => new RegExp(`^\\d{${min},${max}}$`)
export const BASE64URL = /^[A-Za-z0-9_-]+$/
export const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
/** Two-digit codes: a listed range plus 80–99, reserved for DS use throughout the spec. */
export const code2 = (pattern: string) => new RegExp(`^(${pattern}|[89][0-9])$`)

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate()
}

function validDate(y: number, m: number, d: number): boolean {
  return m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m)
}

export function isYyyymmdd(s: string): boolean {
  if (!/^\d{8}$/.test(s)) return false
  return validDate(+s.slice(0, 4), +s.slice(4, 6), +s.slice(6, 8))
}

/** YYYYMMDDHHMM (authentication timestamps). */
export function isYyyymmddhhmm(s: string): boolean {
  if (!/^\d{12}$/.test(s) || !isYyyymmdd(s.slice(0, 8))) return false
  return +s.slice(8, 10) < 24 && +s.slice(10, 12) < 60
}

/** YYYYMMDDHHMMSS (purchaseDate). */
export function isYyyymmddhhmmss(s: string): boolean {
  return /^\d{14}$/.test(s) && isYyyymmddhhmm(s.slice(0, 12)) && +s.slice(12, 14) < 60
}

export function isYymm(s: string): boolean {
  return /^\d{4}$/.test(s) && +s.slice(2, 4) >= 1 && +s.slice(2, 4) <= 12
}

export function isEmail(s: string): boolean {
  return /^[^\s@]+@[^\s@]+$/.test(s)
}

/** IPv4 dotted quad or IPv6 (the browserIP field allows both). */
export function isIp(s: string): boolean {
  const v4 = s.split('.')
  if (v4.length === 4 && v4.every((p) => /^\d{1,3}$/.test(p) && +p <= 255)) return true
  return s.includes(':') && /^[0-9a-fA-F:.]{2,45}$/.test(s)
}

export interface UrlPolicy {
  /** Accept `http://` for loopback hosts (lab and tests only). Production requires https. */
  allowHttpLoopback?: boolean
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** URL the ACS will send to (dsURL, threeDSServerURL, notificationURL): https, or loopback http in the lab. */
export function isEndpointUrl(s: string, policy: UrlPolicy): boolean {
  let u: URL
  try {
    u = new URL(s)
  } catch {
    return false
  }
  if (u.protocol === 'https:') return true
  return u.protocol === 'http:' && policy.allowHttpLoopback === true && LOOPBACK_HOSTS.has(u.hostname)
}

/** Informational URL (threeDSRequestorURL, oobAppURL): any absolute http(s) URL. */
export function isWebUrl(s: string): boolean {
  try {
    const u = new URL(s)
    return u.protocol === 'https:' || u.protocol === 'http:'
  } catch {
    return false
  }
}

export function decodeBase64Url(s: string): Buffer | undefined {
  if (!BASE64URL.test(s.replace(/=+$/, ''))) return undefined
  return Buffer.from(s, 'base64url')
}
