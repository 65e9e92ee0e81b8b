/**
 * The server with simulated GSM modems on real ptys (socat): configured through the console API, switched
 * to the modem gateway, then driven through the real outbox (SmsService) and ModemPoolGateway.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { decodePdu, MAX_RELATIVE_VALIDITY_SECONDS } from '../../hardware/gsm/pdu'
import { simulatedModemOnPty, type SimulatedModem } from '../../hardware/gsm/testing/sim-pty'
import type { SimulatorOptions } from '../../hardware/sim/modem/simulator'
import { secret } from '../../src-server/sms/redact'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'

let srv: TestServer
let token: string
let sims: SimulatedModem[] = []

beforeEach(async () => {
  srv = await startTestServer()
  token = await srv.login(ADMIN.username, ADMIN.password)
})
afterEach(async () => {
  await srv.stop()
  for (const s of sims) await s.close()
  sims = []
})

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

interface ModemInfo {
  id: number
  name: string
  state: string
  sent: number
  hasPin: boolean
  registration?: string
}

async function modemsReady(count: number): Promise<ModemInfo[]> {
  return until(`${count} modems ready`, async () => {
    const res = await srv.api('/api/modems', { token })
    const body = (await res.json()) as { modems: ModemInfo[] }
    return body.modems.filter((m) => m.state === 'ready').length === count ? body.modems : undefined
  })
}

/** N simulated modems configured through the API, and the modem gateway selected. */
async function withModems(options: SimulatorOptions[]): Promise<SimulatedModem[]> {
  const made = await Promise.all(options.map((o) => simulatedModemOnPty({ reportDelayMs: -1, ...o })))
  sims.push(...made)
  for (const [i, s] of made.entries()) {
    const res = await srv.api('/api/modems', {
      method: 'POST',
      token,
      json: { name: `gsm${i}`, port: s.url, profile: 'generic' },
    })
    expect(res.status, await res.clone().text()).toBe(201)
  }
  const sw = await srv.api('/api/sms/gateway', { method: 'PUT', token, json: { gateway: 'modems' } })
  expect(sw.status).toBe(200)
  await modemsReady(made.length)
  return made
}

function outbox() {
  return srv.services.db
    .prepare(
      'SELECT id, idempotency_key, status, possible_duplicate, modem, message_ref FROM sms_outbox ORDER BY id',
    )
    .all() as {
    id: number
    idempotency_key: string
    status: string
    possible_duplicate: number
    modem: string | null
    message_ref: string | null
  }[]
}

describe('the modem pool behind the outbox', () => {
  it('sends a burst over two modems; one cut off mid-send loses nothing and duplicates at most its message, flagged', async () => {
    const [a, b] = await withModems([{ latencyMs: 150 }, { latencyMs: 40 }])
    let cut = false
    a.sim.on('command', (line) => {
      if (!cut && line.startsWith('AT+CMGS')) {
        cut = true
        // After the PDU went out (it follows the prompt at once), before the network answers.
        setTimeout(() => void a.pair.close(), 40)
      }
    })
    const total = 24
    for (let i = 0; i < total; i++)
      srv.services.sms.enqueue({
        to: '+491234567890',
        text: `Message ${i} code ${secret(String(100000 + i))}`,
        kind: 'test',
        idempotencyKey: `burst-${i}`,
        priority: 1,
      })
    const rows = await until('every message sent', () => {
      const r = outbox()
      return r.every((x) => x.status === 'sent') ? r : undefined
    })
    expect(cut).toBe(true)
    const received = [...a.sim.sent, ...b.sim.sent].map((s) => s.text)
    for (const row of rows) {
      const i = Number(row.idempotency_key.split('-')[1])
      const copies = received.filter((t) => t === `Message ${i} code ${100000 + i}`).length
      expect(copies, `message ${i}`).toBeGreaterThanOrEqual(1)
      // A second copy is only possible for the message caught by the cut, and then it is flagged.
      if (copies > 1) expect(row.possible_duplicate, `message ${i}`).toBe(1)
    }
    // The cut came 40 ms after the PDU, before the 150 ms network answer: that message is flagged.
    expect(rows.filter((r) => r.possible_duplicate === 1)).toHaveLength(1)
    expect(rows.filter((r) => r.modem === 'gsm1').length).toBeGreaterThan(total / 2)
    // The one-time codes never reached the log.
    for (let i = 0; i < total; i++) expect(srv.logText()).not.toContain(String(100000 + i))
  })

  it('a message failing on the only modem with network goes back to the queue, not held for one without', async () => {
    const [searching, working] = await withModems([{}, {}])
    searching.sim.setRegistration(2) // gsm0 loses the network: ready, but no message can leave through it
    await until('gsm0 without network', async () => {
      const body = (await (await srv.api('/api/modems', { token })).json()) as { modems: ModemInfo[] }
      return body.modems.find((m) => m.name === 'gsm0')?.registration === 'searching' || undefined
    })
    working.sim.fault({ kind: 'cms', code: 500 }) // one retryable failure on gsm1
    for (const i of [0, 1])
      srv.services.sms.enqueue({
        to: '+491234567890',
        text: `held ${i}`,
        kind: 'test',
        idempotencyKey: `held-${i}`,
        priority: 1,
      })
    // The failed one comes back to the outbox (never left in "sending"), which retries it after its back-off.
    const rows = await until(
      'both messages sent',
      () => {
        const r = outbox()
        return r.every((x) => x.status === 'sent') ? r : undefined
      },
      10_000,
    )
    expect(rows.map((r) => r.modem)).toEqual(['gsm1', 'gsm1'])
    expect(searching.sim.sent).toEqual([])
    expect(working.sim.sent.map((s) => s.text).sort()).toEqual(['held 0', 'held 1'])
  })

  it('gives a code SMS a validity period covering the time its code has left, at least five minutes', async () => {
    const [modem] = await withModems([{}])
    const now = Date.now()
    const expiries: Record<string, number | undefined> = {
      'two hours': now + 2 * 3600_000,
      'one minute': now + 60_000,
      'no expiry': undefined,
    }
    for (const [text, expiresAt] of Object.entries(expiries))
      srv.services.sms.enqueue({
        to: '+491234567890',
        text,
        kind: 'test',
        idempotencyKey: `validity-${text}`,
        priority: 0,
        expiresAt,
      })
    await until('every message sent', () => outbox().every((x) => x.status === 'sent') || undefined)
    const validity = Object.fromEntries(
      modem.sim.sent.map((s) => {
        const pdu = decodePdu(s.pdu, { hasSmsc: true })
        return [s.text, pdu.type === 'submit' ? pdu.validity : undefined]
      }),
    )
    expect(validity).toEqual({
      // TP-VP rounds up (5-minute steps up to 12 hours); nothing shorter than 5 minutes.
      'two hours': { relativeSeconds: 2 * 3600 },
      'one minute': { relativeSeconds: 300 },
      'no expiry': { relativeSeconds: MAX_RELATIVE_VALIDITY_SECONDS },
    })
  })

  it('sends codes before notifications queued earlier', async () => {
    const [m] = await withModems([{ latencyMs: 60 }])
    for (let i = 0; i < 8; i++)
      srv.services.sms.enqueue({
        to: '+491234567890',
        text: `notice ${i}`,
        kind: 'n',
        idempotencyKey: `n${i}`,
        priority: 1,
      })
    for (let i = 0; i < 2; i++)
      srv.services.sms.enqueue({
        to: '+491234567890',
        text: `code ${i}`,
        kind: 'c',
        idempotencyKey: `c${i}`,
        priority: 0,
      })
    await until('all sent', () => (outbox().every((r) => r.status === 'sent') ? true : undefined))
    const order = m.sim.sent.map((s) => s.text)
    // At most the notice already on the modem goes before the codes.
    expect(order.indexOf('code 0')).toBeLessThanOrEqual(2)
    expect(order.indexOf('code 1')).toBeLessThanOrEqual(3)
  })

  it('takes an injected SMS into the inbox and a status report marks the message delivered', async () => {
    const [m] = await withModems([{ reportDelayMs: 100 }])
    m.sim.injectSms({ from: '+4915112345678', text: 'Ваш ответ: YES {ok} €'.repeat(4) })
    const inbox = await until('the SMS in the inbox', async () => {
      const res = await srv.api('/api/sms/inbox', { token })
      const rows = (await res.json()) as { from: string; text: string; modem: string; gateway: string }[]
      return rows.length ? rows : undefined
    })
    expect(inbox[0]).toMatchObject({ from: '+4915112345678', modem: 'gsm0', gateway: 'modems' })
    expect(inbox[0].text).toBe('Ваш ответ: YES {ok} €'.repeat(4))
    // A real phone's SMS is not the virtual handset's, and while modems carry the SMS nobody can type a
    // reply in a cardholder's name.
    const handset = await srv.api('/api/virtual-phone/messages?to=%2B4915112345678', { token })
    expect(await handset.json()).toEqual([])
    const forged = await srv.api('/api/virtual-phone/reply', {
      method: 'POST',
      token,
      json: { from: '+4915112345678', text: 'FRAUD ABC123' },
    })
    expect(forged.status).toBe(409)
    expect((await (await srv.api('/api/sms/inbox', { token })).json()) as unknown[]).toHaveLength(1)

    srv.services.sms.enqueue({ to: '+491234567890', text: 'report me', kind: 't', idempotencyKey: 'r1' })
    srv.services.sms.enqueue({
      to: '+491234567890',
      text: 'long '.repeat(60),
      kind: 't',
      idempotencyKey: 'r2',
    })
    const rows = await until('both delivered', () => {
      const r = outbox()
      return r.length === 2 && r.every((x) => x.status === 'delivered') ? r : undefined
    })
    expect(rows[1].message_ref).toMatch(/^\d+,\d+$/)
  })

  it('marks an SMS whose last parts never came as incomplete in the inbox', async () => {
    // What the modem gateway hands over when the driver's multipart timeout delivered parts 1 and 3 of 3.
    await srv.services.sms.receive(
      { from: '+4915112340000', text: 'first part … third part', receivedAt: Date.now(), missingParts: [2] },
      'modems',
    )
    const res = await srv.api('/api/sms/inbox?from=%2B4915112340000', { token })
    expect(((await res.json()) as { missingParts?: number[] }[])[0]).toMatchObject({ missingParts: [2] })
  })

  it("records a report's delivery time, not the time it was read", async () => {
    const [m] = await withModems([{}])
    srv.services.sms.enqueue({ to: '+491234567891', text: 'late report', kind: 't', idempotencyKey: 'r3' })
    const sent = await until('sent', () =>
      outbox().find((x) => x.idempotency_key === 'r3' && x.status === 'sent'),
    )
    const deliveredAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 120_000) // two minutes before it is read
    m.sim.injectStatusReport(Number(sent.message_ref), 0, '+491234567891', deliveredAt)
    const at = await until(
      'delivered',
      () =>
        srv.services.db
          .prepare(`SELECT delivered_at FROM sms_outbox WHERE id = ? AND status = 'delivered'`)
          .pluck()
          .get(sent.id) as number | undefined,
    )
    expect(at).toBe(deliveredAt.getTime())
  })

  it('switches back to the virtual phone at runtime, audited', async () => {
    await withModems([{}])
    const res = await srv.api('/api/sms/gateway', { method: 'PUT', token, json: { gateway: 'virtual' } })
    expect(await res.json()).toEqual({ gateway: 'virtual' })
    srv.services.sms.enqueue({ to: '+491234567890', text: 'hi', kind: 't', idempotencyKey: 'v1' })
    await until('delivered by the virtual phone', () =>
      outbox()[0]?.status === 'delivered' ? true : undefined,
    )
    const modems = (await (await srv.api('/api/modems', { token })).json()) as { modems: ModemInfo[] }
    expect(modems.modems[0].state).toBe('inactive')
    const audit = srv.services.db
      .prepare(`SELECT action, target FROM audit_log WHERE action LIKE 'sms.gateway%' ORDER BY id`)
      .all()
    expect(audit).toEqual([
      { action: 'sms.gateway.select', target: 'modems' },
      { action: 'sms.gateway.select', target: 'virtual' },
    ])
    // Back on the virtual phone, replies are taken again, each audited under the operator who typed it.
    const reply = await srv.api('/api/virtual-phone/reply', {
      method: 'POST',
      token,
      json: { from: '+491234567890', text: 'hello' },
    })
    expect(reply.status).toBe(201)
    expect(
      srv.services.db
        .prepare(`SELECT actor, target FROM audit_log WHERE action = 'virtual-phone.reply'`)
        .all(),
    ).toEqual([{ actor: expect.stringContaining('admin'), target: '+491234567890' }])
  })
})
