/** The modems console API: validation, the sealed PIN, probe, test SMS, reset, ports, and the SSE stream. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { simulatedModemOnPty, type SimulatedModem } from '../../hardware/gsm/testing/sim-pty'
import { listCandidatePorts } from '../../src-server/modems/ports'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'

let srv: TestServer
let token: string
let sim: SimulatedModem
const PIN = '7319'

beforeAll(async () => {
  srv = await startTestServer()
  token = await srv.login(ADMIN.username, ADMIN.password)
  sim = await simulatedModemOnPty({ pin: PIN, reportDelayMs: -1 })
})
afterAll(async () => {
  await srv.stop()
  await sim.close()
})

/** Reads server-sent events from a fetch body until `want` events have arrived. */
async function readEvents(res: Response, want: (names: string[]) => boolean): Promise<string[]> {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  const names: string[] = []
  let buf = ''
  const deadline = Date.now() + 10_000
  while (!want(names)) {
    if (Date.now() > deadline) throw new Error(`events so far: ${names.join(', ')}`)
    const { value, done } = await reader.read()
    if (done) break
    buf += decoder.decode(value, { stream: true })
    for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
      const block = buf.slice(0, i)
      buf = buf.slice(i + 2)
      const name = /^event: (.+)$/m.exec(block)?.[1]
      if (name) names.push(name)
    }
  }
  await reader.cancel()
  return names
}

describe('modems API', () => {
  let id: number

  it('refuses a port that does not exist, or is not a serial device, in words', async () => {
    for (const [port, detail] of [
      ['/dev/ttyNOPE9', /does not exist/],
      ['/etc/passwd', /not a serial device/],
      ['COM3', /neither a device path/],
      ['tcp://host', /tcp:\/\/host:port/],
    ] as const) {
      const res = await srv.api('/api/modems', {
        method: 'POST',
        token,
        json: { name: 'x', port, profile: 'generic' },
      })
      expect(res.status).toBe(400)
      expect(((await res.json()) as { detail: string }).detail).toMatch(detail)
    }
    const bad = await srv.api('/api/modems', {
      method: 'POST',
      token,
      json: { name: 'x', port: sim.url, profile: 'nokia3310' },
    })
    expect(bad.status).toBe(400)
  })

  it('stores the SIM PIN sealed, never returns it, never logs or audits it', async () => {
    const res = await srv.api('/api/modems', {
      method: 'POST',
      token,
      json: { name: 'bench-1', port: sim.url, profile: 'generic', pin: PIN, ratePerMinute: 30 },
    })
    expect(res.status).toBe(201)
    const text = await res.text()
    expect(text).not.toContain(PIN)
    const modem = JSON.parse(text) as { id: number; hasPin: boolean; state: string }
    expect(modem).toMatchObject({ hasPin: true, state: 'inactive' })
    id = modem.id
    const stored = srv.services.db
      .prepare('SELECT pin_sealed FROM modems WHERE id = ?')
      .pluck()
      .get(id) as Buffer
    expect(stored.toString('latin1')).not.toContain(PIN)
    expect(srv.services.modems.repo.pin(id)).toBe(PIN)
    const again = await srv.api('/api/modems', {
      method: 'POST',
      token,
      json: { name: 'bench-2', port: sim.url, profile: 'generic' },
    })
    expect(again.status).toBe(409)
    const audit = JSON.stringify(
      srv.services.db.prepare(`SELECT * FROM audit_log WHERE action LIKE 'modem.%'`).all(),
    )
    expect(audit).toContain('bench-1')
    expect(audit).not.toContain(PIN)
  })

  it('probes a port, and unlocks the SIM with the stored PIN to send a test SMS', async () => {
    const probe = await srv.api('/api/modems/probe', { method: 'POST', token, json: { port: sim.url } })
    expect(probe.status).toBe(200)
    const found = (await probe.json()) as { manufacturer?: string; model?: string; signal?: number }
    expect(found.manufacturer).toBeTruthy()
    expect(found.model).toBeTruthy()
    expect(typeof found.signal).toBe('number')

    const sent = await srv.api(`/api/modems/${id}/test-sms`, {
      method: 'POST',
      token,
      json: { to: '+44 7700 900123', text: 'bench test' },
    })
    expect(sent.status, await sent.clone().text()).toBe(200)
    expect(((await sent.json()) as { messageReferences: number[] }).messageReferences).toHaveLength(1)
    expect(sim.sim.sent.at(-1)).toMatchObject({ to: '+447700900123', text: 'bench test' })
    expect(srv.logText()).not.toContain(PIN)
  })

  it('says why a probe fails and why a reset is not possible', async () => {
    const nobody = await srv.api('/api/modems/probe', {
      method: 'POST',
      token,
      json: { port: 'tcp://127.0.0.1:1' },
    })
    expect(nobody.status).toBe(502)
    expect(((await nobody.json()) as { detail: string }).detail).toMatch(/cannot connect/)
    const reset = await srv.api(`/api/modems/${id}/reset`, { method: 'POST', token })
    expect(reset.status).toBe(404)
    expect(((await reset.json()) as { detail: string }).detail).toMatch(/not running/)
  })

  it('lists candidate ports, and lists /dev/ttyUSB* itself when udevadm is missing', async () => {
    const res = await srv.api('/api/modems/ports', { token })
    expect(res.status).toBe(200)
    const missing = Object.assign(new Error('spawn udevadm ENOENT'), { code: 'ENOENT' })
    const listing = await listCandidatePorts(() => Promise.reject(missing), '/nonexistent')
    expect(listing.warning).toMatch(/udevadm not found/)
    expect(Array.isArray(listing.ports)).toBe(true)
  })

  it('disables, renames and removes a modem', async () => {
    const patched = await srv.api(`/api/modems/${id}`, {
      method: 'PATCH',
      token,
      json: { enabled: false, name: 'bench-one', pin: null },
    })
    expect(await patched.json()).toMatchObject({
      name: 'bench-one',
      enabled: false,
      state: 'disabled',
      hasPin: false,
    })
    expect((await srv.api(`/api/modems/${id}`, { method: 'DELETE', token })).status).toBe(204)
    expect((await srv.api(`/api/modems/${id}`, { method: 'DELETE', token })).status).toBe(404)
  })
})

describe('SMS events (server-sent events)', () => {
  it('opens with a single-use ticket and streams outbox changes', async () => {
    const t = await srv.api('/api/sms/events/ticket', { method: 'POST', token })
    expect(t.status).toBe(201)
    const { ticket } = (await t.json()) as { ticket: string }
    const res = await srv.api(`/api/sms/events?ticket=${ticket}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/)
    const events = readEvents(res, (names) => names.includes('outbox'))
    srv.services.sms.enqueue({ to: '+491234567890', text: 'hello', kind: 't', idempotencyKey: 'sse-1' })
    expect(await events).toEqual(expect.arrayContaining(['ready', 'outbox']))

    const reused = await srv.api(`/api/sms/events?ticket=${ticket}`)
    expect(reused.status).toBe(401)
    expect(((await reused.json()) as { detail: string }).detail).toMatch(/unknown, used or expired/)
  })

  it('refuses a stream without a ticket or token, and a ticket without a session', async () => {
    expect((await srv.api('/api/sms/events')).status).toBe(401)
    expect((await srv.api('/api/sms/events?ticket=forged-ticket-value')).status).toBe(401)
    expect((await srv.api('/api/sms/events/ticket', { method: 'POST' })).status).toBe(401)
  })

  it('accepts a bearer header from non-browser clients', async () => {
    const res = await srv.api('/api/sms/events', { token })
    expect(res.status).toBe(200)
    expect(await readEvents(res, (n) => n.includes('ready'))).toContain('ready')
  })
})
