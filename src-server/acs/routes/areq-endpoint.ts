import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { readRequestBody } from '../../http/body'
import type { Logger } from '../../log'
import type { Durability } from '../../store/durability'
import type { LatencyLabels } from '../latency'
import { buildErro, ErrorCode } from '../protocol/erro'
import { serializeMessage } from '../protocol/serialize'
import { systemFailure } from '../protocol/system-failure'
import type { AcsRuntime } from '../runtime'
import { dsPeerOf } from '../tls/listener'
import { storageFailureErro } from './endpoints'

const AREQ_PATH = '/acs/v2/areq'
const AREQ_LIMIT = 64 * 1024

/**
 * The directory servers' endpoint, `POST /acs/v2/areq`, answered from Node's request event ahead of Koa (on
 * the main listener and the mutual-TLS one). It is the hot path, one request per authentication, and needs
 * nothing of the console stack: Koa's context, middleware chain and response handling cost 0.037 ms of the
 * bare baseline's 0.139 ms per request (measured), about a tenth of an AReq. What that stack did for this
 * endpoint is done here: the server-time histogram, the body limit (Erro 101), an Erro for anything
 * unexpected (`systemFailure`: 403, or 404 for a lasting storage fault; never a 5xx for an AReq), and the
 * durability barrier: no ARes before its writes are on disk, an Erro 404 instead when they cannot be (as the
 * other ACS endpoints answer; the console gets a 503 problem).
 *
 * Returns false for any other request, which Koa then takes (a GET here still gets its Erro 303 there).
 */
export function areqEndpoint(acs: AcsRuntime, durability: Durability, log: Logger) {
  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const labels: LatencyLabels = {}
    acs.latency.observe('POST', AREQ_PATH, res, labels)
    const before = durability.changes()
    let body: string
    try {
      const raw = (await readRequestBody(req, AREQ_LIMIT)).toString('utf8')
      const origin = `${(req.socket as TLSSocket).encrypted ? 'https' : 'http'}://${req.headers.host ?? ''}`
      const ares = (await acs.areq.handle(raw, origin, dsPeerOf(req))) as {
        acsTransID?: string
        acsURL?: string
      }
      // An acsURL in the ARes opens a browser challenge.
      if (ares.acsURL && ares.acsTransID)
        acs.latency.browserChallenge(labels, ares.acsTransID, { first: true })
      body = serializeMessage(ares)
    } catch (err) {
      const status = (err as { status?: number }).status
      if (status !== 413) log.error({ err, path: AREQ_PATH }, 'ACS endpoint failed')
      // An oversized body is the sender's fault (101); anything else is ours (`systemFailure`).
      body = serializeMessage(
        buildErro({
          ...(status === 413
            ? { code: ErrorCode.MESSAGE_INVALID, detail: 'message too large' }
            : systemFailure(err)),
          messageType: 'AReq',
          messageVersion: '2.2.0',
        }),
      )
    }
    if (durability.changes() !== before) {
      try {
        await durability.flush()
      } catch (err) {
        log.fatal({ err }, 'the database could not be synced to disk')
        body = serializeMessage(storageFailureErro('AReq'))
      }
    }
    send(res, body)
  }

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? ''
    const path = url.includes('?') ? url.slice(0, url.indexOf('?')) : url
    if (req.method !== 'POST' || path !== AREQ_PATH) return false
    void answer(req, res)
    return true
  }
}

function send(res: ServerResponse, body: string): void {
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  })
  res.end(body)
}
