import { CRC_RESIDUAL, crc16Iso13239, crc16X25 } from '../crc16'

/**
 * The bench token-programmer serial protocol (ours; specified in docs/dongle-programmer.md).
 *
 * Frame: STX(0x02) LEN SEQ CMD PAYLOAD[LEN-2] CRC16 — LEN counts SEQ, CMD and PAYLOAD (2..250); the CRC is
 * CRC-16/X-25 over LEN..PAYLOAD, sent least significant byte first. Replies carry the request's SEQ and CMD|0x80,
 * with a status byte first in the payload; SEQ 0 is reserved for unsolicited events. Payload fields are TLVs
 * (tag, length, value).
 */
export const STX = 0x02
export const MAX_BODY = 250

export const CMD = {
  INFO: 0x01,
  PROGRAM: 0x02,
  READ_CODE: 0x03,
  ERASE: 0x04,
  EJECT: 0x05,
  EVENT: 0x60,
} as const
export const REPLY_FLAG = 0x80

export const STATUS = {
  OK: 0x00,
  UNKNOWN_COMMAND: 0x01,
  BAD_PARAMETER: 0x02,
  NO_TOKEN: 0x03,
  ALREADY_PROGRAMMED: 0x04,
  NOT_PROGRAMMED: 0x05,
  WRITE_FAILED: 0x06,
  BUSY: 0x07,
} as const

export const TAG = {
  PROGRAMMER_MODEL: 0x01,
  PROGRAMMER_FIRMWARE: 0x02,
  PROGRAMMER_SERIAL: 0x03,
  TOKEN_PRESENT: 0x04,
  TOKEN_SERIAL: 0x05,
  TOKEN_STATE: 0x06,
  TOKEN_MODEL: 0x07,
  TOKEN_CAPABILITIES: 0x08,
  KIND: 0x10,
  HASH: 0x11,
  DIGITS: 0x12,
  COUNTER: 0x13,
  PERIOD: 0x14,
  SEED: 0x15,
  CODE: 0x20,
  EVENT_TYPE: 0x30,
  MESSAGE: 0x7f,
} as const

export const KIND = { hotp: 1, totp: 2 } as const
export const HASH = { SHA1: 1, SHA256: 2, SHA512: 3 } as const
export const CAPABILITY = { HOTP: 0x01, TOTP: 0x02, SHA256: 0x04, SHA512: 0x08, DIGITS8: 0x10 } as const
export const EVENT = { TOKEN_INSERTED: 1, TOKEN_REMOVED: 2 } as const
export const TOKEN_STATE = { BLANK: 0, PROGRAMMED: 1 } as const

export interface Frame {
  seq: number
  cmd: number
  payload: Uint8Array
}

export function encodeFrame(frame: Frame): Uint8Array {
  const bodyLength = 2 + frame.payload.length
  if (bodyLength > MAX_BODY) throw new RangeError(`a frame body has at most ${MAX_BODY} bytes`)
  const out = new Uint8Array(bodyLength + 4)
  out[0] = STX
  out[1] = bodyLength
  out[2] = frame.seq
  out[3] = frame.cmd
  out.set(frame.payload, 4)
  const crc = crc16X25(out.subarray(1, 2 + bodyLength))
  out[2 + bodyLength] = crc & 0xff
  out[3 + bodyLength] = crc >> 8
  return out
}

/**
 * Turns a byte stream into frames. Noise, partial frames and CRC failures are skipped by resynchronising on the
 * next STX, so a line glitch costs one frame (the sender's retry) and never desynchronises the link.
 */
export class FrameDecoder {
  private buf = new Uint8Array(0)
  /** Frames dropped for a bad length or CRC (for diagnostics). */
  rejected = 0

  push(bytes: Uint8Array): Frame[] {
    const merged = new Uint8Array(this.buf.length + bytes.length)
    merged.set(this.buf)
    merged.set(bytes, this.buf.length)
    const frames: Frame[] = []
    let pos = 0
    for (;;) {
      const start = merged.indexOf(STX, pos)
      if (start < 0) {
        pos = merged.length
        break
      }
      if (merged.length < start + 2) {
        pos = start
        break
      }
      const bodyLength = merged[start + 1]
      if (bodyLength < 2 || bodyLength > MAX_BODY) {
        this.rejected++
        pos = start + 1
        continue
      }
      const end = start + 4 + bodyLength
      if (merged.length < end) {
        pos = start
        break
      }
      if (crc16Iso13239(merged.subarray(start + 1, end)) !== CRC_RESIDUAL) {
        this.rejected++
        pos = start + 1
        continue
      }
      frames.push({
        seq: merged[start + 2],
        cmd: merged[start + 3],
        payload: merged.slice(start + 4, end - 2),
      })
      pos = end
    }
    this.buf = merged.slice(pos)
    return frames
  }

  /**
   * Called when the line has gone quiet with a partial frame pending: that "frame" was noise that happened to
   * start with STX (its length byte can claim up to 250 bytes that will never come). Drops its STX and rescans.
   */
  skipStalled(): Frame[] {
    if (this.buf.length === 0) return []
    this.rejected++
    const rest = this.buf.subarray(1)
    this.buf = new Uint8Array(0)
    return this.push(rest)
  }
}

export type TlvValue = Uint8Array | string | number

/** TLVs: numbers are one byte unless given as bytes; strings are UTF-8. */
export function encodeTlv(fields: [tag: number, value: TlvValue][]): Uint8Array {
  const parts: number[] = []
  for (const [tag, value] of fields) {
    const bytes =
      typeof value === 'number'
        ? Uint8Array.of(value)
        : typeof value === 'string'
          ? Buffer.from(value, 'utf8')
          : value
    if (bytes.length > 255) throw new RangeError(`TLV ${tag} is longer than 255 bytes`)
    parts.push(tag, bytes.length, ...bytes)
  }
  return Uint8Array.from(parts)
}

export class TlvError extends Error {}

export function decodeTlv(bytes: Uint8Array): Map<number, Uint8Array> {
  const fields = new Map<number, Uint8Array>()
  let pos = 0
  while (pos < bytes.length) {
    if (pos + 2 > bytes.length) throw new TlvError('TLV header cut short')
    const tag = bytes[pos]
    const length = bytes[pos + 1]
    if (pos + 2 + length > bytes.length) throw new TlvError(`TLV ${tag} runs past the payload`)
    if (fields.has(tag)) throw new TlvError(`TLV ${tag} appears twice`)
    fields.set(tag, bytes.slice(pos + 2, pos + 2 + length))
    pos += 2 + length
  }
  return fields
}

export function uintBytes(value: number, size: number): Uint8Array {
  const out = new Uint8Array(size)
  let v = value
  for (let i = size - 1; i >= 0; i--) {
    out[i] = v % 256
    v = Math.floor(v / 256)
  }
  return out
}

export function readUint(bytes: Uint8Array | undefined): number | undefined {
  if (!bytes || bytes.length === 0 || bytes.length > 8) return undefined
  const n = bytes.reduce((acc, b) => acc * 256 + b, 0)
  return Number.isSafeInteger(n) ? n : undefined
}

export function readText(bytes: Uint8Array | undefined): string | undefined {
  return bytes ? Buffer.from(bytes).toString('utf8') : undefined
}
