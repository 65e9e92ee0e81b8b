import { resolve } from 'node:path'
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test'
import QRCode from 'qrcode'
import { DeviceClient } from '../../src-renderer/authenticator/device-client'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'
import { REPO_ROOT } from '../helpers/process'
import { axePath, seriousViolations } from './axe'

/**
 * The mobile authenticator in Chromium, with separate browser contexts for the people involved: the
 * operator's console (activation QR code), the cardholder's phone (the installed authenticator, its own
 * IndexedDB and key) and the merchant's screen (checkout with the challenge page, or a payment screen with a
 * rotating QR code). "Scanning" a QR code is opening its link in the phone's context, after checking the
 * image shown encodes exactly that link. Every page runs under its CSP: a violation fails the test.
 */
let srv: TestServer
let token: string
let serial = 0

const api = async (path: string, init: RequestInit & { json?: unknown } = {}) => {
  const res = await srv.api(path, { ...init, token })
  const text = await res.text()
  expect(res.status, `${path}: ${text}`).toBeLessThan(300)
  return (text ? JSON.parse(text) : {}) as Record<string, unknown>
}

test.beforeAll(async () => {
  srv = await startTestServer({ consoleRoot: resolve(REPO_ROOT, 'out/renderer') })
  token = await srv.login(ADMIN.username, ADMIN.password)
  await api('/api/lab/demo', { method: 'POST' })
})
test.afterAll(async () => {
  await srv?.stop()
})

/** A context whose pages fail the test on any CSP violation, with axe-core available. */
async function context(browser: Browser): Promise<BrowserContext> {
  const ctx = await browser.newContext({ baseURL: srv.url })
  await ctx.addInitScript({ path: axePath })
  await ctx.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      ;(window as unknown as { cspViolations: string[] }).cspViolations ??= []
      ;(window as unknown as { cspViolations: string[] }).cspViolations.push(
        `${e.violatedDirective} ${e.blockedURI}`,
      )
    })
  })
  return ctx
}
const cspViolations = (page: Page) =>
  page.evaluate(() => (window as unknown as { cspViolations?: string[] }).cspViolations ?? [])

async function enrol(): Promise<{ id: number; pan: string; mobile: string; name: string }> {
  serial++
  const body = `497011${String(serial).padStart(9, '0')}`
  let sum = 0
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i])
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2
    sum += d
  }
  const pan = body + String((10 - (sum % 10)) % 10)
  const mobile = `+4477008${String(serial).padStart(5, '0')}`
  const name = `Phone Owner ${serial}`
  const view = await api('/api/cardholders', {
    method: 'POST',
    json: { pan, expiry: '3012', name, mobile, language: 'en', method: 'mobile-signature' },
  })
  return { id: view.id as number, pan, mobile, name }
}

/** The id of the last code each number was texted, so that the next call waits for a new one. */
const codesRead = new Map<string, number>()

/**
 * The next code texted to the number. A click returns before its request has run, and other texts (the fraud
 * alert after an authentication) come in between, so this waits for a newer message with a code in it.
 */
async function smsCode(mobile: string): Promise<string> {
  let code: { id: number; value: string } | undefined
  await expect
    .poll(
      async () => {
        const messages = (await api(
          `/api/virtual-phone/messages?to=${encodeURIComponent(mobile)}`,
        )) as unknown as {
          id: number
          direction: 'in' | 'out'
          text: string
        }[]
        const texted = messages.filter((m) => m.direction === 'out' && m.id > (codesRead.get(mobile) ?? 0))
        const latest = texted
          .map((m) => ({ id: m.id, match: /code (\d{6})/.exec(m.text) }))
          .findLast((m) => m.match)
        code = latest && { id: latest.id, value: latest.match![1] }
        return code !== undefined
      },
      { message: `a new code texted to ${mobile}` },
    )
    .toBe(true)
  codesRead.set(mobile, code!.id)
  return code!.value
}

/** The QR image must be exactly the QR code of the link printed next to it. */
async function expectQrOf(image: string, link: string): Promise<void> {
  const svg = await QRCode.toString(link, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
  expect(image).toBe(`data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`)
}

/** Activates the phone context through the console's QR code; returns the phone's page. */
async function activate(
  browser: Browser,
  holder: { name: string; mobile: string; pan: string },
  shots = false,
) {
  const operator = await (await context(browser)).newPage()
  await operator.goto('/')
  await operator.getByLabel('Username').fill(ADMIN.username)
  await operator.getByLabel('Password').fill(ADMIN.password)
  await operator.getByRole('button', { name: 'Sign in' }).click()
  await operator.goto('/#/devices')
  await operator.getByLabel('Last four digits, mobile number or name').fill(holder.name)
  await operator.getByRole('button', { name: 'Find' }).click()
  await operator.getByRole('button', { name: new RegExp(holder.name) }).click()
  await expect(operator.getByText('No authenticator activated.')).toBeVisible()
  await operator.getByRole('button', { name: 'Show an activation QR code' }).click()
  const qr = operator.getByRole('img', { name: `Activation QR code for ${holder.name}` })
  await expect(qr).toBeVisible()
  await operator.getByText('Link', { exact: true }).click()
  const link = (await operator.locator('code.link').textContent())!
  await expectQrOf((await qr.getAttribute('src'))!, link)
  if (shots) {
    await test.info().attach('console-devices-activation.png', {
      body: await operator.screenshot(),
      contentType: 'image/png',
    })
    expect(await seriousViolations(operator)).toEqual([])
  }
  expect(await cspViolations(operator)).toEqual([])

  const phone = await (await context(browser)).newPage()
  phone.on('dialog', (d) => void d.accept())
  await phone.goto(link)
  await expect(phone.getByRole('heading', { name: 'Activate' })).toBeVisible()
  await phone.getByLabel('Name of this phone').fill('My Pixel')
  await phone.getByRole('button', { name: 'Activate this phone' }).click()
  await expect(phone.getByLabel('Code from the SMS')).toBeVisible()
  if (shots) {
    await test
      .info()
      .attach('authenticator-code.png', { body: await phone.screenshot(), contentType: 'image/png' })
    expect(await seriousViolations(phone)).toEqual([])
  }
  await phone.getByLabel('Code from the SMS').fill(await smsCode(holder.mobile))
  await phone.getByRole('button', { name: 'Confirm' }).click()
  await expect(phone.getByText('No payment is waiting for your approval.')).toBeVisible()
  // The key is non-extractable and kept in IndexedDB: a reload still knows the device.
  await phone.reload()
  await expect(phone.getByText('No payment is waiting for your approval.')).toBeVisible()
  const extractable = await phone.evaluate(
    () =>
      new Promise<boolean>((done) => {
        const req = indexedDB.open('ims-authenticator', 1)
        req.onsuccess = () => {
          const get = req.result.transaction('device').objectStore('device').get('current')
          get.onsuccess = () => done((get.result as { keys: CryptoKeyPair }).keys.privateKey.extractable)
        }
      }),
  )
  expect(extractable).toBe(false)

  // The console now lists the device; the operator can revoke it later.
  await operator.getByRole('button', { name: new RegExp(holder.name) }).click()
  await expect(operator.getByRole('button', { name: 'Revoke My Pixel' })).toBeVisible()
  await operator.context().close()
  return phone
}

test('activation from the console’s QR code, then an approval on a rotating-QR payment screen', async ({
  browser,
}) => {
  const holder = await enrol()
  const phone = await activate(browser, holder, true)
  const manifest = await (await fetch(`${srv.url}/authenticator/manifest.webmanifest`)).json()
  expect(manifest).toMatchObject({ display: 'standalone', scope: '/authenticator/' })
  expect(
    await phone.evaluate(
      async () => (await navigator.serviceWorker.getRegistration('/authenticator/'))?.scope,
    ),
  ).toMatch(/\/authenticator\/$/)

  // A call-centre / terminal flow: decoupled authentication, the merchant's screen shows the rotating code.
  const purchase = await api('/api/lab/purchases', {
    method: 'POST',
    json: { pan: holder.pan, amount: 8990, flow: 'decoupled' },
  })
  expect((purchase.ares as Record<string, string>).transStatus).toBe('D')
  const screen = await api('/api/mobile/screens', {
    method: 'POST',
    json: { acsTransID: purchase.acsTransID },
  })
  const merchant = await (await context(browser)).newPage()
  await merchant.goto(String(screen.url))
  const qr = merchant.getByRole('img', { name: 'QR code to approve the payment' })
  await expect(qr).toBeVisible()
  await expect(merchant.getByText('EUR 89.90')).toBeVisible()
  await test
    .info()
    .attach('payment-screen.png', { body: await merchant.screenshot(), contentType: 'image/png' })
  expect(await seriousViolations(merchant)).toEqual([])

  // The remote tap is not enough: the phone shows the request but asks for the scan.
  const card = phone.locator(`[data-approval="${String(purchase.acsTransID)}"]`)
  await expect(card).toBeVisible()
  await expect(card.getByRole('button', { name: 'Approve' })).toBeDisabled()
  await expect(card.getByText('Scan the QR code on the payment screen')).toBeVisible()

  const link = (await qr.getAttribute('data-link'))!
  await expectQrOf((await qr.getAttribute('src'))!, link)
  await phone.goto(link)
  await expect(card.getByText('Scanned at the payment screen.')).toBeVisible()
  await test
    .info()
    .attach('authenticator-approval.png', { body: await phone.screenshot(), contentType: 'image/png' })
  expect(await seriousViolations(phone)).toEqual([])
  await card.getByRole('button', { name: 'Approve' }).click()
  await expect(phone.getByText('Payment approved.')).toBeVisible()
  await expect(merchant.getByText('Approved by the cardholder')).toBeVisible()
  const rreqs = (await api(`/api/lab/purchases/${String(purchase.id)}`)).rreqs as Record<string, unknown>[]
  expect(rreqs[0]).toMatchObject({ transStatus: 'Y' })
  expect(await cspViolations(phone)).toEqual([])
  expect(await cspViolations(merchant)).toEqual([])
})

test('MOTO through the channel API: the call centre’s screen shows the code, the phone scans and approves', async ({
  browser,
}) => {
  const holder = await enrol()
  const phone = await activate(browser, holder)
  const client = await api('/api/channel-clients', {
    method: 'POST',
    json: { name: 'Call centre e2e', channels: ['MOTO'] },
  })
  const asClient = async (path: string, json?: unknown) => {
    const res = await srv.api(path, {
      method: json === undefined ? 'GET' : 'POST',
      headers: { authorization: `App ${String(client.apiKey)}` },
      ...(json === undefined ? {} : { json }),
    })
    expect(res.status, path).toBeLessThan(300)
    return (await res.json()) as Record<string, unknown>
  }
  const request = await asClient('/api/v1/auth-requests', {
    channel: 'MOTO',
    pan: holder.pan,
    amount: '129.00',
    currency: 'EUR',
    merchant: 'Phone Order Desk',
  })
  expect(request).toMatchObject({ method: 'mobile-signature', interaction: 'approval' })

  const desk = await (await context(browser)).newPage()
  await desk.goto((request.screen as { path: string }).path)
  const qr = desk.getByRole('img', { name: 'QR code to approve the payment' })
  await expect(qr).toBeVisible()
  await expect(desk.getByText('EUR 129.00')).toBeVisible()
  await test.info().attach('moto-screen.png', { body: await desk.screenshot(), contentType: 'image/png' })
  expect(await seriousViolations(desk)).toEqual([])

  const link = (await qr.getAttribute('data-link'))!
  await expectQrOf((await qr.getAttribute('src'))!, link)
  await phone.goto(link)
  const card = phone.locator(`[data-approval="${String(request.id)}"]`)
  await expect(card.getByText('Order by phone or mail')).toBeVisible()
  await expect(card.getByText('Scanned at the payment screen.')).toBeVisible()
  await test
    .info()
    .attach('authenticator-moto.png', { body: await phone.screenshot(), contentType: 'image/png' })
  expect(await seriousViolations(phone)).toEqual([])
  await card.getByRole('button', { name: 'Approve' }).click()
  await expect(phone.getByText('Payment approved.')).toBeVisible()
  await expect(desk.getByText('Approved by the cardholder')).toBeVisible()
  expect((await asClient(`/api/v1/auth-requests/${String(request.id)}`)).status).toBe('authenticated')
  expect(await cspViolations(phone)).toEqual([])
  expect(await cspViolations(desk)).toEqual([])
})

test('the QR code on the payment screen changes with each period', async ({ browser }) => {
  const holder = await enrol()
  // The approval (and so its screen) exists only for a cardholder with an active authenticator: without one
  // the ACS falls back to SMS OTP. A phone simulated in Node (the authenticator's own protocol code) will do.
  const { link } = await api(`/api/mobile/cardholders/${holder.id}/activations`, { method: 'POST' })
  const phone = new DeviceClient(srv.url)
  await phone.activate(new URL(String(link)).hash.replace(/^#activate=/, ''), 'Node phone', {
    platform: 'Linux',
    userAgent: 'playwright',
    screen: '412x915@2.6',
    timeZone: 'Europe/Paris',
  })
  await phone.confirm(await smsCode(holder.mobile))
  await api('/api/mobile/settings', { method: 'PUT', json: { qrPeriodSeconds: 1 } })
  try {
    const purchase = await api('/api/lab/purchases', {
      method: 'POST',
      json: { pan: holder.pan, amount: 100, flow: 'decoupled' },
    })
    const screen = await api('/api/mobile/screens', {
      method: 'POST',
      json: { acsTransID: purchase.acsTransID },
    })
    const merchant = await (await context(browser)).newPage()
    await merchant.goto(String(screen.url))
    const qr = merchant.getByRole('img', { name: 'QR code to approve the payment' })
    const first = await qr.getAttribute('data-link')
    await expect(qr).not.toHaveAttribute('data-link', first!, { timeout: 5000 })
  } finally {
    await api('/api/mobile/settings', { method: 'PUT', json: { qrPeriodSeconds: 30 } })
  }
})

test('decline and “this wasn’t me” from the authenticator', async ({ browser }) => {
  const holder = await enrol()
  const phone = await activate(browser, holder)
  const first = await api('/api/lab/purchases', {
    method: 'POST',
    json: { pan: holder.pan, amount: 1500, flow: 'decoupled' },
  })
  const card = phone.locator(`[data-approval="${String(first.acsTransID)}"]`)
  await card.getByRole('button', { name: 'Decline' }).click()
  await expect(phone.getByText('Payment declined.')).toBeVisible()
  expect(((await api(`/api/lab/purchases/${String(first.id)}`)).rreqs as unknown[])[0]).toMatchObject({
    transStatus: 'N',
  })

  const second = await api('/api/lab/purchases', {
    method: 'POST',
    json: { pan: holder.pan, amount: 99900, flow: 'decoupled' },
  })
  await phone
    .locator(`[data-approval="${String(second.acsTransID)}"]`)
    .getByRole('button', { name: 'This wasn’t me' })
    .click()
  await expect(phone.getByText('Payment refused and your card blocked.')).toBeVisible()
  const after = await api('/api/lab/purchases', {
    method: 'POST',
    json: { pan: holder.pan, amount: 100, flow: 'challenge' },
  })
  expect(after.ares).toMatchObject({ transStatus: 'R', transStatusReason: '11' })
})

test('browser challenge: the page shows the rotating QR code and continues by itself after the tap', async ({
  browser,
}) => {
  const holder = await enrol()
  const phone = await activate(browser, holder)
  const merchant = await (await context(browser)).newPage()

  // Tap on the pushed request: the challenge page in the merchant's iframe finishes on its own.
  const first = await api('/api/lab/purchases', {
    method: 'POST',
    json: { pan: holder.pan, amount: 2599, flow: 'challenge' },
  })
  await merchant.goto(`${srv.url.replace('127.0.0.1', 'localhost')}${String(first.checkoutUrl)}`)
  const frame = merchant.frameLocator('iframe[name="acs-challenge"]')
  const qr = frame.getByRole('img', { name: 'QR code of this payment' })
  await expect(qr).toHaveAttribute('src', /^data:image\/svg\+xml;base64,/)
  await test
    .info()
    .attach('challenge-page-qr.png', { body: await merchant.screenshot(), contentType: 'image/png' })
  const card = phone.locator(`[data-approval="${String(first.acsTransID)}"]`)
  await card.getByRole('button', { name: 'Approve' }).click()
  await expect(merchant.locator('#result')).toHaveText('Authentication result: Y')
  const rreqs = (await api(`/api/lab/purchases/${String(first.id)}`)).rreqs as Record<string, unknown>[]
  expect(rreqs).toHaveLength(1)
  expect(rreqs[0]).toMatchObject({ transStatus: 'Y', authenticationType: '03' })

  // Scanning the code on the challenge page binds the approval to that page.
  const second = await api('/api/lab/purchases', {
    method: 'POST',
    json: { pan: holder.pan, amount: 4200, flow: 'challenge' },
  })
  await merchant.goto(`${srv.url.replace('127.0.0.1', 'localhost')}${String(second.checkoutUrl)}`)
  await expect(qr).toHaveAttribute('data-link', /#poi=/)
  const link = (await qr.getAttribute('data-link'))!
  await expectQrOf((await qr.getAttribute('src'))!, link)
  await phone.goto(link)
  const scanned = phone.locator(`[data-approval="${String(second.acsTransID)}"]`)
  await expect(scanned.getByText('Scanned at the payment screen.')).toBeVisible()
  await scanned.getByRole('button', { name: 'Approve' }).click()
  await expect(merchant.locator('#result')).toHaveText('Authentication result: Y')
  const stats = await api('/api/mobile/statistics')
  expect((stats.scannedShare as number) > 0).toBe(true)
})

test('activation from the challenge page: after the SMS code, its QR code sets up the phone, then back to the merchant', async ({
  browser,
}) => {
  // Enrolled for the mobile signature without a device: the challenge falls back to an SMS code.
  const holder = await enrol()
  const purchase = await api('/api/lab/purchases', {
    method: 'POST',
    json: { pan: holder.pan, amount: 3150, flow: 'challenge', challengeWindowSize: '02' },
  })
  const merchant = await (await context(browser)).newPage()
  await merchant.goto(`${srv.url.replace('127.0.0.1', 'localhost')}${String(purchase.checkoutUrl)}?size=02`)
  const frame = merchant.frameLocator('iframe[name="acs-challenge"]')
  // The code is texted when the challenge page opens.
  await expect(frame.getByLabel('One-time code')).toBeVisible()
  await frame.getByLabel('One-time code').fill(await smsCode(holder.mobile))
  await frame.getByRole('button', { name: 'Submit' }).click()

  const qr = frame.getByRole('img', { name: 'QR code to set up the authenticator' })
  await expect(qr).toBeVisible()
  const link = (await qr.getAttribute('data-link'))!
  await expectQrOf((await qr.getAttribute('src'))!, link)
  await expect(frame.getByRole('link', { name: 'Set up on this phone' })).toHaveAttribute('href', link)
  // The page waits for the cardholder (the RReq has already gone): nothing posted to the merchant yet.
  await expect(merchant.locator('#result')).not.toHaveText(/Authentication result/)
  const challengeFrame = merchant.frame({ name: 'acs-challenge' })!
  expect(await seriousViolations(challengeFrame as unknown as Page)).toEqual([])
  await test
    .info()
    .attach('challenge-activation-offer.png', { body: await merchant.screenshot(), contentType: 'image/png' })

  // The phone scans it: the token is the first factor, the activation's own SMS code the second.
  const phone = await (await context(browser)).newPage()
  phone.on('dialog', (d) => void d.accept())
  await phone.goto(link)
  await phone.getByLabel('Name of this phone').fill('Checkout phone')
  await phone.getByRole('button', { name: 'Activate this phone' }).click()
  await phone.getByLabel('Code from the SMS').fill(await smsCode(holder.mobile))
  await phone.getByRole('button', { name: 'Confirm' }).click()
  await expect(phone.getByText('No payment is waiting for your approval.')).toBeVisible()

  await frame.getByRole('button', { name: 'Return to the merchant' }).click()
  await expect(merchant.locator('#result')).toHaveText('Authentication result: Y')
  expect(await cspViolations(merchant)).toEqual([])
  expect(await cspViolations(phone)).toEqual([])

  // The next purchase goes to the new phone.
  const next = await api('/api/lab/purchases', {
    method: 'POST',
    json: { pan: holder.pan, amount: 1200, flow: 'decoupled' },
  })
  await expect(phone.locator(`[data-approval="${String(next.acsTransID)}"]`)).toBeVisible()
})
