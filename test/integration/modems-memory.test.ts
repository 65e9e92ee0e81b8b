/**
 * A SIM whose message storage is full announces no new SMS (no +CMTI): the driver finds it full, reads and
 * clears it, and the operator sees it among the modem's errors.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { simulatedModemOnPty, type SimulatedModem } from '../../hardware/gsm/testing/sim-pty'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'

let srv: TestServer
let token: string
let sim: SimulatedModem

beforeEach(async () => {
  srv = await startTestServer()
  token = await srv.login(ADMIN.username, ADMIN.password)
  sim = await simulatedModemOnPty({ reportDelayMs: -1 })
})
afterEach(async () => {
  await srv.stop()
  await sim.close()
})

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

interface ModemInfo {
  id: number
  state: string
  lastErrors: { message: string }[]
}
async function modem(): Promise<ModemInfo> {
  const body = (await (await srv.api('/api/modems', { token })).json()) as { modems: ModemInfo[] }
  return body.modems[0]
}

describe('a full SIM message storage', () => {
  it('is cleared by the driver, the waiting SMS reaches the inbox, and the modem shows it', async () => {
    await srv.api('/api/modems', {
      method: 'POST',
      token,
      json: { name: 'gsm0', port: sim.url, profile: 'generic' },
    })
    await srv.api('/api/sms/gateway', { method: 'PUT', token, json: { gateway: 'modems' } })
    await until('the modem ready', async () => ((await modem()).state === 'ready' ? true : undefined))

    sim.sim.fault({ kind: 'memory-full' })
    sim.sim.injectSms({ from: '+447700900123', text: 'waiting at the network' })
    // The driver looks at the storage when it opens the modem and every 30 s; a change of settings reopens it.
    const { id } = await modem()
    await srv.api(`/api/modems/${id}`, { method: 'PATCH', token, json: { ratePerMinute: 20 } })
    const full = await until('the storage reported full', async () =>
      (await modem()).lastErrors.find((e) => /SIM message storage full/.test(e.message)),
    )
    expect(full.message).toMatch(/SIM message storage full \(\d+ of \d+\)/)
    await until('the waiting SMS in the inbox', () =>
      srv.services.db.prepare(`SELECT 1 FROM sms_inbox WHERE text = 'waiting at the network'`).get()
        ? true
        : undefined,
    )
  })
})
