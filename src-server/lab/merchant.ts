import { createHash } from 'node:crypto'
import type { Context, Next } from 'koa'
import { readRawBody } from '../http/body'
import { escapeHtml as e } from '../acs/challenge-ui/escape'
import { browserCReq, type LabPurchases } from './three-ds-server'

const SIZES: Record<string, [number, number]> = {
  '01': [250, 400],
  '02': [390, 400],
  '03': [500, 600],
  '04': [600, 400],
  '05': [800, 640],
}

const hash = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`

function html(
  ctx: Context,
  title: string,
  style: string,
  body: string,
  script: string,
  policy: string,
): void {
  ctx.status = 200
  ctx.type = 'text/html; charset=utf-8'
  ctx.set('Cache-Control', 'no-store')
  ctx.set('X-Content-Type-Options', 'nosniff')
  ctx.set(
    'Content-Security-Policy',
    `default-src 'none'; script-src ${hash(script)}; style-src ${hash(style)}; ${policy}; base-uri 'none'`,
  )
  ctx.body = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${e(title)}</title><style>${style}</style></head>
<body>${body}<script>${script}</script></body></html>`
}

const STYLE =
  'body{font:15px system-ui,sans-serif;margin:16px;color:#1b1b1b}iframe{border:1px solid #767676;display:block}'

/**
 * The lab merchant and the lab DS endpoint, served outside the console (a merchant page is a third-party
 * site: it frames the ACS challenge from another origin and receives the CRes at its notificationURL).
 */
export function labEndpoints(purchases: LabPurchases) {
  return async (ctx: Context, next: Next) => {
    if (!ctx.path.startsWith('/lab/')) return next()
    if (ctx.method === 'POST' && ctx.path === '/lab/ds/rreq') {
      let answer: Record<string, unknown>
      try {
        answer = purchases.receiveRReq((await readRawBody(ctx, 64 * 1024)).toString('utf8'))
      } catch {
        answer = {
          messageType: 'Erro',
          messageVersion: '2.2.0',
          errorCode: '101',
          errorComponent: 'D',
          errorDescription: 'Message Received Invalid',
          errorDetail: 'JSON',
          errorMessageType: 'RReq',
        }
      }
      // The lab DS stands in for a remote directory server: its copy of the RReq is a trace for the lab page,
      // and its RRes acknowledges nothing of ours, so it answers without waiting for the disk (as the DS's own
      // storage would not be the ACS's to wait for).
      ctx.state.acknowledgesNothing = true
      ctx.status = 200
      ctx.type = 'application/json; charset=utf-8'
      ctx.body = JSON.stringify(answer)
      return
    }
    const checkout = /^\/lab\/merchant\/checkout\/([0-9a-f-]{36})$/.exec(ctx.path)
    if (ctx.method === 'GET' && checkout) {
      const p = purchases.get(checkout[1])
      const acsURL = p?.ares?.acsURL
      if (!p || typeof acsURL !== 'string') return next()
      const size = typeof ctx.query.size === 'string' && ctx.query.size in SIZES ? ctx.query.size : '05'
      const [w, h] = SIZES[size]
      const amount = `${p.areq.purchaseCurrency} ${p.areq.purchaseAmount} (minor units)`
      const script = `window.addEventListener('message',function(m){if(m.data&&m.data.labResult){document.getElementById('result').textContent='Authentication result: '+m.data.labResult}});document.getElementById('challenge').submit();`
      const body = `<h1>Lab Merchant checkout</h1>
<p>Paying ${e(amount)} with card ${e(String(p.areq.acctNumber))}.</p>
<form id="challenge" method="post" action="${e(acsURL)}" target="acs-challenge">
<input type="hidden" name="creq" value="${e(browserCReq(p.ares!, size))}">
${p.threeDSSessionData ? `<input type="hidden" name="threeDSSessionData" value="${e(p.threeDSSessionData)}">` : ''}
</form>
<iframe name="acs-challenge" id="acs-challenge" title="Card issuer authentication" width="${w}" height="${h}"></iframe>
<p id="result" role="status"></p>`
      const acsOrigin = new URL(acsURL).origin
      return html(
        ctx,
        'Lab Merchant checkout',
        STYLE,
        body,
        script,
        `frame-src ${acsOrigin}; form-action ${acsOrigin}`,
      )
    }
    const notify = /^\/lab\/merchant\/notify\/([0-9a-f-]{36})$/.exec(ctx.path)
    if (ctx.method === 'POST' && notify) {
      const form = new URLSearchParams((await readRawBody(ctx, 64 * 1024)).toString('utf8'))
      const cres = form.get('cres') ?? ''
      let status = 'unreadable CRes'
      try {
        status = String(
          (JSON.parse(Buffer.from(cres, 'base64url').toString('utf8')) as { transStatus?: string })
            .transStatus,
        )
      } catch {
        // shown as is
      }
      if (!purchases.notified(notify[1], cres, form.get('threeDSSessionData') ?? undefined)) return next()
      const script = `parent.postMessage({labResult:${JSON.stringify(status).replace(/</g, '\\u003c')}},'*');`
      return html(
        ctx,
        'Lab Merchant',
        STYLE,
        `<p role="status">Authentication finished: transStatus ${e(status)}</p>`,
        script,
        'frame-ancestors *',
      )
    }
    return next()
  }
}
