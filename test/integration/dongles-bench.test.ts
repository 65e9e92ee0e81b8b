import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openTransport, type Transport } from '../../hardware/serial/transport'
import { main as simulate } from '../../hardware/sim/dongle/cli'
import { SerialProgrammerSim, type SimToken } from '../../hardware/sim/dongle/serial-programmer-sim'
import { SimulatedUsbBus, SimulatedYubiKey } from '../../hardware/sim/dongle/yubikey-sim'
import { MODULES } from '../../src-server/app'
import { createDonglesModule } from '../../src-server/dongles/routes'
import { hotp } from '../../src-server/otp/oath'
import { runIms } from '../helpers/process'
import { openPtyPair, type PtyPair } from '../helpers/pty'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'
import { json } from './dongles-helpers'

interface Run {
  id: number
  status: string
  awaitingTouch: boolean
  serial?: string
  seedSource?: string
  error?: string
  steps: { step: string; detail?: string }[]
}

const cleanups: (() => Promise<unknown> | unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** Reads the server-sent event stream (as EventSource would) into a list of {event, data}. */
async function listen(srv: TestServer, token: string) {
  const ticketRes = await srv.api('/api/dongles/events/tickets', { method: 'POST', token })
  expect(ticketRes.status).toBe(201)
  const { ticket } = await json<{ ticket: string }>(ticketRes)
  const abort = new AbortController()
  const res = await fetch(`${srv.url}/api/dongles/events?ticket=${ticket}`, { signal: abort.signal })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/text\/event-stream/)
  const events: { event: string; data: Record<string, unknown> }[] = []
  let buffer = ''
  const reading = (async () => {
    const decoder = new TextDecoder()
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true })
        let end: number
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const event = /^event: (.*)$/m.exec(block)?.[1]
          const data = /^data: (.*)$/m.exec(block)?.[1]
          if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> })
        }
      }
    } catch {
      // aborted
    }
  })()
  cleanups.push(async () => {
    abort.abort()
    await reading
  })
  // The ticket is single-use.
  expect((await fetch(`${srv.url}/api/dongles/events?ticket=${ticket}`)).status).toBe(401)
  return events
}

async function until<T>(what: () => Promise<T> | T, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await what()
    if (ok(v)) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting; last value ${JSON.stringify(v)}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('bench programming through the server: serial programmer simulator over a pty', () => {
  it('detects the token, programs a generated seed, verifies, stores, labels, ejects; the device’s next code verifies', async () => {
    const srv = await startTestServer()
    cleanups.push(() => srv.stop())
    const token = await srv.login(ADMIN.username, ADMIN.password)
    const pty: PtyPair = await openPtyPair()
    cleanups.push(() => pty.close())
    const simSide: Transport = await openTransport(pty.b)
    cleanups.push(() => simSide.close())
    const sim = new SerialProgrammerSim(simSide.stream)
    const ejected: SimToken[] = []
    sim.onEject = (t) => ejected.push(t)

    const programmers = await json<{ id: string; status: string; detail?: string }[]>(
      await srv.api('/api/dongles/programmers', { token }),
    )
    const usb = programmers.find((p) => p.id === 'usb')!
    if (!existsSync('/sys/bus/usb')) {
      expect(usb).toMatchObject({ status: 'unavailable', detail: expect.stringMatching(/no USB bus/) })
    }

    const events = await listen(srv, token)
    const added = await srv.api('/api/dongles/programmers', {
      method: 'POST',
      token,
      json: { name: 'Bench 1', url: pty.a },
    })
    expect(added.status).toBe(201)
    const programmer = await json<{ id: string; status: string }>(added)
    expect(programmer.status).toBe('ready')
    sim.insert({ serial: 'SER000777', capabilities: 0x1f })
    await until(
      () => events,
      (e) => e.some((x) => x.event === 'device' && x.data.change === 'attached'),
    )

    const started = await srv.api('/api/dongles/bench/runs', {
      method: 'POST',
      token,
      json: { programmerId: programmer.id, params: { kind: 'hotp', algorithm: 'SHA256', digits: 8 } },
    })
    expect(started.status).toBe(202)
    const { id } = await json<Run>(started)
    const run = await until(
      async () => json<Run>(await srv.api(`/api/dongles/bench/runs/${id}`, { token })),
      (r) => r.status !== 'running',
    )
    expect(run).toMatchObject({ status: 'done', serial: 'SER000777', seedSource: 'generated' })
    expect(run.steps.map((s) => s.step)).toEqual([
      'waiting',
      'detected',
      'seed',
      'programmed',
      'verified',
      'labelled',
      'stored',
    ])
    // Every step reached the console over the event stream, and no event carries the seed.
    await until(
      () => events,
      (e) => e.some((x) => x.event === 'bench' && (x.data.run as Run).status === 'done'),
    )
    const streamed = events
      .filter((e) => e.event === 'bench')
      .map((e) => (e.data.run as Run).steps.at(-1)!.step)
    expect(streamed).toEqual(expect.arrayContaining(['detected', 'programmed', 'verified', 'stored']))

    await until(
      () => ejected.length,
      (n) => n === 1,
    )
    const device = ejected[0].config!
    expect(JSON.stringify(events)).not.toContain(Buffer.from(device.seed).toString('hex'))
    const stored = await json<Record<string, unknown>>(
      await srv.api('/api/dongles/tokens/SER000777', { token }),
    )
    expect(stored).toMatchObject({
      state: 'in-stock',
      kind: 'hotp',
      algorithm: 'SHA256',
      digits: 8,
      counter: 1,
      batch: 'bench',
    })
    expect(stored.programmedAt).toBeDefined()
    // The inventory holds what the device holds: the device's next code (counter 1) verifies.
    const next = hotp(device.seed, device.counter, { algorithm: 'SHA256', digits: 8 })
    expect(
      await json(
        await srv.api('/api/dongles/tokens/SER000777/test', { method: 'POST', token, json: { code: next } }),
      ),
    ).toEqual({ ok: true })

    const label = await srv.api('/api/dongles/tokens/SER000777/label', { token })
    expect(label.headers.get('content-type')).toBe('application/pdf')
    expect(
      Buffer.from(await label.arrayBuffer())
        .subarray(0, 5)
        .toString(),
    ).toBe('%PDF-')

    // Programming the same serial again is refused before anything is written, and reported as the seed step.
    sim.insert({ serial: 'SER000777', capabilities: 0x1f })
    const again = await json<Run>(
      await srv.api('/api/dongles/bench/runs', {
        method: 'POST',
        token,
        json: { programmerId: programmer.id, params: { kind: 'hotp' } },
      }),
    )
    const failed = await until(
      async () => json<Run>(await srv.api(`/api/dongles/bench/runs/${again.id}`, { token })),
      (r) => r.status !== 'running',
    )
    expect(failed).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/already in the inventory/),
    })
    expect(sim.tokenInCradle?.config).toBeUndefined()
    sim.detach()
  })
})

describe('bench programming through the server: simulated YubiKey on the USB bus', () => {
  it('waits for the plug-in, asks for the touch, verifies what the key typed, and stores the token', async () => {
    const bus = new SimulatedUsbBus()
    const modules = MODULES.map((m) =>
      m.name === 'dongles' ? createDonglesModule({ usbBus: async () => bus }) : m,
    )
    const srv = await startTestServer({ modules })
    cleanups.push(() => srv.stop())
    const token = await srv.login(ADMIN.username, ADMIN.password)
    const usb = (
      await json<{ id: string; status: string }[]>(await srv.api('/api/dongles/programmers', { token }))
    ).find((p) => p.id === 'usb')
    expect(usb?.status).toBe('ready')

    const { id } = await json<Run>(
      await srv.api('/api/dongles/bench/runs', {
        method: 'POST',
        token,
        json: { programmerId: 'usb', params: { kind: 'hotp', digits: 6 } },
      }),
    )
    const key = new SimulatedYubiKey({ serial: 5_550_001 })
    bus.plug(key)
    await until(
      async () => json<Run>(await srv.api(`/api/dongles/bench/runs/${id}`, { token })),
      (r) => r.awaitingTouch,
    )
    const typed = key.touch(1)
    expect(
      (await srv.api(`/api/dongles/bench/runs/${id}/touch`, { method: 'POST', token, json: { code: typed } }))
        .status,
    ).toBe(204)
    const run = await until(
      async () => json<Run>(await srv.api(`/api/dongles/bench/runs/${id}`, { token })),
      (r) => r.status !== 'running',
    )
    expect(run).toMatchObject({ status: 'done', serial: '5550001' })
    expect(run.steps.map((s) => s.step)).toEqual([
      'waiting',
      'detected',
      'seed',
      'programmed',
      'touch',
      'verified',
      'labelled',
      'stored',
    ])
    const next = key.touch(1).trim()
    expect(
      await json(
        await srv.api('/api/dongles/tokens/5550001/test', { method: 'POST', token, json: { code: next } }),
      ),
    ).toEqual({ ok: true })
    expect(srv.logText()).not.toContain(typed.trim())
  })

  it('a run cancelled while it waits for a key ends failed; starting and cancelling are audited', async () => {
    const bus = new SimulatedUsbBus()
    const modules = MODULES.map((m) =>
      m.name === 'dongles' ? createDonglesModule({ usbBus: async () => bus }) : m,
    )
    const srv = await startTestServer({ modules })
    cleanups.push(() => srv.stop())
    const token = await srv.login(ADMIN.username, ADMIN.password)
    const { id } = await json<Run>(
      await srv.api('/api/dongles/bench/runs', {
        method: 'POST',
        token,
        json: { programmerId: 'usb', params: { kind: 'totp', digits: 6 } },
      }),
    )
    expect((await srv.api(`/api/dongles/bench/runs/${id}/cancel`, { method: 'POST', token })).status).toBe(
      204,
    )
    const run = await until(
      async () => json<Run>(await srv.api(`/api/dongles/bench/runs/${id}`, { token })),
      (r) => r.status !== 'running',
    )
    expect(run.status).toBe('failed')
    const audit = srv.services.db
      .prepare(`SELECT action, target, details FROM audit_log WHERE action LIKE 'dongle.bench.%' ORDER BY id`)
      .all() as { action: string; target: string; details: string }[]
    expect(audit.map((a) => [a.action, a.target, JSON.parse(a.details).run])).toEqual([
      ['dongle.bench.start', 'usb', id],
      ['dongle.bench.cancel', 'usb', id],
    ])
  })
})

describe('ims dongle program / simulate', () => {
  it('programs two tokens from the simulator over a pty and writes their labels', async () => {
    const srv = await startTestServer()
    cleanups.push(() => srv.stop())
    const pty = await openPtyPair()
    cleanups.push(() => pty.close())
    const stop = new AbortController()
    const simulator = simulate(['--device', pty.b, '--tokens', '3', '--serial-prefix', 'CLIP'], stop.signal)
    cleanups.push(async () => {
      stop.abort()
      await simulator
    })
    const labels = mkdtempSync(join(tmpdir(), 'labels-'))
    cleanups.push(() => rmSync(labels, { recursive: true, force: true }))
    const r = await runIms(
      ['dongle', 'program', '--port', pty.a, '--count', '2', '--labels', labels, '--kind', 'totp'],
      {
        IMS_DATA_DIR: srv.dataDir,
      },
    )
    expect(r.stderr).toContain('verified')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/CLIP000001: programmed \(generated seed\), verified, stored/)
    expect(r.stdout).toMatch(/CLIP000002: programmed/)
    expect(readFileSync(join(labels, 'label-CLIP000002.pdf')).subarray(0, 5).toString()).toBe('%PDF-')
    const page = await json<{ items: { serial: string; kind: string }[] }>(
      await srv.api('/api/dongles?serial=CLIP', { token: await srv.login(ADMIN.username, ADMIN.password) }),
    )
    expect(page.items.map((t) => [t.serial, t.kind])).toEqual([
      ['CLIP000001', 'totp'],
      ['CLIP000002', 'totp'],
    ])
  })
})
