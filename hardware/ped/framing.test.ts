import { describe, expect, it } from 'vitest'
import { createWire } from '../sim/ped/wire'
import { ACK, crc16Ccitt, encodeFrame, EOT, FrameDecoder, lrc, NAK } from './framing'
import { Link, LinkError } from './link'

describe('PED framing', () => {
  it('STX/ETX/LRC: the LRC covers the payload and ETX', () => {
    const frame = encodeFrame('stx', Buffer.from('01I0'))
    expect(frame.toString('hex')).toBe(
      Buffer.from([0x02, ...Buffer.from('01I0'), 0x03, lrc(Buffer.from('01I0\x03'))]).toString('hex'),
    )
    expect(lrc(Buffer.from([0x30, 0x31, 0x03]))).toBe(0x30 ^ 0x31 ^ 0x03)
  })

  it('CRC-16/CCITT (XMODEM) check value of "123456789" is 0x31C3', () => {
    expect(crc16Ccitt(Buffer.from('123456789'))).toBe(0x31c3)
    const frame = encodeFrame('syn', Buffer.from('12345678'))
    // SYN payload ETB CRC(payload ‖ ETB) big-endian.
    const crc = crc16Ccitt(Buffer.from('12345678\x17'))
    expect([...frame.subarray(-2)]).toEqual([crc >> 8, crc & 0xff])
  })

  for (const profile of ['stx', 'syn'] as const) {
    it(`${profile}: decodes frames split across chunks, skips noise, flags bad checks, passes control bytes`, () => {
      const d = new FrameDecoder(profile)
      const good = encodeFrame(profile, Buffer.from('07K0\x1c01'))
      const bad = Buffer.from(good)
      bad[3] ^= 0x01
      const events = [
        ...d.push(Buffer.from([0x41, 0x42, ACK])),
        ...d.push(good.subarray(0, 4)),
        ...d.push(Buffer.concat([good.subarray(4), Buffer.from([NAK])])),
        ...d.push(bad),
        ...d.push(Buffer.from([EOT])),
      ]
      expect(events).toEqual([
        { type: 'control', byte: ACK },
        { type: 'frame', payload: Buffer.from('07K0\x1c01'), valid: true },
        { type: 'control', byte: NAK },
        { type: 'frame', payload: bad.subarray(1, bad.length - (profile === 'stx' ? 2 : 3)), valid: false },
        { type: 'control', byte: EOT },
      ])
    })
  }

  it('refuses a payload containing the end marker', () => {
    expect(() => encodeFrame('stx', Buffer.from([0x41, 0x03]))).toThrow(/start or end marker/)
  })
})

describe('PED link (ACK/NAK, retries, EOT)', () => {
  it('a corrupted frame is NAKed and resent; the receiver gets it once', async () => {
    const wire = createWire()
    const a = new Link(wire.a, { profile: 'stx', ackTimeoutMs: 200 })
    const b = new Link(wire.b, { profile: 'stx', ackTimeoutMs: 200 })
    const got: string[] = []
    b.on('message', (m) => got.push(m.toString()))
    a.faults.corruptFrames = 2
    await a.send(Buffer.from('01I0'))
    expect(got).toEqual(['01I0'])
    expect(a.stats.retransmissions).toBe(2)
    a.detach()
    b.detach()
    wire.destroy()
  })

  it('gives up with EOT after three retransmissions', async () => {
    const wire = createWire()
    const a = new Link(wire.a, { profile: 'syn', ackTimeoutMs: 50 })
    const b = new Link(wire.b, { profile: 'syn', ackTimeoutMs: 50 })
    let aborted = false
    b.on('abort', () => (aborted = true))
    b.faults.dropAcks = 10
    await expect(a.send(Buffer.from('01I0'))).rejects.toThrow(LinkError)
    await new Promise((r) => setImmediate(r))
    expect(a.stats.retransmissions).toBe(3)
    expect(aborted).toBe(true)
    a.detach()
    b.detach()
    wire.destroy()
  })
})
