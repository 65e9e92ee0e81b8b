/**
 * TP addresses (23.040 §9.1.2.5) and the SMSC address (24.011 RP address): BCD semi-octets with a
 * type-of-address octet, or GSM-7 packed alphanumeric senders such as "MyBank".
 */
import { packSeptets, septetsToText, textToSeptets, unpackSeptets } from './gsm7'
import { OctetReader, OctetWriter, PduError } from './octets'

export type AddressType = 'international' | 'national' | 'unknown' | 'alphanumeric' | 'other'

export interface Address {
  type: AddressType
  /** International numbers carry a leading `+`; alphanumeric senders are plain text. */
  value: string
}

const TOA_INTERNATIONAL = 0x91
const TOA_NATIONAL = 0xa1
const TOA_UNKNOWN = 0x81
const TOA_ALPHANUMERIC = 0xd0

const SEMI_OCTET_DIGITS = '0123456789*#abc'

/**
 * Classifies a caller-supplied address: `+4917…` international, plain digits unknown numbering (what
 * modems and gammu use for national numbers), anything else alphanumeric.
 */
export function parseAddress(value: string, type?: AddressType): Address {
  const trimmed = value.trim()
  if (type) return { type, value: trimmed }
  if (/^\+[0-9*#]{1,20}$/.test(trimmed)) return { type: 'international', value: trimmed }
  if (/^[0-9*#]{1,20}$/.test(trimmed)) return { type: 'unknown', value: trimmed }
  if (trimmed.length > 0) return { type: 'alphanumeric', value: trimmed }
  throw new PduError('empty address')
}

function toa(type: AddressType): number {
  switch (type) {
    case 'international':
      return TOA_INTERNATIONAL
    case 'national':
      return TOA_NATIONAL
    case 'alphanumeric':
      return TOA_ALPHANUMERIC
    default:
      return TOA_UNKNOWN
  }
}

function typeFromToa(octet: number): AddressType {
  switch ((octet >> 4) & 0x07) {
    case 0:
      return 'unknown'
    case 1:
      return 'international'
    case 2:
      return 'national'
    case 5:
      return 'alphanumeric'
    default:
      return 'other'
  }
}

function digitsOf(address: Address): string {
  const digits = address.value.replace(/^\+/, '')
  if (!/^[0-9*#abcABC]+$/.test(digits)) throw new PduError(`address is not a phone number: ${address.type}`)
  if (digits.length > 20) throw new PduError('phone number longer than 20 digits')
  return digits.toLowerCase()
}

function encodeSemiOctets(digits: string): Uint8Array {
  const out = new Uint8Array((digits.length + 1) >> 1)
  for (let i = 0; i < digits.length; i++) {
    const v = SEMI_OCTET_DIGITS.indexOf(digits[i])
    out[i >> 1] |= i & 1 ? v << 4 : v
  }
  if (digits.length & 1) out[out.length - 1] |= 0xf0
  return out
}

function decodeSemiOctets(octets: Uint8Array, count: number): string {
  let out = ''
  for (let i = 0; i < count; i++) {
    const v = i & 1 ? octets[i >> 1] >> 4 : octets[i >> 1] & 0x0f
    if (v === 0x0f) break
    out += SEMI_OCTET_DIGITS[v]
  }
  return out
}

export function writeAddress(w: OctetWriter, address: Address): void {
  if (address.type === 'alphanumeric') {
    const septets = textToSeptets(address.value)
    if (septets.length > 11) throw new PduError('alphanumeric address longer than 11 septets')
    const packed = packSeptets(septets)
    w.byte(Math.ceil((septets.length * 7) / 4))
      .byte(TOA_ALPHANUMERIC)
      .bytes(packed)
    return
  }
  const digits = digitsOf(address)
  w.byte(digits.length).byte(toa(address.type)).bytes(encodeSemiOctets(digits))
}

export function readAddress(r: OctetReader, what: string): Address {
  const semiOctets = r.byte(`${what} length`)
  if (semiOctets > 20) throw new PduError(`${what} claims ${semiOctets} digits (max 20)`)
  const typeOctet = r.byte(`${what} type`)
  const body = r.take((semiOctets + 1) >> 1, what)
  const type = typeFromToa(typeOctet)
  if (type === 'alphanumeric') {
    return { type, value: septetsToText(unpackSeptets(body, Math.floor((semiOctets * 4) / 7))) }
  }
  const digits = decodeSemiOctets(body, semiOctets)
  return { type, value: type === 'international' ? `+${digits}` : digits }
}

/** SMSC field in front of the TPDU: `00` means "use the SMSC stored in the modem". */
export function writeSmsc(w: OctetWriter, smsc: string | undefined): void {
  if (!smsc) {
    w.byte(0)
    return
  }
  const address = parseAddress(smsc)
  const digits = encodeSemiOctets(digitsOf(address))
  w.byte(digits.length + 1)
    .byte(toa(address.type))
    .bytes(digits)
}

export function readSmsc(r: OctetReader): string | undefined {
  const length = r.byte('SMSC length')
  if (length === 0) return undefined
  if (length > 12) throw new PduError(`SMSC field claims ${length} octets (max 12)`)
  const typeOctet = r.byte('SMSC type')
  const body = r.take(length - 1, 'SMSC address')
  const digits = decodeSemiOctets(body, body.length * 2)
  // gammu writes `0181` for "no SMSC digits": keep that as absent rather than as a bare "+".
  if (!digits) return undefined
  return typeFromToa(typeOctet) === 'international' ? `+${digits}` : digits
}
