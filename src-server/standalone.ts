/**
 * The server process entry: `npm run serve`, `npm start` without Electron, and the Electron utility
 * process all run this file (bundled as out/main/server.js).
 */
import { decodeMasterKey } from './crypto/master-key'
import { startServer, type RunningServer } from './server'

interface ParentPort {
  postMessage(message: unknown): void
  once(event: 'message', listener: (e: { data: unknown }) => void): void
}
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort

/** In the desktop app the shell unwraps the master key with the OS keychain and sends it over the port. */
function masterKeyFromShell(): Promise<Buffer | undefined> {
  if (!parentPort || process.env.IMS_PARENT_PORT !== '1') return Promise.resolve(undefined)
  return new Promise((resolve, reject) => {
    parentPort.once('message', ({ data }) => {
      const msg = data as { type?: string; key?: string }
      if (msg.type === 'master-key' && typeof msg.key === 'string')
        resolve(decodeMasterKey(msg.key, 'the desktop keychain'))
      else if (msg.type === 'master-key-file') resolve(undefined)
      else reject(new Error('unexpected first message from the desktop shell'))
    })
  })
}

function fail(message: string): never {
  console.error(`IMS could not start: ${message}`)
  parentPort?.postMessage({ type: 'fatal', message })
  process.exit(1)
}

async function main(): Promise<void> {
  let running: RunningServer
  try {
    running = await startServer({ masterKey: await masterKeyFromShell() })
  } catch (err) {
    fail((err as Error).message)
  }
  console.log(`IMS listening on ${running.url}`)
  parentPort?.postMessage({ type: 'ready', url: running.url })

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    running.services.log.info({ signal }, 'shutting down')
    running
      .close()
      .then(() => process.exit(0))
      .catch((err) => {
        console.error(`IMS shutdown failed: ${(err as Error).message}`)
        process.exit(1)
      })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('uncaughtException', (err) => {
    running.services.log.fatal({ err }, 'uncaught exception')
    stop('uncaughtException')
  })
}

void main()
