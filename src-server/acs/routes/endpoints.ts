import { createHash } from 'node:crypto'
import type { Context, Next } from 'koa'
import { readRawBody } from '../../http/body'
import type { Logger } from '../../log'
import { renderMethodResponsePage } from '../challenge-ui/pages'
import { buildErro, ErrorCode, type Erro, type ErroMessageType } from '../protocol/erro'
import { parseThreeDSMethodData } from '../protocol/method'
import { serializeMessage } from '../protocol/serialize'
import { STORAGE_FAILURE, systemFailure } from '../protocol/system-failure'
import type { AcsRuntime } from '../runtime'

const JOSE_LIMIT = 64 * 1024
const FORM_LIMIT = 32 * 1024

function json(ctx: Context, message: object): void {
  ctx.status = 200
  ctx.set('Cache-Control', 'no-store')
  ctx.type = 'application/json; charset=utf-8'
  ctx.body = serializeMessage(message)
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`
}

/**
 * The challenge pages run inside the requestor's cross-origin iframe: framing is allowed (no
 * X-Frame-Options and no frame-ancestors directive: `frame-ancestors *` would still refuse the opaque-origin
 * parents that 3DS Server scripts create with about:blank or srcdoc iframes), nothing loads from elsewhere,
 * and only this page's own inline style and script run (by hash). Forms may post here and, on the final page, to the notificationURL.
 */
export function challengePageHeaders(ctx: Context, html: string, formTarget?: string): void {
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => sha256(m[1]))
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => sha256(m[1]))
  let target = ''
  if (formTarget) {
    try {
      target = ` ${new URL(formTarget).origin}`
    } catch {
      target = ''
    }
  }
  ctx.set(
    'Content-Security-Policy',
    [
      "default-src 'none'",
      `script-src ${scripts.join(' ') || "'none'"}`,
      `style-src ${styles.join(' ') || "'none'"}`,
      'img-src data:',
      // The out-of-band page polls its own status endpoint.
      "connect-src 'self'",
      `form-action 'self'${target}`,
      "base-uri 'none'",
    ].join('; '),
  )
  ctx.set('X-Content-Type-Options', 'nosniff')
  ctx.set('Referrer-Policy', 'no-referrer')
  ctx.set('Cache-Control', 'no-store')
  ctx.status = 200
  ctx.type = 'text/html; charset=utf-8'
  ctx.body = html
}

/** The endpoints answered here (POST /acs/v2/areq is `areq-endpoint.ts`, ahead of Koa). */
const ERRO_TYPE: Record<string, ErroMessageType> = {
  '/acs/v2/challenge': 'CReq',
  '/acs/v2/app': 'CReq',
}

/**
 * What an ACS endpoint answers when what it wrote could not be made durable (its answer would acknowledge
 * it): Erro 404, whatever the sync's error. A failed sync is permanent: the kernel may already have dropped
 * the pages it could not write (and cleared the error), so a later sync that succeeds says nothing about
 * them; SQLite classes its own failed fsync (SQLITE_IOERR_FSYNC) the same way.
 */
export function storageFailureErro(messageType: ErroMessageType): object {
  return buildErro({ ...STORAGE_FAILURE, messageType, messageVersion: '2.2.0' })
}

/**
 * The EMV 3DS endpoints, outside the console stack: no session, no console headers, and whatever happens
 * the counterparty gets a proper answer (an Erro, never a 5xx or a stack trace).
 */
export function acsEndpoints(acs: AcsRuntime, log: Logger) {
  /** Answers a CReq with an Erro, kept in the ledger with the transaction it names (if any). */
  function sendErro(ctx: Context, erro: Erro): void {
    acs.ledger.message(erro, 'Erro', 'out', erro)
    json(ctx, erro)
  }

  return async (ctx: Context, next: Next) => {
    if (!ctx.path.startsWith('/acs/')) return next()
    acs.latency.observe(ctx.method, ctx.path, ctx.res, ctx.state)
    // Writes that cannot be made durable: an Erro 404 (permanent system failure), never a 5xx.
    ctx.state.onStorageFailure = () => json(ctx, storageFailureErro(ERRO_TYPE[ctx.path] ?? 'CReq'))
    const base = acs.settings.get().publicBaseUrl
    try {
      if (ctx.method === 'GET' && ctx.path === '/acs/v2/challenge/status') {
        const status = acs.flow.pollStatus(
          String(ctx.query.acsTransID ?? ''),
          ctx.query.nonce?.toString() ?? null,
        )
        ctx.set('Cache-Control', 'no-store')
        ctx.status = status ? 200 : 404
        ctx.type = 'application/json; charset=utf-8'
        ctx.body = JSON.stringify(status ?? { done: false })
        return
      }
      if (ctx.method !== 'POST' || !(ctx.path in ERRO_TYPE || ctx.path === '/acs/v2/method')) {
        ctx.status = 404
        ctx.type = 'application/json; charset=utf-8'
        ctx.body = serializeMessage(buildErro({ code: '303', detail: 'endpoint', messageVersion: '2.2.0' }))
        return
      }
      switch (ctx.path) {
        case '/acs/v2/challenge': {
          const form = new URLSearchParams((await readRawBody(ctx, FORM_LIMIT)).toString('utf8'))
          if (form.has('creq')) acs.latency.label(ctx.state, 'browserCReq')
          const answer = await acs.flow.browser(
            form,
            base ? `${base}/acs/v2/challenge` : '/acs/v2/challenge',
            base ?? `${ctx.protocol}://${ctx.host}`,
          )
          if (answer.kind === 'erro') return sendErro(ctx, answer.erro)
          acs.latency.browserChallenge(ctx.state, answer.acsTransID, { final: answer.final })
          return challengePageHeaders(ctx, answer.html, answer.formTarget)
        }
        case '/acs/v2/app': {
          const answer = await acs.flow.app((await readRawBody(ctx, JOSE_LIMIT)).toString('utf8'))
          if (answer.kind === 'erro') return sendErro(ctx, answer.erro)
          if (answer.kind === 'ended') {
            ctx.status = 204
            return
          }
          ctx.status = 200
          ctx.set('Cache-Control', 'no-store')
          ctx.type = 'application/jose; charset=utf-8'
          ctx.body = answer.jwe
          return
        }
        case '/acs/v2/method': {
          const form = new URLSearchParams((await readRawBody(ctx, FORM_LIMIT)).toString('utf8'))
          const field = form.get('threeDSMethodData') ?? ''
          const parsed = parseThreeDSMethodData(field, { allowHttpLoopback: true })
          if (!parsed.ok) {
            ctx.status = 400
            ctx.type = 'text/plain; charset=utf-8'
            ctx.body = `Invalid threeDSMethodData: ${parsed.problem}`
            return
          }
          const html = renderMethodResponsePage({
            notificationURL: parsed.data.threeDSMethodNotificationURL,
            threeDSMethodData: field,
          })
          return challengePageHeaders(ctx, html, parsed.data.threeDSMethodNotificationURL)
        }
      }
    } catch (err) {
      const e = err as { status?: number; message?: string }
      if (!(e.status && e.status < 500)) log.error({ err, path: ctx.path }, 'ACS endpoint failed')
      // An oversized body is the sender's fault (101); anything else is ours (`systemFailure`).
      json(
        ctx,
        buildErro({
          ...(e.status === 413
            ? { code: ErrorCode.MESSAGE_INVALID, detail: 'message too large' }
            : systemFailure(err)),
          messageType: ERRO_TYPE[ctx.path],
          messageVersion: '2.2.0',
        }),
      )
    }
  }
}
