/**
 * TP-DCS, the user data header and the user data itself (23.040 §9.2.3.16/24, 23.038 §4).
 * The concatenation element is the only header element we build; all others are kept raw on decode.
 */
import { packSeptets, septetsToText, textToSeptets, unpackSeptets } from './gsm7'
import { OctetReader, OctetWriter, PduError } from './octets'

export type Encoding = 'gsm7' | '8bit' | 'ucs2'

export interface DataCoding {
  encoding: Encoding
  /** Message class 0 (flash) to 3, when the DCS carries one. */
  messageClass?: number
  compressed?: boolean
}

export interface ConcatInfo {
  reference: number
  total: number
  /** 1-based part number. */
  sequence: number
  referenceBits: 8 | 16
}

export interface InformationElement {
  id: number
  data: Uint8Array
}

export interface UserData {
  encoding: Encoding
  /** Decoded text for GSM-7 and UCS-2. */
  text: string
  /** Raw octets for 8-bit messages (empty otherwise). */
  data: Uint8Array
  concat?: ConcatInfo
  /** Header elements other than concatenation, kept for callers that care (ports, shift tables). */
  otherHeaders: InformationElement[]
}

const IEI_CONCAT_8 = 0x00
const IEI_CONCAT_16 = 0x08

export function encodeDcs(coding: DataCoding): number {
  const alphabet = coding.encoding === 'gsm7' ? 0 : coding.encoding === '8bit' ? 0x04 : 0x08
  return coding.messageClass === undefined ? alphabet : 0x10 | alphabet | (coding.messageClass & 3)
}

export function decodeDcs(octet: number): DataCoding {
  const group = octet >> 4
  if (group <= 0x07) {
    // General data coding (00xx) and automatic-deletion group (01xx) share this layout.
    const bits = (octet >> 2) & 3
    const encoding: Encoding = bits === 1 ? '8bit' : bits === 2 ? 'ucs2' : 'gsm7'
    return {
      encoding,
      messageClass: octet & 0x10 ? octet & 3 : undefined,
      compressed: (octet & 0x20) !== 0 || undefined,
    }
  }
  if (group === 0x0c || group === 0x0d) return { encoding: 'gsm7' }
  if (group === 0x0e) return { encoding: 'ucs2' }
  if (group === 0x0f) return { encoding: octet & 0x04 ? '8bit' : 'gsm7', messageClass: octet & 3 }
  // Reserved groups: 23.038 says to treat them as the default alphabet.
  return { encoding: 'gsm7' }
}

export function concatHeaderLength(referenceBits: 8 | 16): number {
  // UDHL octet + IEI + IEDL + reference (1 or 2) + total + sequence
  return referenceBits === 8 ? 6 : 7
}

function headerBytes(concat: ConcatInfo | undefined): Uint8Array | undefined {
  if (!concat) return undefined
  if (concat.total < 1 || concat.total > 255 || concat.sequence < 1 || concat.sequence > concat.total) {
    throw new PduError('concatenation part numbers out of range')
  }
  if (concat.referenceBits === 8) {
    return Uint8Array.of(5, IEI_CONCAT_8, 3, concat.reference & 0xff, concat.total, concat.sequence)
  }
  const ref = concat.reference & 0xffff
  return Uint8Array.of(6, IEI_CONCAT_16, 4, ref >> 8, ref & 0xff, concat.total, concat.sequence)
}

export interface UserDataInput {
  encoding: Encoding
  text?: string
  data?: Uint8Array
  concat?: ConcatInfo
}

/** Writes TP-UDL and TP-UD; returns whether a header was written (the caller sets TP-UDHI). */
export function writeUserData(w: OctetWriter, input: UserDataInput): boolean {
  const udh = headerBytes(input.concat)
  const udhLen = udh?.length ?? 0
  if (input.encoding === 'gsm7') {
    const septets = textToSeptets(input.text ?? '')
    const fill = udhLen ? (7 - ((udhLen * 8) % 7)) % 7 : 0
    const udl = (udhLen * 8 + fill) / 7 + septets.length
    if (udl > 160) throw new PduError(`GSM-7 user data of ${udl} septets exceeds 160`)
    w.byte(udl)
    if (udh) w.bytes(udh)
    w.bytes(packSeptets(septets, fill))
  } else {
    const body =
      input.encoding === 'ucs2'
        ? Buffer.from(input.text ?? '', 'utf16le').swap16()
        : (input.data ?? new Uint8Array())
    const udl = udhLen + body.length
    if (udl > 140) throw new PduError(`user data of ${udl} octets exceeds 140`)
    w.byte(udl)
    if (udh) w.bytes(udh)
    w.bytes(body)
  }
  return udh !== undefined
}

function parseHeader(header: Uint8Array): { concat?: ConcatInfo; others: InformationElement[] } {
  const r = new OctetReader(header)
  const others: InformationElement[] = []
  let concat: ConcatInfo | undefined
  while (r.remaining > 0) {
    const id = r.byte('header element id')
    const data = r.take(r.byte('header element length'), 'header element')
    if (id === IEI_CONCAT_8 && data.length === 3) {
      concat = { reference: data[0], total: data[1], sequence: data[2], referenceBits: 8 }
    } else if (id === IEI_CONCAT_16 && data.length === 4) {
      concat = { reference: (data[0] << 8) | data[1], total: data[2], sequence: data[3], referenceBits: 16 }
    } else {
      others.push({ id, data: Uint8Array.from(data) })
    }
  }
  // A part number of 0 or beyond the total is invalid (23.040 §9.2.3.24.1): treat as unconcatenated.
  if (concat && (concat.total === 0 || concat.sequence === 0 || concat.sequence > concat.total))
    concat = undefined
  return { concat, others }
}

export function readUserData(r: OctetReader, coding: DataCoding, hasHeader: boolean): UserData {
  if (coding.compressed) throw new PduError('compressed user data is not supported')
  const udl = r.byte('user data length')
  const octetCount = coding.encoding === 'gsm7' ? Math.ceil((udl * 7) / 8) : udl
  if (coding.encoding === 'gsm7' ? udl > 160 : udl > 140)
    throw new PduError(`user data length ${udl} too large`)
  const ud = r.take(octetCount, 'user data')
  let headerLen = 0
  let concat: ConcatInfo | undefined
  let otherHeaders: InformationElement[] = []
  if (hasHeader) {
    if (ud.length === 0) throw new PduError('header indicated but user data is empty')
    headerLen = ud[0] + 1
    if (headerLen > ud.length) throw new PduError('user data header longer than the user data')
    ;({ concat, others: otherHeaders } = parseHeader(ud.subarray(1, headerLen)))
  }
  if (coding.encoding === 'gsm7') {
    const fill = headerLen ? (7 - ((headerLen * 8) % 7)) % 7 : 0
    const headerSeptets = (headerLen * 8 + fill) / 7
    const count = udl - headerSeptets
    if (count < 0) throw new PduError('user data header longer than the user data')
    const text = septetsToText(unpackSeptets(ud.subarray(headerLen), count, fill))
    return { encoding: 'gsm7', text, data: new Uint8Array(), concat, otherHeaders }
  }
  const body = ud.subarray(headerLen)
  if (coding.encoding === 'ucs2') {
    // An odd trailing octet cannot be a UTF-16 unit; some phones send one, so it is dropped.
    const even = Buffer.from(body.subarray(0, body.length & ~1))
    return {
      encoding: 'ucs2',
      text: even.swap16().toString('utf16le'),
      data: new Uint8Array(),
      concat,
      otherHeaders,
    }
  }
  return { encoding: '8bit', text: '', data: Uint8Array.from(body), concat, otherHeaders }
}
