/**
 * The SIM behind a modem, through the server: a wrong PIN in a modem's configuration is entered once, then
 * never again (a SIM allows three tries before it wants its PUK), whatever reopens the modem, until an
 * operator changes the PIN; a full message storage (which announces no new SMS) is cleared by the driver and
 * shown among the modem's errors.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { simulatedModemOnPty, type SimulatedModem } from '../../hardware/gsm/testing/sim-pty'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'
import { restart } from './acs-lab'

const SIM_PIN = '2468'
const WRONG_PIN = '9731'

let srv: TestServer
let token: string
let sim: SimulatedModem

beforeEach(async () => {
  srv = await startTestServer()
  token = await srv.login(ADMIN.username, ADMIN.password)
  sim = await simulatedModemOnPty({ pin: SIM_PIN, reportDelayMs: -1 })
})
afterEach(async () => {
  await srv.stop()
  await sim.close()
})

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 10_000
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

describe('a SIM PIN the SIM rejects', () => {
  it('is entered once; reloading the pool does not enter it again; a new PIN brings the modem up', async () => {
    const entered: string[] = []
    let opens = 0
    sim.sim.on('command', (line) => {
      if (line.startsWith('AT+CPIN=')) entered.push(line)
      if (line === 'AT+CPIN?') opens++
    })
    const added = await srv.api('/api/modems', {
      method: 'POST',
      token,
      json: { name: 'gsm0', port: sim.url, profile: 'generic', pin: WRONG_PIN },
    })
    expect(added.status).toBe(201)
    const { id } = (await added.json()) as { id: number }
    await srv.api('/api/sms/gateway', { method: 'PUT', token, json: { gateway: 'modems' } })
    const dead = await until('the modem out of service', async () => {
      const m = await modem()
      return m.state === 'dead' ? m : undefined
    })
    expect(dead.lastErrors[0].message).toMatch(/PIN .*rejected/)
    expect(entered).toHaveLength(1)

    // Any other change rebuilds the pool and reopens the modem: the rejected PIN is not entered again.
    const before = opens
    await srv.api(`/api/modems/${id}`, { method: 'PATCH', token, json: { ratePerMinute: 20 } })
    await until('the modem reopened', async () =>
      opens > before && (await modem()).state === 'dead' ? true : undefined,
    )
    expect(entered).toHaveLength(1)
    expect(sim.sim.snapshot().sim).toBe('SIM PIN')

    await srv.api(`/api/modems/${id}`, { method: 'PATCH', token, json: { pin: SIM_PIN } })
    await until('the modem ready', async () => ((await modem()).state === 'ready' ? true : undefined))
    expect(entered).toHaveLength(2)
    expect(sim.sim.snapshot().sim).toBe('READY')
    expect(srv.logText()).not.toContain(WRONG_PIN)
    expect(srv.logText()).not.toContain(SIM_PIN)
  })

  it('is not entered again after a restart either; setting the PIN again clears that', async () => {
    const entered: string[] = []
    sim.sim.on('command', (line) => {
      if (line.startsWith('AT+CPIN=')) entered.push(line)
    })
    const added = await srv.api('/api/modems', {
      method: 'POST',
      token,
      json: { name: 'gsm0', port: sim.url, profile: 'generic', pin: WRONG_PIN },
    })
    const { id } = (await added.json()) as { id: number }
    await srv.api('/api/sms/gateway', { method: 'PUT', token, json: { gateway: 'modems' } })
    await until('the modem out of service', async () => ((await modem()).state === 'dead' ? true : undefined))
    expect(entered).toHaveLength(1)

    srv = await restart(srv)
    token = await srv.login(ADMIN.username, ADMIN.password)
    const dead = await until('the modem opened and refused after the restart', async () => {
      const m = await modem()
      return m.state === 'dead' && m.lastErrors.length > 0 ? m : undefined
    })
    expect(dead.lastErrors[0].message).toMatch(/PIN rejected earlier/)
    expect(entered).toHaveLength(1)
    expect(sim.sim.snapshot().sim).toBe('SIM PIN')

    // The same PIN set again is the operator's decision (they may have reset the SIM's tries): entered once.
    await srv.api(`/api/modems/${id}`, { method: 'PATCH', token, json: { pin: WRONG_PIN } })
    await until('the PIN entered again', () => (entered.length === 2 ? true : undefined))
    await srv.api(`/api/modems/${id}`, { method: 'PATCH', token, json: { pin: SIM_PIN } })
    await until('the modem ready', async () => ((await modem()).state === 'ready' ? true : undefined))
    expect(entered).toEqual([`AT+CPIN="${WRONG_PIN}"`, `AT+CPIN="${WRONG_PIN}"`, `AT+CPIN="${SIM_PIN}"`])
  })
})

describe('a refusal that comes back after the PIN was changed', () => {
  it('is about the old PIN: the new one is not marked refused, before or after a restart', async () => {
    const added = await srv.api('/api/modems', {
      method: 'POST',
      token,
      json: { name: 'gsm0', port: sim.url, profile: 'generic', pin: WRONG_PIN },
    })
    const { id } = (await added.json()) as { id: number }
    // The memory the driver reports a refusal to (the modem is not opened yet: no gateway chosen).
    const pins = (
      srv.services.modems as unknown as { rejectedPinsOf(id: number): { add(pin: string): void } }
    ).rejectedPinsOf(id)
    await srv.api(`/api/modems/${id}`, { method: 'PATCH', token, json: { pin: SIM_PIN } })
    pins.add(WRONG_PIN) // the SIM's answer to the old PIN, arriving late
    const flag = () => srv.services.db.prepare('SELECT pin_rejected FROM modems WHERE id = ?').pluck().get(id)
    expect(flag()).toBe(0)

    srv = await restart(srv)
    token = await srv.login(ADMIN.username, ADMIN.password)
    await srv.api('/api/sms/gateway', { method: 'PUT', token, json: { gateway: 'modems' } })
    await until('the modem ready', async () => ((await modem()).state === 'ready' ? true : undefined))
    expect(sim.sim.snapshot().sim).toBe('READY')
  })
})

describe('a full SIM message storage', () => {
  it('is cleared by the driver, the waiting SMS reaches the inbox, and the modem shows it', async () => {
    await srv.api('/api/modems', {
      method: 'POST',
      token,
      json: { name: 'gsm0', port: sim.url, profile: 'generic', pin: SIM_PIN },
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
