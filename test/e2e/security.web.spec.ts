import { request as httpRequest } from 'node:http'
import { E2E_ADMIN, e2eBaseUrl } from './server-fixture'
import { expect, test } from './console'
import { AREAS } from '../../src-renderer/src/lib/areas'

const REQUIRED_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
]

/** A raw request, so Host and Origin can be set to what a DNS-rebinding page or another site would send. */
function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string }> {
  const base = new URL(e2eBaseUrl())
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: base.hostname, port: base.port, method, path, headers }, (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => (text += chunk.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

test.describe('security', () => {
  test('the console is served with the strict CSP header', async ({ page }) => {
    const response = await page.goto('/')
    const csp = response?.headers()['content-security-policy'] ?? ''
    expect(csp.split(/;\s*/)).toEqual(expect.arrayContaining(REQUIRED_CSP))
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/)
  })

  test('the built console runs under the CSP: styles apply and nothing is blocked on any page', async ({
    consolePage,
    page,
  }) => {
    await consolePage.open()
    // The stylesheet is a file, so the CSP lets it in: the login card is laid out by it.
    await expect(page.locator('.login')).toHaveCSS('display', 'grid')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await expect(page.locator('.frame')).toHaveCSS('display', 'grid')
    for (const area of AREAS) {
      await consolePage.navLink(area.label).click()
      await expect(consolePage.heading).toHaveText(area.label)
    }
    // The automatic page guard then asserts that no securitypolicyviolation event fired.
    expect(await page.evaluate(() => window.__cspViolations)).toEqual([])
  })

  test('the API rejects a missing or invented token', async ({ request }) => {
    const missing = await request.get('/api/session')
    expect(missing.status()).toBe(401)
    expect(missing.headers()['content-type']).toContain('application/problem+json')
    expect((await missing.json()).title).toBeTruthy()

    const invented = await request.get('/api/session', {
      headers: { Authorization: 'Bearer invented-token' },
    })
    expect(invented.status()).toBe(401)
  })

  test('the API rejects a foreign Host and a foreign Origin', async () => {
    const base = new URL(e2eBaseUrl())
    const badHost = await rawRequest('GET', '/api/session', { Host: `evil.example:${base.port}` })
    expect(badHost.status).toBe(421)

    const credentials = JSON.stringify(E2E_ADMIN)
    const foreignOrigin = await rawRequest(
      'POST',
      '/api/session',
      { Host: base.host, Origin: 'https://evil.example', 'Content-Type': 'application/json' },
      credentials,
    )
    expect(foreignOrigin.status).toBe(403)
    expect(foreignOrigin.body).not.toContain('token')
  })
})
