/**
 * `kill -9` of the server process in the middle of a burst through two simulated modems (real ptys).
 * After a restart every message ends sent; a message caught in flight goes out again at most once more,
 * and is then flagged as a possible duplicate.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { simulatedModemOnPty, type SimulatedModem } from '../../hardware/gsm/testing/sim-pty'
import { loadConfig } from '../../src-server/config'
import { loadMasterKey } from '../../src-server/crypto/master-key'
import { createLogger } from '../../src-server/log'
import { createServices } from '../../src-server/services'
import { runIms, spawnServer, type ServerProcess } from '../helpers/process'

const PASSWORD = 'correct-horse-battery-9'
const TOTAL = 40
let dataDir: string
let sims: SimulatedModem[] = []
const env = () => ({ IMS_DATA_DIR: dataDir })

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ims-modem-crash-'))
  const init = await runIms(['init', '--admin', 'chief', '--password-stdin'], env(), `${PASSWORD}\n`)
  expect(init.code).toBe(0)
  sims = await Promise.all([0, 1].map(() => simulatedModemOnPty({ latencyMs: 80, reportDelayMs: -1 })))
})
afterAll(async () => {
  for (const s of sims) await s.close()
  rmSync(dataDir, { recursive: true, force: true })
})

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function login(server: ServerProcess): Promise<string> {
  const res = await fetch(`${server.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'chief', password: PASSWORD }),
  })
  return ((await res.json()) as { token: string }).token
}

async function api(server: ServerProcess, token: string, path: string, method = 'GET', json?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(json ? { 'content-type': 'application/json' } : {}) },
    body: json ? JSON.stringify(json) : undefined,
  })
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
  return res.status === 204 ? undefined : res.json()
}

interface OutboxItem {
  id: number
  text: string
  status: string
  possibleDuplicate: boolean
}

describe('kill -9 during a burst through the modem pool', () => {
  it('loses no message; at most the messages in flight repeat, and those are flagged', async () => {
    // 1. Modems and the gateway choice go in through the API of a first server.
    const first = await spawnServer(env())
    const token1 = await login(first)
    for (const [i, s] of sims.entries())
      await api(first, token1, '/api/modems', 'POST', { name: `gsm${i}`, port: s.url, profile: 'generic' })
    await api(first, token1, '/api/sms/gateway', 'PUT', { gateway: 'modems' })
    first.proc.kill('SIGTERM')
    expect(await first.exited).toBe(0)

    // 2. A burst is written to the outbox while no server runs (as a crash would have left it).
    const config = loadConfig({ ...process.env, ...env() })
    const services = createServices(config, createLogger('silent'), loadMasterKey(dataDir, env()), 'test')
    for (let i = 0; i < TOTAL; i++)
      services.sms.enqueue({
        to: '+491234567890',
        text: `burst ${i}`,
        kind: 'test',
        idempotencyKey: `burst-${i}`,
      })
    await services.close()

    // 3. The server sends it; kill -9 lands while messages are on both modems.
    const second = await spawnServer(env())
    let started = 0
    const killed = new Promise<void>((resolve) => {
      for (const s of sims)
        s.sim.on('command', (line) => {
          if (line.startsWith('AT+CMGS') && ++started === 12) {
            second.proc.kill('SIGKILL')
            resolve()
          }
        })
    })
    await killed
    await second.exited
    const beforeRestart = sims.reduce((n, s) => n + s.sim.sent.length, 0)
    expect(beforeRestart).toBeLessThan(TOTAL)

    // 4. After a restart everything leaves; the interrupted ones are flagged.
    const third = await spawnServer(env())
    try {
      const token3 = await login(third)
      const rows = await until('every message sent', async () => {
        const list = (await api(third, token3, '/api/sms/outbox?limit=500')) as OutboxItem[]
        return list.length === TOTAL && list.every((m) => m.status === 'sent') ? list : undefined
      })
      // Let any answer still on the wire settle before counting copies.
      await new Promise((r) => setTimeout(r, 300))
      const received = sims.flatMap((s) => s.sim.sent.map((m) => m.text))
      const flagged = rows.filter((r) => r.possibleDuplicate)
      for (const row of rows) {
        const copies = received.filter((t) => t === row.text).length
        expect(copies, row.text).toBeGreaterThanOrEqual(1)
        expect(copies, row.text).toBeLessThanOrEqual(2)
        if (copies === 2) expect(row.possibleDuplicate, row.text).toBe(true)
      }
      // Only what was on a modem when the process died (one per modem) can be in doubt.
      expect(flagged.length).toBeGreaterThanOrEqual(1)
      expect(flagged.length).toBeLessThanOrEqual(sims.length)
    } finally {
      third.proc.kill('SIGTERM')
      await third.exited
    }
  })
})
