import type { Context, Next } from 'koa'
import { HttpProblem } from './problem'

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

/**
 * The console API listens on loopback, where every local process and (through DNS rebinding) every web
 * page can reach it. Requests must name this server in `Host`, and a browser `Origin`, when sent, must be
 * this same origin: no CORS, ever.
 */
export function hostAndOriginGuard(options: { host: string; allowedHosts: string[] }) {
  const names = new Set([
    ...LOOPBACK_NAMES,
    options.host.toLowerCase(),
    ...options.allowedHosts.map((h) => h.toLowerCase()),
  ])
  return async (ctx: Context, next: Next) => {
    const hostHeader = (ctx.get('host') || '').toLowerCase()
    const port = String(ctx.req.socket.localPort ?? '')
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader)
    if (!m || !names.has(m[1]) || (m[2] ?? '80') !== port) {
      throw new HttpProblem(421, 'Misdirected request', 'The Host header does not name this server')
    }
    const origin = ctx.get('origin')
    if (origin && origin !== `http://${hostHeader}` && origin !== `https://${hostHeader}`) {
      throw new HttpProblem(403, 'Forbidden origin', 'Cross-origin requests to the console API are refused')
    }
    await next()
  }
}

/** The operator console's strict content security policy (the ACS challenge pages have their own). */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
  "manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

export function consoleSecurityHeaders() {
  return async (ctx: Context, next: Next) => {
    await next()
    ctx.set('Content-Security-Policy', CONSOLE_CSP)
    ctx.set('X-Content-Type-Options', 'nosniff')
    ctx.set('Referrer-Policy', 'no-referrer')
    ctx.set('X-Frame-Options', 'DENY')
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin')
    ctx.set('Cross-Origin-Resource-Policy', 'same-origin')
    ctx.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), usb=(), serial=(), hid=()')
    if (!ctx.response.get('Cache-Control')) ctx.set('Cache-Control', 'no-store')
  }
}
