import { createServer } from 'node:net'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { openTransport, TransportError } from './transport'
import { openPtyPair, type PtyPair } from '../../test/helpers/pty'

describe('openTransport', () => {
  let pair: PtyPair | undefined
  afterEach(async () => {
    await pair?.close()
    pair = undefined
  })

  it('carries bytes both ways over a real pty pair', async () => {
    pair = await openPtyPair()
    const left = await openTransport(pair.a)
    const right = await openTransport(pair.b)
    const got = once(right.stream, 'data')
    left.stream.write('AT\r')
    const [chunk] = (await got) as [Buffer]
    expect(chunk.toString()).toBe('AT\r')
    await left.close()
    await right.close()
  })

  it('speaks tcp:// for serial-over-IP banks', async () => {
    const server = createServer((s) => s.pipe(s))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as { port: number }
    const t = await openTransport(`tcp://127.0.0.1:${port}`)
    const got = once(t.stream, 'data')
    t.stream.write('OK')
    expect(((await got) as [Buffer])[0].toString()).toBe('OK')
    await t.close()
    server.close()
  })

  it('survives the device being pulled out mid-write: no crash, the stream closes, the failure is kept', async () => {
    pair = await openPtyPair()
    const t = await openTransport(pair.a)
    // (events.once would reject on the 'error' that precedes the close: listen for the close alone)
    const closed = new Promise((resolve) => t.stream.on('close', resolve))
    await pair.close() // the other end disappears, as when a USB serial adapter is unplugged
    pair = undefined
    for (let i = 0; i < 20 && !t.stream.destroyed; i++) {
      t.stream.write('AT\r')
      await new Promise((r) => setTimeout(r, 20))
    }
    await closed
    expect(t.stream.destroyed).toBe(true)
    expect(t.failure?.message).toMatch(/EIO|closed|EBADF/i)
    await t.close()
  })

  it('fails with a named error for a missing device', async () => {
    await expect(openTransport('/dev/does-not-exist-ims')).rejects.toBeInstanceOf(TransportError)
    await expect(openTransport('tcp://nohost')).rejects.toThrow(/tcp:\/\/host:port/)
  })
})
