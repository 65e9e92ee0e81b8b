import { Duplex } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { AtChannel, type Urc } from './channel'
import { AtTimeoutError, ChannelClosedError, ModemReportedError } from './errors'

/** A fake modem end: records what the channel writes and lets the test feed replies in any fragments. */
function fakeModem() {
  const written: string[] = []
  const stream = new Duplex({
    read() {},
    write(chunk, _enc, cb) {
      written.push(chunk.toString('latin1'))
      cb()
    },
  })
  const feed = (text: string, oneByteAtATime = false) => {
    if (!oneByteAtATime) stream.push(Buffer.from(text, 'latin1'))
    else for (const ch of text) stream.push(Buffer.from(ch, 'latin1'))
  }
  return { stream, written, feed }
}

const tick = () => new Promise((r) => setImmediate(r))

describe('AtChannel line parser', () => {
  it('separates echo, URCs in the middle of a response, and the final OK', async () => {
    const m = fakeModem()
    const ch = new AtChannel(m.stream)
    const urcs: Urc[] = []
    ch.on('urc', (u) => urcs.push(u))
    const reply = ch.command('AT+CSQ')
    await tick()
    m.feed('AT+CSQ\r\r\n+CMTI: "SM",3\r\n\r\n+CSQ: 21,99\r\n^RSSI: 17\r\n\r\nOK\r\n')
    expect(await reply).toEqual(['+CSQ: 21,99'])
    expect(urcs.map((u) => u.line)).toEqual(['+CMTI: "SM",3', '^RSSI: 17'])
  })

  it('copes with one-byte deliveries, \\r\\r\\n and NUL floods', async () => {
    const m = fakeModem()
    const ch = new AtChannel(m.stream)
    const reply = ch.command('AT+CGMI')
    await tick()
    m.feed('\0\0\r\r\nhuawei\r\r\n\r\r\nOK\r\r\n', true)
    expect(await reply).toEqual(['huawei'])
  })

  it('answers the "> " prompt that has no newline, even with a URC right before it', async () => {
    const m = fakeModem()
    const ch = new AtChannel(m.stream)
    const urcs: string[] = []
    ch.on('urc', (u) => urcs.push(u.line))
    const reply = ch.command('AT+CMGS=5', { pdu: '0011AABB' })
    await tick()
    m.feed('AT+CMGS=5\r\r\n+CREG: 1\r\n> ')
    await tick()
    expect(m.written.at(-1)).toBe('0011AABB\x1a')
    m.feed('0011AABB\x1a\r\n^RSSI: 12\r\n+CMGS: 7\r\n\r\nOK\r\n')
    expect(await reply).toEqual(['+CMGS: 7'])
    expect(urcs).toEqual(['+CREG: 1', '^RSSI: 12'])
  })

  it('treats +CREG as the response of AT+CREG? but as a URC during other commands', async () => {
    const m = fakeModem()
    const ch = new AtChannel(m.stream)
    const urcs: string[] = []
    ch.on('urc', (u) => urcs.push(u.line))
    const a = ch.command('AT+CREG?')
    await tick()
    m.feed('\r\n+CREG: 0,1\r\n\r\nOK\r\n')
    expect(await a).toEqual(['+CREG: 0,1'])
    const b = ch.command('AT+CSQ')
    await tick()
    m.feed('\r\n+CREG: 5\r\n+CSQ: 10,99\r\nOK\r\n')
    expect(await b).toEqual(['+CSQ: 10,99'])
    expect(urcs).toEqual(['+CREG: 5'])
  })

  it('collects the PDU line of two-line URCs (+CMT, +CDS)', async () => {
    const m = fakeModem()
    const ch = new AtChannel(m.stream)
    const urcs: Urc[] = []
    ch.on('urc', (u) => urcs.push(u))
    m.feed(
      '\r\n+CMT: ,24\r\n07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07\r\n',
    )
    m.feed('\r\n+CDS: 25\r\n0006D60B911326880736F4111011719551401110117195714000\r\n')
    await tick()
    expect(urcs).toHaveLength(2)
    expect(urcs[0].pdu).toMatch(/^0791/)
    expect(urcs[1].line).toBe('+CDS: 25')
  })

  it('decodes +CMS/+CME errors into named errors and ends the command at once', async () => {
    const m = fakeModem()
    const ch = new AtChannel(m.stream)
    const a = ch.command('AT+CMMS=2')
    await tick()
    m.feed('\r\n+CMS ERROR: 500\r\n')
    await expect(a).rejects.toMatchObject({
      name: 'CmsError',
      code: 500,
      errorName: 'UNKNOWN_ERROR',
      retryable: true,
    })
    const b = ch.command('AT+CSCA?')
    await tick()
    m.feed('\r\n+CME ERROR: 14\r\n')
    const err = await b.catch((e) => e)
    expect(err).toBeInstanceOf(ModemReportedError)
    expect(err.errorName).toBe('SIM_BUSY')
    const c = ch.command('AT+CMGS=9', { pdu: '00' })
    await tick()
    m.feed('\r\n+CMS ERROR: 304\r\n')
    await expect(c).rejects.toMatchObject({ errorName: 'INVALID_PDU_PARAMETER', retryable: false })
  })

  it('times out a command, cancels its prompt, and the next command still works', async () => {
    const m = fakeModem()
    const ch = new AtChannel(m.stream)
    const a = ch.command('AT+CMGS=9', { pdu: '00', timeoutMs: 50 })
    await expect(a).rejects.toBeInstanceOf(AtTimeoutError)
    expect(m.written.at(-1)).toBe('\x1b')
    const b = ch.command('AT')
    await tick()
    m.feed('\r\nOK\r\n')
    expect(await b).toEqual([])
  })

  it('completes a command whose OK never comes when told to (Wavecom +CPIN)', async () => {
    const m = fakeModem()
    const ch = new AtChannel(m.stream)
    const a = ch.command('AT+CPIN?', { okOptionalAfterMs: 30 })
    await tick()
    m.feed('\r\n+CPIN: READY\r\n')
    expect(await a).toEqual(['+CPIN: READY'])
  })

  it('fails the pending and queued commands with ChannelClosedError when the stream closes', async () => {
    const m = fakeModem()
    const ch = new AtChannel(m.stream)
    const a = ch.command('AT')
    const b = ch.command('AT')
    await tick()
    m.stream.destroy()
    await expect(a).rejects.toBeInstanceOf(ChannelClosedError)
    await expect(b).rejects.toBeInstanceOf(ChannelClosedError)
  })

  it('never traces the PIN or a PDU', async () => {
    const m = fakeModem()
    const trace: string[] = []
    const ch = new AtChannel(m.stream, { trace: (d, t) => trace.push(`${d} ${t}`) })
    const a = ch.command('AT+CPIN="4321"')
    await tick()
    m.feed('AT+CPIN="4321"\r\r\nOK\r\n')
    await a
    const pdu = '0011000C919421436587090000AA0BD9775D0E1ABFC965507A0E'
    const b = ch.command('AT+CMGS=25', { pdu })
    await tick()
    m.feed('> ')
    await tick()
    m.feed(`${pdu}\x1a\r\n+CMGS: 1\r\nOK\r\n`)
    await b
    expect(trace.join('\n')).not.toContain('4321')
    expect(trace.join('\n')).not.toContain(pdu)
  })
})
