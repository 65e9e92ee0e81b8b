import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ADMIN, startTestServer, type TestServer } from '../../../test/helpers/server'
import { migrate, openDatabase } from '../../store/db'
import { DashboardChanges, MIN_INTERVAL_MS } from './changes'

describe('dashboard change events (unit)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ims-dashboard-changes-'))
  const db = openDatabase(join(dir, 'changes.db'))
  migrate(db)
  afterAll(() => {
    db.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('forwards SMS and modem events, at most one per interval, and lets go of its sources when nobody listens', () => {
    vi.useFakeTimers()
    try {
      const sms = new EventEmitter()
      const modems = new EventEmitter()
      const changes = new DashboardChanges(db, { sms, modems })
      const heard = vi.fn()
      changes.on('changed', heard)
      for (let i = 0; i < 5; i++) sms.emit('outbox', { id: i })
      modems.emit('changed')
      expect(heard).toHaveBeenCalledTimes(1)
      vi.advanceTimersByTime(MIN_INTERVAL_MS)
      // The burst after the first event is one trailing change, not six.
      expect(heard).toHaveBeenCalledTimes(2)
      vi.advanceTimersByTime(5 * MIN_INTERVAL_MS)
      expect(heard).toHaveBeenCalledTimes(2)

      // A ledger write nobody announces is found by the fingerprint.
      db.prepare("INSERT INTO acs_stats_daily (day, brand, issuer_id, total) VALUES (?, 'visa', 1, 1)").run(
        new Date().toISOString().slice(0, 10),
      )
      vi.advanceTimersByTime(1000)
      expect(heard).toHaveBeenCalledTimes(3)

      changes.off('changed', heard)
      expect(sms.listenerCount('outbox') + sms.listenerCount('inbox') + modems.listenerCount('changed')).toBe(
        0,
      )
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('GET /api/console/dashboard/events', () => {
  let srv: TestServer
  let token: string
  beforeAll(async () => {
    srv = await startTestServer()
    token = await srv.login(ADMIN.username, ADMIN.password)
  })
  afterAll(() => srv.stop())

  async function ticket(): Promise<string> {
    const res = await srv.api('/api/console/dashboard/events/ticket', { method: 'POST', token })
    expect(res.status).toBe(201)
    return ((await res.json()) as { ticket: string }).ticket
  }

  it('sends `changed` when an authentication is recorded, even one the ACS announces to nobody', async () => {
    const controller = new AbortController()
    const t = await ticket()
    const res = await fetch(`${srv.url}/api/console/dashboard/events?ticket=${t}`, {
      signal: controller.signal,
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/)
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    let text = ''
    const until = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`stream ended before ${pattern}: ${text}`)
        text += value
      }
    }
    try {
      await until(/event: ready/)
      // An Erro for a known range: counted in the statistics, no event from the ACS.
      srv.services.acs.ledger.erro('visa', 1)
      await until(/event: changed/)
    } finally {
      controller.abort()
    }

    // A ticket works once.
    const again = await fetch(`${srv.url}/api/console/dashboard/events?ticket=${t}`)
    expect(again.status).toBe(401)
    expect(((await again.json()) as { detail: string }).detail).toMatch(/unknown, used or expired/)
  })

  it('refuses a stream without a ticket, and a ticket without a session', async () => {
    expect((await fetch(`${srv.url}/api/console/dashboard/events`)).status).toBe(401)
    expect((await fetch(`${srv.url}/api/console/dashboard/events?ticket=${randomUUID()}`)).status).toBe(401)
    expect((await srv.api('/api/console/dashboard/events/ticket', { method: 'POST' })).status).toBe(401)
  })
})
