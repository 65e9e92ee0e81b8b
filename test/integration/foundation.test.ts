import { execFileSync } from 'node:child_process'
import { request } from 'node:http'
import { authenticator } from 'otplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'

let srv: TestServer
let adminToken: string

beforeAll(async () => {
  srv = await startTestServer()
  adminToken = await srv.login(ADMIN.username, ADMIN.password)
})
afterAll(() => srv.stop())

async function problem(res: Response) {
  expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/)
  const body = (await res.json()) as {
    status: number
    title: string
    detail?: string
    retryAfter?: number
    totpRequired?: boolean
  }
  expect(body.status).toBe(res.status)
  expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/) // never a stack trace
  return body
}

describe('console API basics', () => {
  it('GET /health answers ok with the version', async () => {
    const res = await srv.api('/health')
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+\.\d+/) })
  })

  it('signs in and returns the operator, role and permissions', async () => {
    const res = await srv.api('/api/session', { method: 'POST', json: ADMIN })
    expect(res.status).toBe(201)
    const body = (await res.json()) as { token: string; operator: { role: string }; permissions: string[] }
    expect(body.operator.role).toBe('admin')
    expect(body.permissions).toContain('operators.manage')
    const me = await srv.api('/api/session', { token: body.token })
    expect(((await me.json()) as { operator: { username: string } }).operator.username).toBe('admin')
  })

  it('answers a wrong password with 401 problem+json, same as an unknown user', async () => {
    const wrong = await srv.api('/api/session', {
      method: 'POST',
      json: { username: 'admin', password: 'nope-nope-nope' },
    })
    const unknown = await srv.api('/api/session', {
      method: 'POST',
      json: { username: 'ghost', password: 'nope-nope-nope' },
    })
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    expect((await problem(wrong)).title).toBe((await problem(unknown)).title)
  })

  it('answers malformed JSON, an oversized body and an unknown route with problems', async () => {
    const bad = await srv.api('/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"username":',
    })
    expect(bad.status).toBe(400)
    expect((await problem(bad)).title).toBe('Malformed JSON')

    const huge = await srv.api('/api/session', {
      method: 'POST',
      json: { username: 'x', password: 'y'.repeat(400_000) },
    })
    expect(huge.status).toBe(413)
    await problem(huge)

    const missing = await srv.api('/api/no-such-thing', { token: adminToken })
    expect(missing.status).toBe(404)
    await problem(missing)

    const invalid = await srv.api('/api/session', { method: 'POST', json: { username: '' } })
    expect(invalid.status).toBe(400)
    expect((await invalid.json()) as object).toMatchObject({
      errors: expect.arrayContaining([expect.objectContaining({ path: 'password' })]),
    })
  })

  it('rejects a missing token, a missing permission, a foreign Host and a foreign Origin', async () => {
    expect((await srv.api('/api/operators')).status).toBe(401)

    await srv.api('/api/operators', {
      method: 'POST',
      token: adminToken,
      json: { username: 'agent1', displayName: 'Agent One', role: 'agent', password: 'agent-password-1' },
    })
    const agentToken = await srv.login('agent1', 'agent-password-1')
    const denied = await srv.api('/api/operators', { token: agentToken })
    expect(denied.status).toBe(403)
    expect((await problem(denied)).detail).toMatch(/agent/)

    // fetch() will not send a forged Host header; a raw request does, like a DNS-rebinding page would.
    const url = new URL(srv.url)
    const rebound = await new Promise<number>((resolve, reject) =>
      request(
        {
          host: url.hostname,
          port: url.port,
          path: '/api/session',
          headers: { host: 'evil.example', authorization: `Bearer ${adminToken}` },
        },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        },
      )
        .on('error', reject)
        .end(),
    )
    expect(rebound).toBe(421)
    const foreign = await srv.api('/api/session', {
      token: adminToken,
      headers: { origin: 'http://evil.example' },
    })
    expect(foreign.status).toBe(403)
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('locks an account after repeated failures, with Retry-After, and audits it', async () => {
    await srv.api('/api/operators', {
      method: 'POST',
      token: adminToken,
      json: { username: 'victim', displayName: 'Victim', role: 'agent', password: 'tulip-garden-4471' },
    })
    for (let i = 0; i < 5; i++) {
      await srv.api('/api/session', {
        method: 'POST',
        json: { username: 'victim', password: `guess-${i}-wrong` },
      })
    }
    const locked = await srv.api('/api/session', {
      method: 'POST',
      json: { username: 'victim', password: 'tulip-garden-4471' },
    })
    expect(locked.status).toBe(423)
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await problem(locked)).retryAfter).toBeGreaterThan(0)
    const audit = await srv.api('/api/audit?action=operator.login', { token: adminToken })
    const actions = ((await audit.json()) as { items: { action: string }[] }).items.map((i) => i.action)
    expect(actions).toContain('operator.login.locked')

    // A username that does not exist locks the same way: the 423 tells nobody which names are real.
    for (let i = 0; i < 5; i++) {
      const r = await srv.api('/api/session', {
        method: 'POST',
        json: { username: 'phantom', password: `g-${i}` },
      })
      expect(r.status).toBe(401)
    }
    const ghost = await srv.api('/api/session', {
      method: 'POST',
      json: { username: 'phantom', password: 'x' },
    })
    expect(ghost.status).toBe(423)
    expect(Number(ghost.headers.get('retry-after'))).toBeGreaterThan(0)
  })

  it('a burst of wrong passwords sent at once locks the account like the same guesses one by one', async () => {
    await srv.api('/api/operators', {
      method: 'POST',
      token: adminToken,
      json: { username: 'burst', displayName: 'Burst', role: 'agent', password: 'maple-harbour-2290' },
    })
    // All in flight together: each waits on scrypt before its failure is counted.
    const guesses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        srv.api('/api/session', {
          method: 'POST',
          json: { username: 'burst', password: `burst-${i}-wrong` },
        }),
      ),
    )
    expect(guesses.every((r) => r.status === 401 || r.status === 423)).toBe(true)
    const failures = srv.services.db
      .prepare(`SELECT failed_logins FROM operators WHERE username = 'burst'`)
      .pluck()
      .get() as number
    expect(failures).toBeGreaterThanOrEqual(5)
    const right = await srv.api('/api/session', {
      method: 'POST',
      json: { username: 'burst', password: 'maple-harbour-2290' },
    })
    expect(right.status).toBe(423)
  })

  it('enrols TOTP and then requires it at sign-in', async () => {
    await srv.api('/api/operators', {
      method: 'POST',
      token: adminToken,
      json: {
        username: 'sup',
        displayName: 'Supervisor',
        role: 'supervisor',
        password: 'lantern-river-8812',
      },
    })
    const token = await srv.login('sup', 'lantern-river-8812')
    const begin = (await (await srv.api('/api/me/totp', { method: 'POST', token })).json()) as {
      secret: string
      qrDataUrl: string
    }
    expect(begin.qrDataUrl).toMatch(/^data:image\/png;base64,/)
    const code = authenticator.generate(begin.secret)
    expect((await srv.api('/api/me/totp/confirm', { method: 'POST', token, json: { code } })).status).toBe(
      204,
    )

    const noCode = await srv.api('/api/session', {
      method: 'POST',
      json: { username: 'sup', password: 'lantern-river-8812' },
    })
    expect(noCode.status).toBe(401)
    expect((await problem(noCode)).totpRequired).toBe(true)
    // The code used for enrolment cannot be replayed for a sign-in.
    const replay = await srv.api('/api/session', {
      method: 'POST',
      json: { username: 'sup', password: 'lantern-river-8812', totp: code },
    })
    expect(replay.status).toBe(401)
    const next = authenticator.generate(begin.secret)
    if (next === code) {
      // Same 30 s window: the step was used; a sign-in in the next window would pass. Checked above.
      return
    }
    const ok = await srv.api('/api/session', {
      method: 'POST',
      json: { username: 'sup', password: 'lantern-river-8812', totp: next },
    })
    expect(ok.status).toBe(201)
  })

  it('takes an operator code of the previous 30 s step, not of two steps back (codes from oathtool)', async () => {
    await srv.api('/api/operators', {
      method: 'POST',
      token: adminToken,
      json: {
        username: 'sup2',
        displayName: 'Supervisor 2',
        role: 'supervisor',
        password: 'copper-field-5521',
      },
    })
    const token = await srv.login('sup2', 'copper-field-5521')
    const { secret } = (await (await srv.api('/api/me/totp', { method: 'POST', token })).json()) as {
      secret: string
    }
    // Independent codes: oathtool at a chosen time. The steps are counted from now: not in a step's last
    // seconds, so that the server's clock is still in the same step when the codes arrive.
    const intoStep = Date.now() % 30_000
    if (intoStep > 25_000) await new Promise((r) => setTimeout(r, 30_100 - intoStep))
    const step = Math.floor(Date.now() / 30_000)
    const at = (s: number) =>
      execFileSync('oathtool', ['--totp', '-b', '-N', `@${s * 30 + 15}`, secret])
        .toString()
        .trim()
    const confirm = (code: string) =>
      srv.api('/api/me/totp/confirm', { method: 'POST', token, json: { code } }).then((r) => r.status)
    const signIn = (totp: string) =>
      srv
        .api('/api/session', {
          method: 'POST',
          json: { username: 'sup2', password: 'copper-field-5521', totp },
        })
        .then((r) => r.status)
    const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0')
    expect(await confirm(wrong(at(step)))).toBe(400)
    expect(await confirm(at(step - 1))).toBe(204)
    expect(await signIn(at(step - 2))).toBe(401)
    expect(await signIn(at(step + 1))).toBe(201)
    const audit = srv.services.db
      .prepare(
        `SELECT action FROM audit_log WHERE target = 'operator:sup2' AND action LIKE 'operator.totp.%'`,
      )
      .pluck()
      .all()
    expect(audit).toEqual(['operator.totp.begin', 'operator.totp.enable'])
  })

  it('ends the session at logout', async () => {
    const token = await srv.login(ADMIN.username, ADMIN.password)
    expect((await srv.api('/api/session', { method: 'DELETE', token })).status).toBe(204)
    expect((await srv.api('/api/session', { token })).status).toBe(401)
  })

  it('publishes an OpenAPI document generated from the route schemas', async () => {
    const doc = (await (await srv.api('/api/openapi.json')).json()) as {
      openapi: string
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: { properties?: object } }> } }>
      >
    }
    expect(doc.openapi).toBe('3.1.0')
    const login = doc.paths['/api/session'].post
    expect(Object.keys(login.requestBody!.content['application/json'].schema.properties!)).toEqual([
      'username',
      'password',
      'totp',
    ])
    expect(doc.paths['/api/operators/{id}']).toHaveProperty('patch')
  })

  it('answers a request that wrote only after the durability barrier, and a read without one', async () => {
    const durability = srv.services.durability
    // The earlier tests' audit rows are anchored once on disk: let that barrier pass before counting ours.
    await srv.services.audit.anchored()
    const original = durability.flush.bind(durability)
    const events: string[] = []
    durability.flush = async () => {
      events.push('flush-start')
      await new Promise((r) => setTimeout(r, 50))
      await original()
      events.push('flush-done')
    }
    try {
      await srv.api('/health')
      expect(events).toEqual([])
      const res = await srv.api('/api/session', { method: 'POST', json: ADMIN }) // writes a session row
      events.push('answered')
      expect(res.status).toBe(201)
      // The answer waited for a barrier; the audit anchor's own wait for one (its row) may run beside it.
      expect(events[0]).toBe('flush-start')
      expect(events.slice(0, events.indexOf('answered'))).toContain('flush-done')
    } finally {
      durability.flush = original
    }
  })

  it('never writes a password or token into the log', async () => {
    const text = srv.logText()
    expect(text.length).toBeGreaterThan(0)
    expect(text).not.toContain(ADMIN.password)
    expect(text).not.toContain('tulip-garden-4471')
    expect(text).not.toContain(adminToken)
  })

  it('keeps an intact audit chain', async () => {
    const res = await srv.api('/api/audit/verify', { method: 'POST', token: adminToken })
    expect(await res.json()).toMatchObject({ ok: true })
  })
})

describe('first-run setup', () => {
  it('creates the first admin once, from this machine only', async () => {
    const { startServer } = await import('../../src-server/server')
    const { createLogger } = await import('../../src-server/log')
    const { mkdtempSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const fresh = await startServer({
      env: { IMS_DATA_DIR: mkdtempSync(join(tmpdir(), 'ims-setup-')), IMS_PORT: '0' },
      log: createLogger('silent'),
      consoleRoot: null,
    })
    try {
      const post = (body: object) =>
        fetch(`${fresh.url}/api/setup`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      expect(await (await fetch(`${fresh.url}/api/setup`)).json()).toEqual({ needed: true })
      expect((await post({ username: 'first', displayName: 'First', password: 'short' })).status).toBe(400)
      const results = await Promise.all([
        post({ username: 'first', displayName: 'First', password: 'granite-harbour-77' }),
        post({ username: 'second', displayName: 'Second', password: 'granite-harbour-77' }),
      ])
      expect(results.map((r) => r.status).sort()).toEqual([201, 409])
      expect(await (await fetch(`${fresh.url}/api/setup`)).json()).toEqual({ needed: false })
    } finally {
      await fresh.close()
    }
  })
})
