import { expect, test } from '@playwright/test'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'

/**
 * The browser challenge in Chromium, as a cardholder meets it: the lab merchant page (served as
 * http://localhost:PORT) frames the ACS challenge (acsURL on http://127.0.0.1:PORT, another origin), the
 * cardholder types the code from the virtual phone, the final page posts the CRes to the merchant's
 * notificationURL, and the lab DS has received exactly one RReq. One screenshot per challengeWindowSize.
 * Starts its own server, so it needs no global set-up.
 */
let srv: TestServer
let token: string

const api = async (path: string, init: RequestInit & { json?: unknown } = {}) => {
  const res = await srv.api(path, { ...init, token })
  const text = await res.text()
  expect(res.status, `${path}: ${text}`).toBeLessThan(300)
  return JSON.parse(text) as Record<string, unknown>
}

test.beforeAll(async () => {
  srv = await startTestServer()
  token = await srv.login(ADMIN.username, ADMIN.password)
  await api('/api/lab/demo', { method: 'POST' })
})
test.afterAll(async () => {
  await srv?.stop()
})

const PAN = '4000000000000002'
const MOBILE = '+447700900002'

for (const size of ['01', '02', '03', '04', '05'] as const) {
  test(`challenge in a cross-origin iframe, challengeWindowSize ${size}`, async ({ page }, testInfo) => {
    const purchase = await api('/api/lab/purchases', {
      method: 'POST',
      json: { pan: PAN, amount: 4999, flow: 'challenge', challengeWindowSize: size },
    })
    const ares = purchase.ares as Record<string, string>
    expect(ares.transStatus).toBe('C')
    expect(new URL(ares.acsURL).hostname).toBe('127.0.0.1')
    const merchant = `${srv.url.replace('127.0.0.1', 'localhost')}${String(purchase.checkoutUrl)}?size=${size}`
    await page.goto(merchant)
    const frame = page.frameLocator('iframe[name="acs-challenge"]')
    const input = frame.getByLabel('One-time code')
    await expect(input).toBeVisible()
    await expect(frame.locator('input[type="text"]')).toHaveCount(1)
    for (const label of ['Submit', 'Resend code', 'Cancel'])
      await expect(frame.getByRole('button', { name: label })).toBeVisible()
    await testInfo.attach(`challenge-window-${size}.png`, {
      body: await page.screenshot(),
      contentType: 'image/png',
    })

    const messages = (await api(
      `/api/virtual-phone/messages?to=${encodeURIComponent(MOBILE)}`,
    )) as unknown as { text: string }[]
    const code = /code (\d{6})/.exec(messages.at(-1)!.text)![1]
    await input.fill(code)
    await frame.getByRole('button', { name: 'Submit' }).click()
    await expect(page.locator('#result')).toHaveText('Authentication result: Y')

    const done = await api(`/api/lab/purchases/${String(purchase.id)}`)
    expect(done.notification).toMatchObject({
      cres: { transStatus: 'Y', challengeCompletionInd: 'Y' },
      sessionDataIntact: true,
    })
    const rreqs = done.rreqs as Record<string, unknown>[]
    expect(rreqs).toHaveLength(1)
    expect(rreqs[0]).toMatchObject({ transStatus: 'Y', interactionCounter: '01' })
  })
}
