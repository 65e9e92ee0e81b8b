/** Format predicates shared by the message field tables. */

export const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
export const DIGITS = (min: number, max: number) => new RegExp(`^\\d{${min},${max}}$`)
export const BASE64URL = /^[A-Za-z0-9_-]+$/
export const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
/** Two-digit codes: a listed range plus 80–99, reserved for DS use throughout the spec. */
export const code2 = (pattern: string) => new RegExp(`^(${pattern}|[89][0-9])$`)

// Patterns used inside the predicates below, compiled once: a regex literal in a function body builds a
// new RegExp object on every call, and these run for several elements of every message.
const DIGITS_4 = /^\d{4}$/
const DIGITS_8 = /^\d{8}$/
const DIGITS_12 = /^\d{12}$/
const DIGITS_14 = /^\d{14}$/
const EMAIL = /^[^\s@]+@[^\s@]+$/
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/
const IPV6_CHARS = /^[0-9a-fA-F:.]{2,45}$/

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/**
 * Gregorian month length, computed rather than through a Date (dates are checked in every AReq). Years
 * 0–99 count as 1900–1999 because these checks used `Date.UTC`, which reads them so: only 0000-02-29
 * is affected, and it stays invalid.
 */
function daysInMonth(y: number, m: number): number {
  if (m !== 2) return DAYS_IN_MONTH[m - 1]
  const year = y < 100 ? y + 1900 : y
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28
}

function validDate(y: number, m: number, d: number): boolean {
  return m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m)
}

export function isYyyymmdd(s: string): boolean {
  if (!DIGITS_8.test(s)) return false
  return validDate(+s.slice(0, 4), +s.slice(4, 6), +s.slice(6, 8))
}

/** YYYYMMDDHHMM (authentication timestamps). */
export function isYyyymmddhhmm(s: string): boolean {
  if (!DIGITS_12.test(s) || !isYyyymmdd(s.slice(0, 8))) return false
  return +s.slice(8, 10) < 24 && +s.slice(10, 12) < 60
}

/** YYYYMMDDHHMMSS (purchaseDate). */
export function isYyyymmddhhmmss(s: string): boolean {
  return DIGITS_14.test(s) && isYyyymmddhhmm(s.slice(0, 12)) && +s.slice(12, 14) < 60
}

export function isYymm(s: string): boolean {
  return DIGITS_4.test(s) && +s.slice(2, 4) >= 1 && +s.slice(2, 4) <= 12
}

export function isEmail(s: string): boolean {
  return EMAIL.test(s)
}

/** IPv4 dotted quad or IPv6 (the browserIP field allows both). */
export function isIp(s: string): boolean {
  const v4 = IPV4.exec(s)
  if (v4 && +v4[1] <= 255 && +v4[2] <= 255 && +v4[3] <= 255 && +v4[4] <= 255) return true
  return s.includes(':') && IPV6_CHARS.test(s)
}

export interface UrlPolicy {
  /** Accept `http://` for loopback hosts (lab and tests only). Production requires https. */
  allowHttpLoopback?: boolean
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

/*
 * URLs of the everyday shape are classified without the WHATWG parser, which costs about as much as all
 * other checks of an AReq together (an AReq carries up to four URLs): https to a plain DNS name, or http
 * to 127.0.0.1 or localhost, with an optional port up to 65535 (the lab's are ephemeral: five digits) and
 * any printable path, query or fragment. Such a URL always parses, to exactly that scheme and host: every label starts with a letter
 * (a last label of digits or 0x… would be read as IPv4) and none starts with xn-- (punycode, which the
 * parser validates). Anything else goes to `new URL`.
 */
const PLAIN_LABEL = '(?![Xx][Nn]--)[A-Za-z][A-Za-z0-9-]*'
const PLAIN_PORT = '(?:\\d{1,4}|[1-5]\\d{4}|6[0-4]\\d{3}|65[0-4]\\d{2}|655[0-2]\\d|6553[0-5])'
const PLAIN_TAIL = `(?::${PLAIN_PORT})?(?:[/?#][!-~]*)?$`
const PLAIN_HTTPS_URL = new RegExp(`^https://${PLAIN_LABEL}(?:\\.${PLAIN_LABEL})*${PLAIN_TAIL}`)
const PLAIN_LOOPBACK_HTTP_URL = new RegExp(`^http://(?:127\\.0\\.0\\.1|localhost)${PLAIN_TAIL}`)

/** URL the ACS will send to (dsURL, threeDSServerURL, notificationURL): https, or loopback http in the lab. */
export function isEndpointUrl(s: string, policy: UrlPolicy): boolean {
  if (PLAIN_HTTPS_URL.test(s)) return true
  if (PLAIN_LOOPBACK_HTTP_URL.test(s)) return policy.allowHttpLoopback === true
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
  if (PLAIN_HTTPS_URL.test(s) || PLAIN_LOOPBACK_HTTP_URL.test(s)) return true
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
