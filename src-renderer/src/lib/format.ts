import type { Role } from '../../../src-server/contract'

const ROLE_LABELS: Record<Role, string> = {
  admin: 'Administrator',
  supervisor: 'Supervisor',
  agent: 'Agent',
  bench: 'Bench technician',
  'key-custodian': 'Key custodian',
}

/** Every role, in the order of the labels above (the server's list is a value the bundle must not import). */
export const ROLE_CHOICES = Object.keys(ROLE_LABELS) as Role[]

export function roleLabel(role: Role): string {
  return ROLE_LABELS[role] ?? role
}

/** "3 minutes", "1 hour 5 minutes": for lockouts and retry delays given in seconds. */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.ceil(totalSeconds))
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`
  const minutes = Math.ceil(seconds / 60)
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'}`
  const hours = Math.floor(minutes / 60)
  const rest = minutes % 60
  const hourText = `${hours} hour${hours === 1 ? '' : 's'}`
  return rest === 0 ? hourText : `${hourText} ${rest} minute${rest === 1 ? '' : 's'}`
}

export function formatDateTime(iso: string): string {
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString()
}

const STATUS_LABELS: Record<string, string> = {
  active: 'Active',
  suspended: 'Suspended',
  blocked: 'Blocked',
  closed: 'Closed',
  disabled: 'Disabled',
  importing: 'Importing',
  done: 'Done',
  failed: 'Failed',
  rejected: 'Rejected',
  draft: 'Draft',
  retired: 'Retired',
}

export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? status
}

/** Badge tone of a status word: good, bad, warn or neutral. */
export function statusTone(status: string): 'good' | 'bad' | 'warn' | '' {
  if (['active', 'done', 'delivered', 'matched', 'sent'].includes(status)) return 'good'
  if (['blocked', 'failed', 'rejected', 'closed', 'disabled'].includes(status)) return 'bad'
  if (['draft', 'suspended', 'importing', 'queued', 'sending', 'expired', 'unmatched'].includes(status))
    return 'warn'
  return ''
}

const METHOD_LABELS: Record<string, string> = {
  'sms-otp': 'One-time code by SMS',
  'sms-reply': 'Reply by SMS',
  dongle: 'OTP dongle',
  'mobile-signature': 'Mobile signature',
  none: 'None (frictionless only)',
}

export function methodLabel(method: string): string {
  return METHOD_LABELS[method] ?? method
}

/** Today as YYYY-MM-DD in local time, `offsetDays` away. */
export function localDate(offsetDays = 0, from = new Date()): string {
  const day = new Date(from.getFullYear(), from.getMonth(), from.getDate() + offsetDays)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`
}

/**
 * A UTC calendar day as YYYY-MM-DD, `offsetDays` from the one `from` falls on: the ledger's days (transaction
 * filters, statistics) are UTC days, so a local date would leave out the newest hours west of Greenwich.
 */
export function utcDate(offsetDays = 0, from = new Date()): string {
  const day = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate() + offsetDays)
  return new Date(day).toISOString().slice(0, 10)
}

/** EMV 3DS transStatus letters in words. */
export const TRANS_STATUS_LABELS: Record<string, string> = {
  Y: 'Authenticated',
  N: 'Not authenticated',
  U: 'Could not be performed',
  A: 'Attempted',
  C: 'Challenge required',
  D: 'Decoupled',
  R: 'Rejected',
  I: 'Information only',
}

export function transStatusLabel(status: string): string {
  const label = TRANS_STATUS_LABELS[status]
  return label ? `${status} · ${label}` : status
}

const CURRENCY_CODES: Record<string, string> = { '978': 'EUR', '840': 'USD', '826': 'GBP', '756': 'CHF' }

/** Minor units with their exponent and ISO 4217 numeric currency: 4999, 2, '978' → "49.99 EUR". */
export function formatAmount(amount?: number, exponent = 2, currency?: string): string {
  if (amount === undefined) return '—'
  const major = (amount / 10 ** exponent).toFixed(exponent)
  return `${major} ${currency ? (CURRENCY_CODES[currency] ?? currency) : ''}`.trim()
}
