import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { BASE_URL_ENV, E2E_ADMIN } from './server-fixture'

const repo = resolve(import.meta.dirname, '../..')
const SERVER_ENTRY = join(repo, 'out/main/server.js')
const START_TIMEOUT_MS = 20_000

/** Keeps the last lines of a stream, to explain a failed start without flooding the output. */
function tail(lines: string[], line: string): void {
  lines.push(line)
  if (lines.length > 40) lines.shift()
}

function runInit(dataDir: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const init = spawn(
      process.execPath,
      ['bin/ims.js', 'init', '--admin', E2E_ADMIN.username, '--password-stdin'],
      { cwd: repo, env: { ...process.env, IMS_DATA_DIR: dataDir }, stdio: ['pipe', 'pipe', 'pipe'] },
    )
    const output: string[] = []
    init.stdout.on('data', (chunk: Buffer) => tail(output, chunk.toString()))
    init.stderr.on('data', (chunk: Buffer) => tail(output, chunk.toString()))
    init.on('error', reject)
    init.on('exit', (code) =>
      code === 0
        ? resolvePromise()
        : reject(new Error(`ims init failed (exit ${code}):\n${output.join('')}`)),
    )
    init.stdin.end(`${E2E_ADMIN.password}\n`)
  })
}

function startServer(dataDir: string): Promise<{ server: ChildProcess; baseUrl: string; output: string[] }> {
  return new Promise((resolvePromise, reject) => {
    const server = spawn(process.execPath, [SERVER_ENTRY], {
      cwd: repo,
      env: { ...process.env, IMS_DATA_DIR: dataDir, IMS_PORT: '0', IMS_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const output: string[] = []
    const fail = (reason: string) => {
      clearTimeout(timer)
      server.kill('SIGTERM')
      reject(new Error(`${reason}\n${output.join('\n')}`))
    }
    const timer = setTimeout(
      () => fail(`The server did not print its address within ${START_TIMEOUT_MS} ms.`),
      START_TIMEOUT_MS,
    )
    // Both streams are read to the end so the server never blocks on a full pipe.
    createInterface({ input: server.stderr! }).on('line', (line) => tail(output, line))
    createInterface({ input: server.stdout! }).on('line', (line) => {
      tail(output, line)
      const match = /^IMS listening on (http:\/\/\S+)$/.exec(line.trim())
      if (match) {
        clearTimeout(timer)
        resolvePromise({ server, baseUrl: match[1], output })
      }
    })
    server.on('error', (error) => fail(`The server could not be started: ${error.message}`))
    server.on('exit', (code) => fail(`The server exited during start-up (exit ${code}).`))
  })
}

/** Starts the real IMS server on a fresh data folder; the returned function is Playwright's teardown. */
export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(SERVER_ENTRY) || !existsSync(join(repo, 'out/renderer/index.html'))) {
    throw new Error('The e2e tests run against the built app: run `npm run build` first.')
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'ims-e2e-'))
  await runInit(dataDir)
  const { server, baseUrl, output } = await startServer(dataDir)
  server.removeAllListeners('exit')
  let stopping = false
  // A server that dies mid-run fails every later spec with "connection refused": say why, once, here.
  server.on('exit', (code, signal) => {
    if (!stopping)
      console.error(
        `The e2e server exited during the run (exit ${code}, signal ${signal}). Its last lines:\n${output.join('\n')}`,
      )
  })
  process.env[BASE_URL_ENV] = baseUrl

  return async () => {
    stopping = true
    if (server.exitCode === null) {
      const exited = new Promise((done) => server.once('exit', done))
      server.kill('SIGTERM')
      await exited
    }
    await rm(dataDir, { recursive: true, force: true })
  }
}
