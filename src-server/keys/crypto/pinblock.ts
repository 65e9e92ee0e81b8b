import { randomBytes } from 'node:crypto'
import { aesDecrypt, aesEncrypt } from '../../crypto/block'
import { KeyInputError, xor } from './bytes'

/**
 * ISO 9564-1 PIN blocks: formats 0, 1 and 3 (64-bit, for TDES) and format 4 (128-bit, AES).
 * Errors never contain the PIN or PAN.
 */
export type PinBlockFormat = 0 | 1 | 3 | 4
export type RandomSource = (n: number) => Uint8Array

function checkPin(pin: string): void {
  if (!/^\d{4,12}$/.test(pin)) throw new KeyInputError('the PIN must be 4 to 12 decimal digits')
}

function checkPan(pan: string): void {
  if (!/^\d{1,19}$/.test(pan)) throw new KeyInputError('the PAN must be 1 to 19 decimal digits')
}

/** Random hex digits in a range, for fill nibbles (format 1: 0–F, format 3: A–F). */
function randomNibbles(count: number, low: number, random: RandomSource): string {
  const span = 16 - low
  return Array.from(random(count), (b) => (low + (b % span)).toString(16)).join('')
}

/** Format 0/3 PAN field: 0000 then the 12 rightmost digits excluding the check digit. */
function panField64(pan: string): Buffer {
  checkPan(pan)
  const digits = pan.slice(0, -1).slice(-12).padStart(12, '0')
  return Buffer.from(`0000${digits}`, 'hex')
}

/** Clear (unencrypted) 8-byte PIN block for formats 0, 1 and 3. */
export function encodePinBlock(
  format: 0 | 1 | 3,
  pin: string,
  pan?: string,
  random: RandomSource = randomBytes,
): Buffer {
  checkPin(pin)
  const head = `${format}${pin.length.toString(16)}${pin}`
  const fillCount = 16 - head.length
  if (format === 1) return Buffer.from(head + randomNibbles(fillCount, 0, random), 'hex')
  if (pan === undefined) throw new KeyInputError(`PIN block format ${format} needs the PAN`)
  const fill = format === 0 ? 'F'.repeat(fillCount) : randomNibbles(fillCount, 10, random)
  return xor(Buffer.from(head + fill, 'hex'), panField64(pan))
}

/** Recover the PIN from a clear 8-byte block; checks the format nibble, the length and the fill. */
export function decodePinBlock(format: 0 | 1 | 3, block: Uint8Array, pan?: string): string {
  if (block.length !== 8) throw new KeyInputError('a format 0, 1 or 3 PIN block is 8 bytes')
  let field: Buffer = Buffer.from(block)
  if (format !== 1) {
    if (pan === undefined) throw new KeyInputError(`PIN block format ${format} needs the PAN`)
    field = xor(field, panField64(pan))
  }
  return parsePinField(format, field.toString('hex').toUpperCase())
}

function parsePinField(format: number, nibbles: string): string {
  if (nibbles[0] !== format.toString(16)) {
    throw new KeyInputError(`the block is not PIN block format ${format} (control field ${nibbles[0]})`)
  }
  const length = parseInt(nibbles[1], 16)
  if (length < 4 || length > 12) throw new KeyInputError('the PIN block has an invalid PIN length')
  const pin = nibbles.slice(2, 2 + length)
  if (!/^\d+$/.test(pin)) throw new KeyInputError('the PIN block has a non-decimal PIN digit')
  const fill = nibbles.slice(2 + length, format === 4 ? 16 : undefined)
  const fillPattern = { 0: /^F*$/, 1: /^[0-9A-F]*$/, 3: /^[A-F]*$/, 4: /^A*$/ }[format as 0 | 1 | 3 | 4]
  if (!fillPattern.test(fill)) throw new KeyInputError(`the PIN block has an invalid format ${format} fill`)
  return pin
}

/** Format 4 plain-text PIN field: 4 N P…P, A fill to 16 nibbles, then 8 random bytes. */
export function format4PinField(pin: string, random: RandomSource = randomBytes): Buffer {
  checkPin(pin)
  const head = `4${pin.length.toString(16)}${pin}`.padEnd(16, 'A')
  return Buffer.concat([Buffer.from(head, 'hex'), Buffer.from(random(8))])
}

/** Format 4 PAN field: (PAN length − 12) ‖ PAN left-padded to 12 digits ‖ zeros to 32 nibbles. */
export function format4PanField(pan: string): Buffer {
  checkPan(pan)
  const digits = pan.length < 12 ? pan.padStart(12, '0') : pan
  const indicator = Math.max(0, pan.length - 12)
  return Buffer.from(`${indicator}${digits}`.padEnd(32, '0'), 'hex')
}

/** C = E_K(E_K(PIN field) ⊕ PAN field). */
export function encipherFormat4(
  key: Uint8Array,
  pin: string,
  pan: string,
  random: RandomSource = randomBytes,
): { pinField: Buffer; panField: Buffer; block: Buffer } {
  const pinField = format4PinField(pin, random)
  const panField = format4PanField(pan)
  const block = aesEncrypt(key, xor(aesEncrypt(key, pinField), panField))
  return { pinField, panField, block }
}

/** PIN field = D_K(D_K(C) ⊕ PAN field). */
export function decipherFormat4(key: Uint8Array, block: Uint8Array, pan: string): string {
  if (block.length !== 16) throw new KeyInputError('a format 4 PIN block is 16 bytes')
  const pinField = aesDecrypt(key, xor(aesDecrypt(key, block), format4PanField(pan)))
  return parsePinField(4, pinField.toString('hex').toUpperCase())
}
