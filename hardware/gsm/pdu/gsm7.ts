/**
 * The GSM 03.38 / 23.038 default alphabet and its extension table (reached with the escape 0x1B).
 * Written out here rather than taken from a library: npm codecs get 0x5F wrong (`§`) and fall back to
 * UCS-2 for characters the default alphabet does have (é, ü, ß, Ç, €), which doubles the SMS cost.
 */
import { PduError } from './octets'

const DEFAULT_ALPHABET =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà'

const EXTENSION: ReadonlyArray<[number, string]> = [
  [0x0a, '\f'],
  [0x14, '^'],
  [0x28, '{'],
  [0x29, '}'],
  [0x2f, '\\'],
  [0x3c, '['],
  [0x3d, '~'],
  [0x3e, ']'],
  [0x40, '|'],
  [0x65, '€'],
]

export const ESCAPE = 0x1b

/**
 * UTF-16 code unit → septet value (extension characters as 0x100 | value), -1 when not encodable.
 * A flat table rather than a Map: this lookup is the codec's hot path (≥100k PDUs/s).
 */
const encodeTable = new Int16Array(0x10000).fill(-1)
const decodeDefault: string[] = [...DEFAULT_ALPHABET]
const decodeExtension = new Map<number, string>()

if (decodeDefault.length !== 128) throw new Error('GSM-7 default alphabet table must have 128 entries')
decodeDefault.forEach((ch, value) => {
  if (value !== ESCAPE) encodeTable[ch.charCodeAt(0)] = value
})
for (const [value, ch] of EXTENSION) {
  encodeTable[ch.charCodeAt(0)] = 0x100 | value
  decodeExtension.set(value, ch)
}

/** Septets one UTF-16 code unit costs in GSM-7: 1, 2 (escape + extension) or 0 when not encodable. */
export function gsm7Cost(charCode: number): number {
  const v = encodeTable[charCode]
  if (v < 0) return 0
  return v & 0x100 ? 2 : 1
}

export function isGsm7(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (encodeTable[text.charCodeAt(i)] < 0) return false
  return true
}

/** Text → septet values (escape sequences expanded). Throws for a character outside GSM-7. */
export function textToSeptets(text: string): number[] {
  const out: number[] = []
  for (let i = 0; i < text.length; i++) {
    const v = encodeTable[text.charCodeAt(i)]
    if (v < 0) throw new PduError(`character U+${text.charCodeAt(i).toString(16)} is not in GSM-7`)
    if (v & 0x100) out.push(ESCAPE, v & 0x7f)
    else out.push(v)
  }
  return out
}

/**
 * Septets → text. An escape followed by a value with no extension meaning shows the default-table
 * character (23.038 §6.2.1.1); a trailing lone escape is dropped.
 */
export function septetsToText(septets: ArrayLike<number>): string {
  let out = ''
  for (let i = 0; i < septets.length; i++) {
    const v = septets[i] & 0x7f
    if (v === ESCAPE) {
      if (i + 1 >= septets.length) break
      const next = septets[++i] & 0x7f
      out += decodeExtension.get(next) ?? (next === ESCAPE ? ' ' : decodeDefault[next])
    } else {
      out += decodeDefault[v]
    }
  }
  return out
}

/**
 * Packs septets into octets, least significant bit first. `fillBits` leading zero bits align the first
 * septet on a septet boundary after a user data header (23.040 §9.2.3.24).
 */
export function packSeptets(septets: ArrayLike<number>, fillBits = 0): Uint8Array {
  const totalBits = fillBits + septets.length * 7
  const out = new Uint8Array((totalBits + 7) >> 3)
  let bit = fillBits
  for (let i = 0; i < septets.length; i++, bit += 7) {
    const s = septets[i] & 0x7f
    const octet = bit >> 3
    const shift = bit & 7
    out[octet] |= (s << shift) & 0xff
    if (shift > 1) out[octet + 1] |= s >> (8 - shift)
  }
  return out
}

export function unpackSeptets(octets: Uint8Array, count: number, fillBits = 0): number[] {
  if (fillBits + count * 7 > octets.length * 8) {
    throw new PduError(`user data holds fewer than the ${count} septets announced`)
  }
  const out = new Array<number>(count)
  let bit = fillBits
  for (let i = 0; i < count; i++, bit += 7) {
    const octet = bit >> 3
    const shift = bit & 7
    let v = octets[octet] >> shift
    if (shift > 1) v |= octets[octet + 1] << (8 - shift)
    out[i] = v & 0x7f
  }
  return out
}
