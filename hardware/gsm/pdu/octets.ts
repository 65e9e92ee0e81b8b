/**
 * Bounds-checked reading and writing of PDU octets. Incoming PDUs are untrusted (they come from the
 * network through the modem), so every read checks the remaining length and fails with a PduError
 * that says what was missing, never with an out-of-range read or a crash.
 */

export class PduError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PduError'
  }
}

export function hexToBytes(hex: string): Uint8Array {
  const clean = hex.trim()
  if (clean.length % 2 !== 0) throw new PduError(`PDU hex has an odd number of digits (${clean.length})`)
  if (!/^[0-9A-Fa-f]*$/.test(clean)) throw new PduError('PDU hex contains a non-hex character')
  return Uint8Array.from(Buffer.from(clean, 'hex'))
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').toUpperCase()
}

export class OctetReader {
  private pos = 0
  constructor(private readonly bytes: Uint8Array) {}

  get offset(): number {
    return this.pos
  }

  get remaining(): number {
    return this.bytes.length - this.pos
  }

  byte(what: string): number {
    if (this.pos >= this.bytes.length) throw new PduError(`PDU ends before ${what}`)
    return this.bytes[this.pos++]
  }

  take(count: number, what: string): Uint8Array {
    if (count < 0 || this.pos + count > this.bytes.length) {
      throw new PduError(`PDU ends inside ${what} (needs ${count} octets, has ${this.remaining})`)
    }
    const out = this.bytes.subarray(this.pos, this.pos + count)
    this.pos += count
    return out
  }

  rest(): Uint8Array {
    const out = this.bytes.subarray(this.pos)
    this.pos = this.bytes.length
    return out
  }
}

/** A growable octet buffer; PDUs are at most 176 octets, so one small allocation per PDU suffices. */
export class OctetWriter {
  private buf = new Uint8Array(192)
  private len = 0

  byte(value: number): this {
    this.ensure(1)
    this.buf[this.len++] = value & 0xff
    return this
  }

  bytes(values: Uint8Array): this {
    this.ensure(values.length)
    this.buf.set(values, this.len)
    this.len += values.length
    return this
  }

  get length(): number {
    return this.len
  }

  result(): Uint8Array {
    return this.buf.subarray(0, this.len)
  }

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + extra))
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
  }
}
