import { expect } from 'vitest'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'

/** A server with an admin session, and the calls the 2FA tests make. */
export interface TwofaLab {
  srv: TestServer
  token: string
  /** POST /api/2fa/applications; returns the created application with its one-time API key. */
  createApp(
    configuration?: Record<string, unknown>,
    name?: string,
  ): Promise<{ applicationId: string; apiKey: string }>
  createMessage(applicationId: string, body?: Record<string, unknown>): Promise<string>
  /** A PIN API call with `Authorization: App <apiKey>`. */
  pinApi(path: string, apiKey: string | undefined, json?: unknown, method?: string): Promise<Response>
  /** The SMS texts the virtual phone of `to` has received, waiting until there are at least `count`. */
  smsTo(to: string, count: number): Promise<string[]>
  stop(): Promise<void>
}

export async function twofaLab(): Promise<TwofaLab> {
  const srv = await startTestServer()
  const token = await srv.login(ADMIN.username, ADMIN.password)
  const consoleCall = async (path: string, json: unknown) => {
    const res = await srv.api(path, { method: 'POST', token, json })
    const body = (await res.json()) as Record<string, unknown>
    if (res.status !== 201) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`)
    return body
  }
  const lab: TwofaLab = {
    srv,
    token,
    async createApp(configuration = {}, name = 'Test shop') {
      const app = await consoleCall('/api/2fa/applications', { name, configuration })
      return { applicationId: app.applicationId as string, apiKey: app.apiKey as string }
    },
    async createMessage(applicationId, body = {}) {
      const msg = await consoleCall(`/api/2fa/applications/${applicationId}/messages`, {
        messageText: 'Your Test shop PIN is {{pin}}.',
        pinLength: 6,
        pinType: 'NUMERIC',
        ...body,
      })
      return msg.messageId as string
    },
    pinApi(path, apiKey, json, method = 'POST') {
      const headers: Record<string, string> = {}
      if (apiKey !== undefined) headers.authorization = `App ${apiKey}`
      return srv.api(path, { method, headers, ...(json === undefined ? {} : { json }) })
    },
    async smsTo(to, count) {
      const until = Date.now() + 10_000
      for (;;) {
        const res = await srv.api(`/api/virtual-phone/messages?to=${encodeURIComponent(to)}`, { token })
        expect(res.status).toBe(200)
        const texts = ((await res.json()) as { direction: string; text: string }[])
          .filter((m) => m.direction === 'out')
          .map((m) => m.text)
        if (texts.length >= count) return texts
        if (Date.now() > until) throw new Error(`only ${texts.length} SMS reached ${to}`)
        await new Promise((r) => setTimeout(r, 25))
      }
    },
    stop: () => srv.stop(),
  }
  return lab
}

/** The PIN of the n-th SMS (1-based) to a number, for a template "... PIN is {{pin}}." */
export async function pinOf(
  lab: TwofaLab,
  to: string,
  n: number,
  pattern = /PIN is ([0-9A-Z]+)/,
): Promise<string> {
  const texts = await lab.smsTo(to, n)
  const m = pattern.exec(texts[n - 1])
  if (!m) throw new Error(`no PIN in "${texts[n - 1]}"`)
  return m[1]
}

/** Reads a JSON answer and checks it is never a server error and always JSON. */
export async function json(res: Response): Promise<Record<string, unknown>> {
  expect(res.status, 'never a 5xx').toBeLessThan(500)
  expect(res.headers.get('content-type')).toMatch(/json/)
  return (await res.json()) as Record<string, unknown>
}
