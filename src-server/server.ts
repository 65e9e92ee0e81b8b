import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { areqEndpoint } from './acs/routes/areq-endpoint'
import { AcsTlsListener } from './acs/tls/listener'
import { createApp, MODULES } from './app'
import { loadConfig } from './config'
import { runKnownAnswerTests } from './crypto/kat'
import { masterKeyPath, obtainMasterKey } from './crypto/master-key'
import { createLogger, type Logger } from './log'
import type { ServerModule } from './module'
import { createServices, type Services } from './services'
import { lockDataDir } from './store/lock'
import { VERSION } from './version'

export interface RunningServer {
  url: string
  services: Services
  server: Server
  /** The directory servers' mutual-TLS listener, when configured (`acsTls` / IMS_ACS_TLS_PORT). */
  acsTls?: AcsTlsListener
  /** Graceful stop: no new connections, in-flight requests finish, jobs stop, the database closes. */
  close(): Promise<void>
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv
  /** The master key, when the caller already has it (the Electron shell unwraps it from the keychain). */
  masterKey?: Buffer
  modules?: readonly ServerModule[]
  log?: Logger
  consoleRoot?: string | null
}

function formatUrl(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `http://${host}:${address.port}`
}

/**
 * Starts the IMS server: configuration, crypto self-tests, the data-folder lock, the master key, the
 * database, the HTTP listener, then the background jobs. Any failure before listening releases what was
 * taken and throws an error whose message says what to do.
 */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const env = options.env ?? process.env
  const config = loadConfig(env)
  const log = options.log ?? createLogger(config.logLevel)
  runKnownAnswerTests()
  const unlock = lockDataDir(config.dataDir)
  let services: Services | undefined
  try {
    let masterKey = options.masterKey
    if (!masterKey) {
      const obtained = obtainMasterKey(config.dataDir, env, { create: true })
      if (obtained.created) {
        log.warn(
          { file: masterKeyPath(config.dataDir) },
          'created a new master key file; back it up apart from the data folder',
        )
      }
      masterKey = obtained.key
    }
    services = createServices(config, log, masterKey, VERSION)
    const modules = options.modules ?? MODULES
    const { app } = createApp(services, { modules, consoleRoot: options.consoleRoot })
    // The directory servers' AReq endpoint is answered ahead of Koa (acs/routes/areq-endpoint.ts).
    const areq = areqEndpoint(services.acs, services.durability, log)
    const koa = app.callback()
    const handler = (req: IncomingMessage, res: ServerResponse) => void (areq(req, res) || koa(req, res))
    const server = createServer({ requestTimeout: config.requestTimeoutMs, headersTimeout: 20_000 }, handler)
    server.keepAliveTimeout = 5_000
    const sockets = new Set<Socket>()
    server.on('connection', (s) => {
      sockets.add(s)
      s.once('close', () => sockets.delete(s))
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(config.port, config.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    for (const mod of modules) await mod.start?.(services)
    const acsTls = config.acsTls
      ? new AcsTlsListener(services.acs.tls, handler, config.acsTls, services.acs.alarms, log)
      : undefined
    await acsTls?.start()
    const url = formatUrl(server.address() as AddressInfo)
    const running = services
    let closing: Promise<void> | undefined
    return {
      url,
      services,
      server,
      acsTls,
      close() {
        closing ??= (async () => {
          const drained = new Promise<void>((resolve) => server.close(() => resolve()))
          // Keep-alive connections become idle as their last response goes out: close each as it does.
          server.on('request', (_req, res) => res.setHeader('Connection', 'close'))
          const sweep = setInterval(() => server.closeIdleConnections(), 50)
          const force = setTimeout(() => server.closeAllConnections(), 10_000)
          force.unref()
          await Promise.all([drained, acsTls?.close()])
          clearInterval(sweep)
          clearTimeout(force)
          for (const mod of [...modules].reverse()) await mod.stop?.()
          await running.close()
          unlock()
        })()
        return closing
      },
    }
  } catch (err) {
    await services?.close()
    unlock()
    throw err
  }
}

export { MODULES }
