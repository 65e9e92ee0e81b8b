/**
 * TR-31 / ANSI X9.143 key-block header: 16 fixed ASCII characters and optional blocks.
 * Parsing is strict: a block whose lengths or characters do not check is an error, never a best effort.
 */
export type Tr31Version = 'A' | 'B' | 'C' | 'D'
export const TR31_VERSIONS: readonly Tr31Version[] = ['A', 'B', 'C', 'D']

export type Tr31ErrorCode =
  | 'format' // malformed header, optional block or payload
  | 'length' // declared length does not match
  | 'version' // unknown or unsupported version
  | 'mac' // MAC verification failed (tampered block or wrong KBPK)
  | 'insecure' // wrapping key weaker than the wrapped key
  | 'kcv' // a KC/KP check value does not match

export class Tr31Error extends Error {
  constructor(
    readonly code: Tr31ErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'Tr31Error'
  }
}

export interface Tr31OptionalBlock {
  /** Two printable characters, e.g. KS, IK, KC, KP, PB. */
  id: string
  data: string
}

export interface Tr31HeaderFields {
  version: Tr31Version
  /** Two characters: B0 BDK, B1 DUKPT initial key, K0 KEK, K1 KBPK, P0 PIN encryption, M3, M6, D0, ... */
  keyUsage: string
  /** One character: T (TDES), D (DES), A (AES), H (HMAC), R (RSA), E (ECC). */
  algorithm: string
  /** One character: B, C, D, E, G, N, S, V, X, Y. */
  modeOfUse: string
  /** Two characters, `00` when unused. */
  keyVersionNumber: string
  /** E (exportable under a trusted key), N (non-exportable), S (sensitive). */
  exportability: string
  optionalBlocks: Tr31OptionalBlock[]
}

export interface ParsedTr31Header extends Tr31HeaderFields {
  /** The declared total length of the key block. */
  declaredLength: number
  /** The header text as it appears in the block (the MAC covers it). */
  text: string
}

const FIELD = /^[0-9A-Z]$/
const PRINTABLE = /^[\x20-\x7e]*$/

function check(ok: boolean, code: Tr31ErrorCode, message: string): void {
  if (!ok) throw new Tr31Error(code, message)
}

export function validateHeaderFields(h: Tr31HeaderFields): void {
  check(
    TR31_VERSIONS.includes(h.version),
    'version',
    `unknown or unsupported TR-31 version ${describe(h.version)}`,
  )
  check(/^[0-9A-Z]{2}$/.test(h.keyUsage), 'format', 'the key usage must be two characters 0-9 A-Z')
  check(FIELD.test(h.algorithm), 'format', 'the algorithm must be one character 0-9 A-Z')
  check(FIELD.test(h.modeOfUse), 'format', 'the mode of use must be one character 0-9 A-Z')
  check(/^[0-9A-Z]{2}$/.test(h.keyVersionNumber), 'format', 'the key version number must be two characters')
  check(/^[ENS]$/.test(h.exportability), 'format', 'the exportability must be E, N or S')
  check(h.optionalBlocks.length <= 99, 'format', 'at most 99 optional blocks')
  for (const b of h.optionalBlocks) {
    check(/^[0-9A-Z]{2}$/.test(b.id), 'format', 'an optional block ID must be two characters 0-9 A-Z')
    check(PRINTABLE.test(b.data), 'format', `optional block ${b.id} must hold printable ASCII only`)
  }
}

function describe(value: string): string {
  return /^[\x21-\x7e]$/.test(value) ? `"${value}"` : '(not printable)'
}

function encodeOptionalBlock(b: Tr31OptionalBlock): string {
  const short = 4 + b.data.length
  if (short <= 0xff) return `${b.id}${short.toString(16).toUpperCase().padStart(2, '0')}${b.data}`
  // Extended length: 00, the length of the length in bytes (02), then 4 hex digits.
  const long = 10 + b.data.length
  check(long <= 0xffff, 'format', `optional block ${b.id} is too long`)
  return `${b.id}0002${long.toString(16).toUpperCase().padStart(4, '0')}${b.data}`
}

/** Serialise a header; `totalLength` is the final key-block length that goes in the length field. */
export function encodeHeader(h: Tr31HeaderFields, totalLength: number): string {
  validateHeaderFields(h)
  check(totalLength <= 9999, 'length', 'the key block would be longer than 9999 characters')
  const count = h.optionalBlocks.length.toString().padStart(2, '0')
  return (
    `${h.version}${totalLength.toString().padStart(4, '0')}${h.keyUsage}${h.algorithm}${h.modeOfUse}` +
    `${h.keyVersionNumber}${h.exportability}${count}00` +
    h.optionalBlocks.map(encodeOptionalBlock).join('')
  )
}

/** Length in characters of the encoded optional blocks (to size the PB padding block). */
export function optionalBlocksLength(blocks: readonly Tr31OptionalBlock[]): number {
  return blocks.reduce((n, b) => n + encodeOptionalBlock(b).length, 0)
}

function hexNumber(text: string, what: string): number {
  check(/^[0-9A-F]+$/.test(text), 'format', `${what} is not hexadecimal`)
  return parseInt(text, 16)
}

/** Parse the header at the start of a key block (the block's remaining characters are not checked here). */
export function parseHeader(block: string): ParsedTr31Header {
  check(typeof block === 'string' && block.length >= 16, 'format', 'a key block is at least 16 characters')
  check(PRINTABLE.test(block), 'format', 'a key block holds printable ASCII only')
  const version = block[0] as Tr31Version
  check(
    TR31_VERSIONS.includes(version),
    'version',
    block[0] === 'E'
      ? 'TR-31 version E (ISO 20038) is not supported'
      : `unknown TR-31 version ${describe(version)}`,
  )
  check(/^\d{4}$/.test(block.slice(1, 5)), 'format', 'the key block length field must be 4 digits')
  const declaredLength = Number(block.slice(1, 5))
  check(/^\d{2}$/.test(block.slice(12, 14)), 'format', 'the optional block count must be 2 digits')
  check(block.slice(14, 16) === '00', 'format', 'the reserved header field must be 00')
  const count = Number(block.slice(12, 14))
  const optionalBlocks: Tr31OptionalBlock[] = []
  let pos = 16
  for (let i = 0; i < count; i++) {
    check(pos + 4 <= block.length, 'format', 'an optional block runs past the end of the key block')
    const id = block.slice(pos, pos + 2)
    let length = hexNumber(block.slice(pos + 2, pos + 4), `the length of optional block ${i + 1}`)
    let dataStart = pos + 4
    if (length === 0) {
      const lengthOfLength = hexNumber(block.slice(pos + 4, pos + 6), `the length of length of block ${id}`)
      check(
        lengthOfLength >= 1 && lengthOfLength <= 2,
        'format',
        `optional block ${id} has a bad extended length`,
      )
      dataStart = pos + 6 + 2 * lengthOfLength
      length = hexNumber(block.slice(pos + 6, dataStart), `the extended length of optional block ${id}`)
    }
    check(
      length >= dataStart - pos,
      'format',
      `optional block ${id} declares a length shorter than its header`,
    )
    check(pos + length <= block.length, 'format', `optional block ${id} runs past the end of the key block`)
    optionalBlocks.push({ id, data: block.slice(dataStart, pos + length) })
    pos += length
  }
  const fields: ParsedTr31Header = {
    version,
    keyUsage: block.slice(5, 7),
    algorithm: block[7],
    modeOfUse: block[8],
    keyVersionNumber: block.slice(9, 11),
    exportability: block[11],
    optionalBlocks,
    declaredLength,
    text: block.slice(0, pos),
  }
  validateHeaderFields(fields)
  return fields
}
