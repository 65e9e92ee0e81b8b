/**
 * The console's Content-Security-Policy. It is sent as a response header (a `<meta>` tag cannot carry
 * `frame-ancestors` and applies too late), by the `app://` protocol handler in the desktop app and by the Koa
 * server in the browser; the unit test keeps the two identical. The built renderer has no inline scripts or styles, so nothing needs 'unsafe-inline'.
 */
const CONSOLE_CSP_DIRECTIVES: ReadonlyArray<readonly [string, string]> = [
  ['default-src', "'none'"],
  ['script-src', "'self'"],
  ['style-src', "'self'"],
  ['img-src', "'self' data:"],
  ['font-src', "'self'"],
  ['connect-src', "'self'"],
  ['manifest-src', "'self'"],
  ['frame-ancestors', "'none'"],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
]

export const CONSOLE_CSP = CONSOLE_CSP_DIRECTIVES.map(([name, value]) => `${name} ${value}`).join('; ')

/** Headers for every static console response served by the protocol handler. */
export function consoleSecurityHeaders(): Record<string, string> {
  return {
    'Content-Security-Policy': CONSOLE_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
  }
}
