import { expect, test, type Page } from '@playwright/test'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'
import { axePath, seriousViolations } from './axe'

/**
 * The browser challenge in Chromium, as a cardholder meets it: the lab merchant page (served as
 * http://localhost:PORT) frames the ACS challenge (acsURL on http://127.0.0.1:PORT, another origin), the
 * cardholder types the code from the virtual phone, the final page posts the CRes to the merchant's
 * notificationURL, and the lab DS has received exactly one RReq. One screenshot per challengeWindowSize.
 * Then the trust-list offer on the same page. Starts its own server, so it needs no global set-up.
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

test('the trust-list offer: a labelled checkbox, axe-clean; ticked with the right code → the next purchase is frictionless', async ({
  page,
}, testInfo) => {
  // Another card than above, so its trust list starts empty; challenge indicator 01: the rules decide.
  const pan = '2223000048410010'
  const mobile = '+447700900004'
  const purchase = await api('/api/lab/purchases', {
    method: 'POST',
    json: { pan, amount: 4999, flow: 'auto', challengeWindowSize: '03' },
  })
  expect((purchase.ares as Record<string, string>).transStatus).toBe('C')
  await page.addInitScript({ path: axePath })
  await page.goto(`${srv.url.replace('127.0.0.1', 'localhost')}${String(purchase.checkoutUrl)}?size=03`)
  const frame = page.frameLocator('iframe[name="acs-challenge"]')
  const trust = frame.getByLabel('Trust Lab Merchant — skip the code next time')
  await expect(trust).toBeVisible()
  await expect(trust).not.toBeChecked()
  // The helper only calls evaluate(), which the frame has with the page's signature: axe runs inside the frame.
  const challengeFrame = page.frame({ name: 'acs-challenge' })!
  expect(await seriousViolations(challengeFrame as unknown as Page)).toEqual([])
  await testInfo.attach('challenge-trust-offer.png', {
    body: await page.screenshot(),
    contentType: 'image/png',
  })

  await trust.check()
  const messages = (await api(`/api/virtual-phone/messages?to=${encodeURIComponent(mobile)}`)) as unknown as {
    text: string
  }[]
  await frame.getByLabel('One-time code').fill(/code (\d{6})/.exec(messages.at(-1)!.text)![1])
  await frame.getByRole('button', { name: 'Submit' }).click()
  await expect(page.locator('#result')).toHaveText('Authentication result: Y')
  const done = await api(`/api/lab/purchases/${String(purchase.id)}`)
  expect((done.rreqs as Record<string, unknown>[])[0]).toMatchObject({
    transStatus: 'Y',
    whiteListStatus: 'Y',
    whiteListStatusSource: '03',
  })

  const next = await api('/api/lab/purchases', { method: 'POST', json: { pan, amount: 4999, flow: 'auto' } })
  expect(next.ares).toMatchObject({ transStatus: 'Y', whiteListStatus: 'Y', whiteListStatusSource: '03' })
})
