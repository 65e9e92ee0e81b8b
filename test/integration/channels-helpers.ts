import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders
  body: string
}

/**
 * A local webhook receiver on 127.0.0.1:0 that records every delivery. `answer` decides each status code
 * (default 204), so a test can make the first attempts fail.
 */
export async function webhookReceiver(answer: (n: number, hook: ReceivedWebhook) => number = () => 204) {
  const received: ReceivedWebhook[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const hook = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      received.push(hook)
      res.statusCode = answer(received.length, hook)
      res.end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/ims`,
    received,
    /** Waits for deliveries matching `where`, at least `count` of them. */
    async waitFor(where: (h: ReceivedWebhook) => boolean, count = 1): Promise<ReceivedWebhook[]> {
      const until = Date.now() + 15_000
      for (;;) {
        const hits = received.filter(where)
        if (hits.length >= count) return hits
        if (Date.now() > until) throw new Error(`only ${hits.length} matching webhooks arrived`)
        await new Promise((r) => setTimeout(r, 50))
      }
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

export interface ChannelLab {
  srv: TestServer
  token: string
  createClient(
    body: Record<string, unknown>,
  ): Promise<{ clientId: string; apiKey: string; webhookSecret: string }>
  call(apiKey: string | undefined, path: string, json?: unknown, method?: string): Promise<Response>
  smsTexts(to: string, count: number): Promise<string[]>
  lastCode(to: string, count: number): Promise<string>
}

/** A server with the demo pilot (issuer, ranges, demo cardholders) and helpers for channel calls. */
export async function channelLab(): Promise<ChannelLab> {
  const srv = await startTestServer()
  const token = await srv.login(ADMIN.username, ADMIN.password)
  const demo = await srv.api('/api/lab/demo', { method: 'POST', token })
  if (demo.status >= 300) throw new Error(`demo: ${demo.status} ${await demo.text()}`)
  const lab: ChannelLab = {
    srv,
    token,
    async createClient(body) {
      const res = await srv.api('/api/channel-clients', { method: 'POST', token, json: body })
      const created = (await res.json()) as { clientId: string; apiKey: string; webhookSecret: string }
      if (res.status !== 201) throw new Error(`client: ${res.status} ${JSON.stringify(created)}`)
      return created
    },
    call(apiKey, path, json, method = 'POST') {
      const headers: Record<string, string> = {}
      if (apiKey) headers.authorization = `App ${apiKey}`
      return srv.api(path, { method, headers, ...(json === undefined ? {} : { json }) })
    },
    async smsTexts(to, count) {
      const until = Date.now() + 10_000
      for (;;) {
        const res = await srv.api(`/api/virtual-phone/messages?to=${encodeURIComponent(to)}`, { token })
        const texts = ((await res.json()) as { direction: string; text: string }[])
          .filter((m) => m.direction === 'out')
          .map((m) => m.text)
        if (texts.length >= count) return texts
        if (Date.now() > until) throw new Error(`only ${texts.length} SMS reached ${to}`)
        await new Promise((r) => setTimeout(r, 25))
      }
    },
    async lastCode(to, count) {
      const texts = await lab.smsTexts(to, count)
      const m = /(?:code|Code) (\d{4,8})/.exec(texts[count - 1])
      if (!m) throw new Error(`no code in "${texts[count - 1]}"`)
      return m[1]
    },
  }
  return lab
}
