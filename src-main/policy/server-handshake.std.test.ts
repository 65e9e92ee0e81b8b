import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import {
  isLoopbackHttpUrl,
  masterKeyMessage,
  ServerStartError,
  waitForServerReady,
} from './server-handshake.std'

describe('masterKeyMessage', () => {
  it('sends exactly 32 bytes as base64', () => {
    const key = new Uint8Array(32).map((_, i) => i)
    const message = masterKeyMessage(key)
    expect(message.type).toBe('master-key')
    if (message.type === 'master-key') expect(Buffer.from(message.key, 'base64')).toEqual(Buffer.from(key))
  })

  it('refuses other lengths without echoing the key', () => {
    expect(() => masterKeyMessage(new Uint8Array(16))).toThrow(/32 bytes, got 16/)
  })
})

describe('isLoopbackHttpUrl', () => {
  it.each(['http://127.0.0.1:8787', 'http://localhost:41000/', 'http://[::1]:9000'])('accepts %s', (url) => {
    expect(isLoopbackHttpUrl(url)).toBe(true)
  })
  it.each([
    'http://10.0.0.2:8787',
    'https://127.0.0.1:8787',
    'http://127.0.0.1',
    'http://u:p@127.0.0.1:1',
    42,
  ])('refuses %s', (url) => {
    expect(isLoopbackHttpUrl(url)).toBe(false)
  })
})

describe('waitForServerReady', () => {
  function child() {
    return new EventEmitter()
  }

  it('resolves with the origin the server reports and stops listening', async () => {
    const server = child()
    const ready = waitForServerReady(server, 5_000)
    server.emit('message', { type: 'log', text: 'migrating' })
    server.emit('message', 'not an object')
    server.emit('message', { type: 'ready', url: 'http://127.0.0.1:41234/' })
    await expect(ready).resolves.toBe('http://127.0.0.1:41234')
    expect(server.listenerCount('message')).toBe(0)
    expect(server.listenerCount('exit')).toBe(0)
  })

  it('rejects with the server’s fatal message', async () => {
    const server = child()
    const ready = waitForServerReady(server, 5_000)
    server.emit('message', { type: 'fatal', message: 'known-answer test of AES-256-GCM failed' })
    await expect(ready).rejects.toThrow(/could not start: known-answer test of AES-256-GCM failed/)
  })

  it('rejects when the server exits before it is ready', async () => {
    const server = child()
    const ready = waitForServerReady(server, 5_000)
    server.emit('exit', 3)
    await expect(ready).rejects.toThrow(/exit code 3/)
  })

  it('rejects a ready message with a non-loopback address', async () => {
    const server = child()
    const ready = waitForServerReady(server, 5_000)
    server.emit('message', { type: 'ready', url: 'http://192.168.1.5:8787' })
    await expect(ready).rejects.toBeInstanceOf(ServerStartError)
  })

  it('rejects when the server stays silent', async () => {
    const ready = waitForServerReady(child(), 10)
    await expect(ready).rejects.toThrow(/did not become ready/)
  })
})
