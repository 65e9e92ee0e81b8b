import { expect } from 'vitest'
import { startServer } from '../../src-server/server'
import { createLogger } from '../../src-server/log'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'

/** Shared steps of the ACS integration tests: a server with the demo pilot, purchases, phone, pages. */
export interface Lab {
  srv: TestServer
  token: string
  purchase(body: Record<string, unknown>): Promise<Purchase>
  get(
    id: string,
  ): Promise<Record<string, unknown> & { rreqs: Record<string, unknown>[]; notification?: Notification }>
  lastCode(mobile: string): Promise<string>
  smsTexts(mobile: string): Promise<string[]>
  settings(patch: Record<string, unknown>): Promise<void>
  /** Waits until the lab DS has received at least one RReq for the purchase; returns them all. */
  rreqs(id: string, timeoutMs?: number): Promise<Record<string, unknown>[]>
}

export interface Purchase {
  id: string
  acsTransID?: string
  ares: Record<string, unknown>
  creq?: string
  threeDSSessionData?: string
  checkoutUrl?: string
}

export interface Notification {
  cres: Record<string, unknown>
  threeDSSessionData?: string
  sessionDataIntact: boolean
}

export const CARDS = {
  visaFr: { pan: '4111111111111111', mobile: '+33612345601' },
  visaEn: { pan: '4000000000000002', mobile: '+447700900002' },
  mastercardDe: { pan: '5555555555554444', mobile: '+4915112345603' },
  mastercard2: { pan: '2223000048410010', mobile: '+447700900004' },
  noMethod: { pan: '4242424242424242', mobile: '+447700900005' },
  suspended: { pan: '4012888888881881', mobile: '+447700900006' },
}

export async function labOver(srv: TestServer): Promise<Lab> {
  const token = await srv.login(ADMIN.username, ADMIN.password)
  const call = async (path: string, init: RequestInit & { json?: unknown } = {}) => {
    const res = await srv.api(path, { ...init, token })
    const text = await res.text()
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${text}`)
    return text ? (JSON.parse(text) as Record<string, unknown>) : {}
  }
  await call('/api/lab/demo', { method: 'POST' })
  const lab: Lab = {
    srv,
    token,
    purchase: async (body) =>
      (await call('/api/lab/purchases', { method: 'POST', json: body })) as unknown as Purchase,
    get: async (id) => (await call(`/api/lab/purchases/${id}`)) as Awaited<ReturnType<Lab['get']>>,
    async smsTexts(mobile) {
      const res = await srv.api(`/api/virtual-phone/messages?to=${encodeURIComponent(mobile)}`, { token })
      const list = (await res.json()) as { direction: string; text: string }[]
      return list.filter((m) => m.direction === 'out').map((m) => m.text)
    },
    async lastCode(mobile) {
      const texts = await lab.smsTexts(mobile)
      const m = /code (\d{4,8})/i.exec(texts.at(-1) ?? '')
      if (!m) throw new Error(`no code in the SMS to ${mobile}: ${texts.at(-1)}`)
      return m[1]
    },
    async settings(patch) {
      await call('/api/acs/settings', { method: 'PUT', json: patch })
    },
    async rreqs(id, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs
      for (;;) {
        const p = await lab.get(id)
        if (p.rreqs.length > 0 || Date.now() > until) return p.rreqs
        await new Promise((r) => setTimeout(r, 100))
      }
    },
  }
  return lab
}

export async function startLab(): Promise<Lab> {
  return labOver(await startTestServer())
}

/** Restarts a test server on the same data folder and port (dsURLs in stored AReqs stay valid). */
export async function restart(srv: TestServer): Promise<TestServer> {
  await srv.close()
  // Let the clients' keep-alive sockets see the close before the same port is reused.
  await new Promise((r) => setTimeout(r, 200))
  const running = await startServer({
    env: { IMS_DATA_DIR: srv.dataDir, IMS_PORT: new URL(srv.url).port, IMS_HOST: '127.0.0.1' },
    log: createLogger('silent'),
    consoleRoot: null,
  })
  return {
    ...srv,
    ...running,
    api: (path, init = {}) => {
      const headers = new Headers(init.headers)
      if (init.token) headers.set('authorization', `Bearer ${init.token}`)
      let body = init.body
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json')
        body = JSON.stringify(init.json)
      }
      return fetch(running.url + path, { ...init, headers, body })
    },
    login: async (username, password) => {
      const res = await fetch(running.url + '/api/session', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      })
      return ((await res.json()) as { token: string }).token
    },
    stop: async () => {
      await running.close()
    },
  }
}

/** A browser posting forms to the ACS challenge endpoint: keeps the page's hidden fields between steps. */
export class ChallengeBrowser {
  html = ''
  headers: Headers | undefined
  constructor(private readonly acsURL: string) {}

  private async post(fields: Record<string, string>): Promise<string> {
    const res = await fetch(this.acsURL, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    })
    expect(res.status).toBeLessThan(500)
    this.headers = res.headers
    this.html = await res.text()
    return this.html
  }

  open(creq: string, threeDSSessionData?: string) {
    return this.post({ creq, ...(threeDSSessionData ? { threeDSSessionData } : {}) })
  }

  hidden(name: string): string {
    const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(this.html)
    if (!m) throw new Error(`no hidden ${name} in the page`)
    return m[1]
      .replace(/&amp;/g, '&')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
  }

  act(action: 'submit' | 'resend' | 'cancel', otp = '') {
    return this.post({ acsTransID: this.hidden('acsTransID'), nonce: this.hidden('nonce'), action, otp })
  }

  /** The final page's auto-post: its action and fields, as the browser would submit them. */
  finalForm(): { action: string; fields: Record<string, string> } {
    const action = /<form method="post" action="([^"]+)"/.exec(this.html)?.[1]
    if (!action) throw new Error('not a final page')
    return {
      action: action.replace(/&amp;/g, '&'),
      fields: {
        cres: this.hidden('cres'),
        ...(/name="threeDSSessionData"/.test(this.html)
          ? { threeDSSessionData: this.hidden('threeDSSessionData') }
          : {}),
      },
    }
  }

  /** Submits the final auto-post form to the merchant's notificationURL, as the page's script does. */
  async deliverFinal(): Promise<Record<string, unknown>> {
    const { action, fields } = this.finalForm()
    const res = await fetch(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    })
    expect(res.status).toBe(200)
    return JSON.parse(Buffer.from(fields.cres, 'base64url').toString('utf8')) as Record<string, unknown>
  }
}
