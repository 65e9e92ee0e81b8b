/**
 * PED link framing, two pluggable profiles:
 * - `stx`: STX payload ETX LRC, LRC = XOR of every byte after STX up to and including ETX (Uniform PP791 style);
 * - `syn`: SYN payload ETB CRC16, CRC-16/CCITT (poly 0x1021, init 0) over payload + ETB, big-endian (ABECS style).
 * Single control bytes travel between frames: ACK, NAK, EOT (give up / abort).
 */
export type FramingProfile = 'stx' | 'syn'

export const STX = 0x02
export const ETX = 0x03
export const EOT = 0x04
export const ACK = 0x06
export const NAK = 0x15
export const SYN = 0x16
export const ETB = 0x17

const MARKERS: Record<FramingProfile, { start: number; end: number; checkLength: number }> = {
  stx: { start: STX, end: ETX, checkLength: 1 },
  syn: { start: SYN, end: ETB, checkLength: 2 },
}

export function lrc(bytes: Uint8Array): number {
  let x = 0
  for (const b of bytes) x ^= b
  return x
}

export function crc16Ccitt(bytes: Uint8Array): number {
  let crc = 0
  for (const b of bytes) {
    crc ^= b << 8
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}

function check(profile: FramingProfile, bodyWithEnd: Uint8Array): Buffer {
  if (profile === 'stx') return Buffer.from([lrc(bodyWithEnd)])
  const crc = crc16Ccitt(bodyWithEnd)
  return Buffer.from([crc >> 8, crc & 0xff])
}

export function encodeFrame(profile: FramingProfile, payload: Uint8Array): Buffer {
  const { start, end } = MARKERS[profile]
  if (payload.includes(start) || payload.includes(end)) {
    throw new RangeError('a frame payload may not contain the start or end marker')
  }
  const bodyWithEnd = Buffer.concat([payload, Buffer.from([end])])
  return Buffer.concat([Buffer.from([start]), bodyWithEnd, check(profile, bodyWithEnd)])
}

export type LinkEvent =
  | { type: 'frame'; payload: Buffer; valid: boolean }
  | { type: 'control'; byte: typeof ACK | typeof NAK | typeof EOT }

/**
 * Streaming decoder: feed it whatever the port delivers, get frames (with their check result) and control
 * bytes. Noise between frames is dropped; a frame longer than `maxPayload` is abandoned.
 */
export class FrameDecoder {
  private body: number[] | undefined
  private checkBytes: number[] | undefined

  constructor(
    private readonly profile: FramingProfile,
    private readonly maxPayload = 64 * 1024,
  ) {}

  push(chunk: Uint8Array): LinkEvent[] {
    const { start, end, checkLength } = MARKERS[this.profile]
    const events: LinkEvent[] = []
    for (const byte of chunk) {
      if (this.checkBytes) {
        this.checkBytes.push(byte)
        if (this.checkBytes.length === checkLength) {
          const bodyWithEnd = Buffer.from([...this.body!, end])
          const valid = check(this.profile, bodyWithEnd).equals(Buffer.from(this.checkBytes))
          events.push({ type: 'frame', payload: Buffer.from(this.body!), valid })
          this.body = undefined
          this.checkBytes = undefined
        }
      } else if (this.body) {
        if (byte === end) this.checkBytes = []
        else if (byte === start) this.body = []
        else if (this.body.length >= this.maxPayload) this.body = undefined
        else this.body.push(byte)
      } else if (byte === start) {
        this.body = []
      } else if (byte === ACK || byte === NAK || byte === EOT) {
        events.push({ type: 'control', byte })
      }
    }
    return events
  }
}
