/** Service-centre timestamps and validity periods (23.040 §9.2.3.11–12). */
import { OctetReader, OctetWriter, PduError } from './octets'

export interface Timestamp {
  /** The instant, in UTC. */
  date: Date
  /** The sender's offset from UTC in minutes (a multiple of 15), as carried in the PDU. */
  offsetMinutes: number
}

const swappedBcd = (v: number): number => ((v % 10) << 4) | Math.floor(v / 10)

function fromSwappedBcd(octet: number, what: string): number {
  const lo = octet & 0x0f
  const hi = octet >> 4
  if (lo > 9 || hi > 9) throw new PduError(`${what} is not BCD`)
  return lo * 10 + hi
}

export function writeTimestamp(w: OctetWriter, ts: Timestamp): void {
  if (ts.offsetMinutes % 15 !== 0 || Math.abs(ts.offsetMinutes) > 79 * 15) {
    throw new PduError('time-zone offset must be a multiple of 15 minutes within ±19:45')
  }
  const local = new Date(ts.date.getTime() + ts.offsetMinutes * 60_000)
  w.byte(swappedBcd(local.getUTCFullYear() % 100))
    .byte(swappedBcd(local.getUTCMonth() + 1))
    .byte(swappedBcd(local.getUTCDate()))
    .byte(swappedBcd(local.getUTCHours()))
    .byte(swappedBcd(local.getUTCMinutes()))
    .byte(swappedBcd(local.getUTCSeconds()))
  const quarters = Math.abs(ts.offsetMinutes) / 15
  w.byte(swappedBcd(quarters) | (ts.offsetMinutes < 0 ? 0x08 : 0))
}

export function readTimestamp(r: OctetReader, what: string): Timestamp {
  const o = r.take(7, what)
  const year = 2000 + fromSwappedBcd(o[0], `${what} year`)
  const month = fromSwappedBcd(o[1], `${what} month`)
  const day = fromSwappedBcd(o[2], `${what} day`)
  const hour = fromSwappedBcd(o[3], `${what} hour`)
  const minute = fromSwappedBcd(o[4], `${what} minute`)
  const second = fromSwappedBcd(o[5], `${what} second`)
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    throw new PduError(`${what} is not a valid date`)
  }
  const tz = o[6]
  const quarters = fromSwappedBcd(tz & 0xf7, `${what} time zone`)
  const offsetMinutes = (tz & 0x08 ? -1 : 1) * quarters * 15
  const localMs = Date.UTC(year, month - 1, day, hour, minute, second)
  return { date: new Date(localMs - offsetMinutes * 60_000), offsetMinutes: offsetMinutes || 0 }
}

/** Validity of a submitted message: relative (most common), absolute, or none (the SMSC default). */
export type Validity = { relativeSeconds: number } | { absolute: Timestamp } | 'none'

/** The longest relative validity, 63 weeks (VP = 0xFF); gammu's default. */
export const MAX_RELATIVE_VALIDITY_SECONDS = 63 * 7 * 86400

/** Seconds → relative VP octet, rounded up so a message never expires earlier than asked. */
export function relativeValidityOctet(seconds: number): number {
  if (!(seconds > 0)) throw new PduError('relative validity must be positive')
  const minutes = Math.ceil(seconds / 60)
  if (minutes <= 720) return Math.max(0, Math.ceil(minutes / 5) - 1)
  if (minutes <= 1440) return 143 + Math.ceil((minutes - 720) / 30)
  const days = Math.ceil(minutes / 1440)
  if (days <= 30) return 166 + days
  return Math.min(255, 192 + Math.ceil(days / 7))
}

export function relativeValiditySeconds(vp: number): number {
  if (vp <= 143) return (vp + 1) * 300
  if (vp <= 167) return 43200 + (vp - 143) * 1800
  if (vp <= 196) return (vp - 166) * 86400
  return (vp - 192) * 7 * 86400
}

/** TP-VPF bits for the first octet of an SMS-SUBMIT. */
export function validityFormatBits(v: Validity): number {
  if (v === 'none') return 0x00
  return 'relativeSeconds' in v ? 0x10 : 0x18
}

export function writeValidity(w: OctetWriter, v: Validity): void {
  if (v === 'none') return
  if ('relativeSeconds' in v) w.byte(relativeValidityOctet(v.relativeSeconds))
  else writeTimestamp(w, v.absolute)
}

export function readValidity(r: OctetReader, vpf: number): Validity {
  switch (vpf) {
    case 0:
      return 'none'
    case 2:
      return { relativeSeconds: relativeValiditySeconds(r.byte('validity period')) }
    case 3:
      return { absolute: readTimestamp(r, 'validity period') }
    default:
      // Enhanced format (7 octets, 23.040 §9.2.3.12.3): skipped, reported as the SMSC default.
      r.take(7, 'enhanced validity period')
      return 'none'
  }
}
