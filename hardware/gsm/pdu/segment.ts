/**
 * Choosing the alphabet and cutting a text into SMS parts. The server's template preview uses
 * `analyzeText` to show the cost of a message, so it must agree exactly with what `splitText` sends.
 */
import { gsm7Cost, isGsm7 } from './gsm7'
import { PduError } from './octets'
import { concatHeaderLength } from './user-data'

export type TextEncoding = 'gsm7' | 'ucs2'

export interface TextAnalysis {
  encoding: TextEncoding
  /** Septets (GSM-7, escapes count 2) or UTF-16 code units (UCS-2, an emoji counts 2). */
  units: number
  segments: number
  /** Units one part holds: 160/70 for a single SMS, less once a concatenation header is needed. */
  unitsPerSegment: number
}

export interface SplitOptions {
  /** Force an alphabet; by default GSM-7 when every character has a GSM-7 code, else UCS-2. */
  encoding?: TextEncoding
  /** Width of the concatenation reference; 8-bit is the common choice, 16-bit collides less. */
  referenceBits?: 8 | 16
}

export const MAX_SEGMENTS = 255

export function chooseEncoding(text: string): TextEncoding {
  return isGsm7(text) ? 'gsm7' : 'ucs2'
}

function singleCapacity(encoding: TextEncoding): number {
  return encoding === 'gsm7' ? 160 : 70
}

function partCapacity(encoding: TextEncoding, referenceBits: 8 | 16): number {
  const headerOctets = concatHeaderLength(referenceBits)
  return encoding === 'gsm7'
    ? Math.floor(((140 - headerOctets) * 8) / 7)
    : Math.floor((140 - headerOctets) / 2)
}

/** Cost of the character starting at index i, and how many UTF-16 units it spans. */
function charAt(text: string, i: number, encoding: TextEncoding): [cost: number, span: number] {
  const code = text.charCodeAt(i)
  if (encoding === 'gsm7') {
    const cost = gsm7Cost(code)
    if (cost === 0) throw new PduError(`character U+${code.toString(16)} is not in GSM-7`)
    return [cost, 1]
  }
  // Keep a surrogate pair together: splitting it would leave two undecodable halves.
  const pair = code >= 0xd800 && code <= 0xdbff && i + 1 < text.length
  const next = pair ? text.charCodeAt(i + 1) : 0
  return next >= 0xdc00 && next <= 0xdfff ? [2, 2] : [1, 1]
}

function totalUnits(text: string, encoding: TextEncoding): number {
  if (encoding === 'ucs2') return text.length
  let units = 0
  for (let i = 0; i < text.length; i++) units += charAt(text, i, encoding)[0]
  return units
}

/** Cuts the text into parts; never splits a GSM-7 escape sequence or a UTF-16 surrogate pair. */
export function splitText(
  text: string,
  options: SplitOptions = {},
): { encoding: TextEncoding; parts: string[] } {
  const encoding = options.encoding ?? chooseEncoding(text)
  if (totalUnits(text, encoding) <= singleCapacity(encoding)) return { encoding, parts: [text] }
  const capacity = partCapacity(encoding, options.referenceBits ?? 8)
  const parts: string[] = []
  let start = 0
  let used = 0
  let i = 0
  while (i < text.length) {
    const [cost, span] = charAt(text, i, encoding)
    if (used + cost > capacity) {
      parts.push(text.slice(start, i))
      start = i
      used = 0
    }
    used += cost
    i += span
  }
  parts.push(text.slice(start))
  if (parts.length > MAX_SEGMENTS)
    throw new PduError(`text needs ${parts.length} parts (max ${MAX_SEGMENTS})`)
  return { encoding, parts }
}

export function analyzeText(text: string, options: SplitOptions = {}): TextAnalysis {
  const encoding = options.encoding ?? chooseEncoding(text)
  const units = totalUnits(text, encoding)
  if (units <= singleCapacity(encoding)) {
    return { encoding, units, segments: 1, unitsPerSegment: singleCapacity(encoding) }
  }
  return {
    encoding,
    units,
    segments: splitText(text, { ...options, encoding }).parts.length,
    unitsPerSegment: partCapacity(encoding, options.referenceBits ?? 8),
  }
}
