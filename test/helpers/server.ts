import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { createLogger } from '../../src-server/log'
import { startServer, type RunningServer, type StartOptions } from '../../src-server/server'

export interface TestServer extends RunningServer {
  dataDir: string
  /** Every log line the server wrote, as text (for "no secret in the logs" assertions). */
  logText(): string
  /** Signs in and returns the bearer token. */
  login(username: string, password: string): Promise<string>
  api(path: string, init?: RequestInit & { token?: string; json?: unknown }): Promise<Response>
  stop(): Promise<void>
}

export const ADMIN = { username: 'admin', password: 'correct-horse-battery-9' }

/** A real server on 127.0.0.1:0 over a fresh data folder, with the admin account created. */
export async function startTestServer(
  options: Omit<StartOptions, 'env' | 'log'> & { env?: NodeJS.ProcessEnv } = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ims-test-'))
  const lines: string[] = []
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString())
      cb()
    },
  })
  const env = { IMS_DATA_DIR: dataDir, IMS_PORT: '0', IMS_HOST: '127.0.0.1', ...options.env }
  const running = await startServer({
    ...options,
    env,
    log: createLogger('debug', sink),
    consoleRoot: options.consoleRoot ?? null,
  })
  await running.services.operators.create({ ...ADMIN, displayName: 'Admin', role: 'admin' }, 'test')
  const api: TestServer['api'] = (path, init = {}) => {
    const headers = new Headers(init.headers)
    if (init.token) headers.set('authorization', `Bearer ${init.token}`)
    let body = init.body
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json')
      body = JSON.stringify(init.json)
    }
    return fetch(running.url + path, { ...init, headers, body })
  }
  return {
    ...running,
    dataDir,
    logText: () => lines.join(''),
    api,
    async login(username, password) {
      const res = await api('/api/session', { method: 'POST', json: { username, password } })
      if (res.status !== 201) throw new Error(`login failed: ${res.status} ${await res.text()}`)
      return ((await res.json()) as { token: string }).token
    },
    async stop() {
      await running.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
