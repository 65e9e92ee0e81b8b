import { z } from 'zod'
import { parseUrl } from './app-url.std'

/**
 * The conversation between main and the server running in a utilityProcess (over `process.parentPort`):
 * main → server: the master key first (or the instruction to use the key file); server → main: ready or fatal.
 */
export type MainToServerMessage = { type: 'master-key'; key: string } | { type: 'master-key-file' }

export const MASTER_KEY_BYTES = 32

export function masterKeyMessage(key: Uint8Array): MainToServerMessage {
  if (key.byteLength !== MASTER_KEY_BYTES) {
    throw new RangeError(`the master key must be ${MASTER_KEY_BYTES} bytes, got ${key.byteLength}`)
  }
  return { type: 'master-key', key: Buffer.from(key).toString('base64') }
}

const ServerMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), url: z.string() }),
  z.object({ type: z.literal('fatal'), message: z.string() }),
])

/** The server must listen on loopback only: main forwards operator traffic to this URL. */
export function isLoopbackHttpUrl(value: unknown): boolean {
  const url = parseUrl(value)
  return (
    url !== null &&
    url.protocol === 'http:' &&
    ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) &&
    url.port !== '' &&
    url.username === '' &&
    url.password === ''
  )
}

export class ServerStartError extends Error {
  override name = 'ServerStartError'
}

/** The subset of Electron's UtilityProcess (or any EventEmitter) the handshake listens to. */
export interface ServerChild {
  on(event: 'message', listener: (message: unknown) => void): unknown
  on(event: 'exit', listener: (code: number) => void): unknown
  removeListener(event: 'message', listener: (message: unknown) => void): unknown
  removeListener(event: 'exit', listener: (code: number) => void): unknown
}

/** Longest a fresh server may take to answer ready (migrations and crypto self-tests run before it). */
export const SERVER_READY_TIMEOUT_MS = 20_000

/**
 * Resolves with the server's base URL once it posts `ready`; rejects with a sentence an operator can act on
 * when it posts `fatal`, exits, sends a non-loopback URL or stays silent for `timeoutMs`.
 * Messages of other types are ignored so the server can grow its vocabulary without breaking main.
 */
export function waitForServerReady(child: ServerChild, timeoutMs = SERVER_READY_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const finish = (settle: () => void) => {
      clearTimeout(timer)
      child.removeListener('message', onMessage)
      child.removeListener('exit', onExit)
      settle()
    }
    const fail = (message: string) => finish(() => reject(new ServerStartError(message)))

    const onMessage = (raw: unknown) => {
      const parsed = ServerMessage.safeParse(raw)
      if (!parsed.success) return
      const message = parsed.data
      if (message.type === 'fatal') return fail(`The IMS server could not start: ${message.message}`)
      if (!isLoopbackHttpUrl(message.url))
        return fail('The IMS server reported an address that is not on this computer.')
      finish(() => resolve(new URL(message.url).origin))
    }
    const onExit = (code: number) => fail(`The IMS server stopped during start-up (exit code ${code}).`)
    const timer = setTimeout(
      () => fail(`The IMS server did not become ready within ${Math.round(timeoutMs / 1000)} seconds.`),
      timeoutMs,
    )

    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}
