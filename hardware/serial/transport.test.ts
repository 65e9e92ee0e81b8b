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

  it('fails with a named error for a missing device', async () => {
    await expect(openTransport('/dev/does-not-exist-ims')).rejects.toBeInstanceOf(TransportError)
    await expect(openTransport('tcp://nohost')).rejects.toThrow(/tcp:\/\/host:port/)
  })
})
