import { Agent as HttpAgent, request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { TlsIdentities } from './tls-identities'

/** An RRes is a few hundred bytes; a DS answering more is not answering an RReq. */
const MAX_ANSWER_BYTES = 64 * 1024

export interface DsAnswer {
  status: number
  text: string
}

/**
 * What the ACS sends to a directory server (the RReq) goes through here. Over https the ACS presents its
 * brand's TLS identity (tls-identities.ts) as client certificate and accepts only a server certificate that
 * chains to that brand's DS CAs; without an identity for the brand, https falls back to the system's roots
 * and no client certificate. Plain http is for the lab and tests on loopback (formats.ts refuses it for a
 * production range's dsURL). Connections are kept alive per brand.
 */
export class DsClient {
  private readonly agents = new Map<string, HttpsAgent>()
  private readonly plain = new HttpAgent({ keepAlive: true })

  constructor(private readonly identities: TlsIdentities) {
    identities.onChange(() => {
      for (const agent of this.agents.values()) agent.destroy()
      this.agents.clear()
    })
  }

  /** POSTs a JSON body; rejects on a network failure, and with a `TimeoutError` after `timeoutMs`. */
  post(url: string, body: string, brand: string | undefined, timeoutMs: number): Promise<DsAnswer> {
    const target = new URL(url)
    const secure = target.protocol === 'https:'
    const send = secure ? httpsRequest : httpRequest
    return new Promise((resolve, reject) => {
      const req = send(target, {
        method: 'POST',
        agent: secure ? this.agentFor(brand) : this.plain,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(body),
        },
      })
      req.setTimeout(timeoutMs, () =>
        req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: 'TimeoutError' })),
      )
      req.on('error', reject)
      req.on('response', (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > MAX_ANSWER_BYTES) req.destroy(new Error(`the answer exceeds ${MAX_ANSWER_BYTES} bytes`))
          else chunks.push(chunk)
        })
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        )
        res.on('error', reject)
      })
      req.end(body)
    })
  }

  private agentFor(brand: string | undefined): HttpsAgent {
    const key = brand ?? ''
    let agent = this.agents.get(key)
    if (!agent) {
      const identity = brand ? this.identities.forBrand(brand) : undefined
      agent = new HttpsAgent({
        keepAlive: true,
        ...(identity ? { key: identity.key, cert: identity.cert.join('\n'), ca: identity.ca } : {}),
      })
      this.agents.set(key, agent)
    }
    return agent
  }

  close(): void {
    for (const agent of this.agents.values()) agent.destroy()
    this.plain.destroy()
  }
}
