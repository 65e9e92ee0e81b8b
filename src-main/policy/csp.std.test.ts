import { describe, expect, it } from 'vitest'
import { CONSOLE_CSP as SERVER_CONSOLE_CSP } from '../../src-server/http/guards'
import { CONSOLE_CSP, consoleSecurityHeaders } from './csp.std'

describe('CONSOLE_CSP', () => {
  it('is exactly the policy the server sends with the console in a browser', () => {
    expect(CONSOLE_CSP).toBe(SERVER_CONSOLE_CSP)
  })

  it('keeps the required directives', () => {
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ]) {
      expect(CONSOLE_CSP.split('; ')).toContain(directive)
    }
  })

  it('never allows inline code, eval or remote origins', () => {
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/)
  })

  it('is part of the security headers of static responses', () => {
    const headers = consoleSecurityHeaders()
    expect(headers['Content-Security-Policy']).toBe(CONSOLE_CSP)
    expect(headers['X-Content-Type-Options']).toBe('nosniff')
  })
})
