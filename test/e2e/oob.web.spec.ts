import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { Page } from '@playwright/test'
import { findConsoleRoot } from '../../src-server/http/static'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'
import { expect, test } from './console'

/**
 * Out-of-band authentication in Chromium. SMS Push A: the challenge page in the merchant's cross-origin
 * iframe shows a reference and waits; the cardholder's reply is injected through the virtual phone API and
 * the page finishes by itself (its poll presses Continue). The fraud queue: a FRAUD reply's report is
 * reviewed and released with the keyboard alone, axe-clean, with a screenshot of each.
 */
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js')

async function seriousViolations(page: Page): Promise<string[]> {
  const { violations } = await page.evaluate(() =>
    (
      window as unknown as {
        axe: {
          run(
            c: unknown,
            o: unknown,
          ): Promise<{ violations: { id: string; impact: string | null; help: string }[] }>
        }
      }
    ).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice'] },
    }),
  )
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help}`)
}

test.describe('SMS Push A in the browser', () => {
  let srv: TestServer
  let token: string
  const PAN = '2223000048410010'
  const MOBILE = '+447700900004'

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
    const id = srv.services.db
      .prepare('SELECT id FROM cardholders WHERE mobile = ?')
      .pluck()
      .get(MOBILE) as number
    srv.services.cardholders.update(id, { method: 'sms-reply', reason: 'e2e' }, 'test')
  })
  test.afterAll(async () => {
    await srv?.stop()
  })

  test('the page waits for the reply and finishes by itself', async ({ page }, testInfo) => {
    const purchase = await api('/api/lab/purchases', {
      method: 'POST',
      json: {
        pan: PAN,
        amount: 2_999,
        flow: 'challenge',
        challengeWindowSize: '03',
        merchantName: 'Garden Centre',
      },
    })
    const merchant = `${srv.url.replace('127.0.0.1', 'localhost')}${String(purchase.checkoutUrl)}?size=03`
    await page.goto(merchant)
    const frame = page.frameLocator('iframe[name="acs-challenge"]')
    await expect(frame.getByRole('heading', { name: 'Waiting for your reply' })).toBeVisible()
    const continueButton = frame.getByRole('button', { name: 'Continue' })
    await expect(continueButton).toBeVisible()
    const ref = (await frame.locator('strong.reference').textContent())!.trim()
    expect(ref).toMatch(/^[A-Z0-9]{4}$/)
    const sms = (await api(`/api/virtual-phone/messages?to=${encodeURIComponent(MOBILE)}`)) as unknown as {
      text: string
    }[]
    expect(sms.at(-1)!.text).toContain(`YES ${ref}`)
    await testInfo.attach('push-a-waiting.png', { body: await page.screenshot(), contentType: 'image/png' })

    // Nothing final happens while the page waits (its poll runs meanwhile).
    await page.waitForTimeout(3500)
    expect((await api(`/api/lab/purchases/${String(purchase.id)}`)).rreqs).toEqual([])
    await expect(page.locator('#result')).not.toHaveText(/Authentication result/)

    const reply = await srv.api('/api/virtual-phone/reply', {
      method: 'POST',
      token,
      json: { from: MOBILE, text: `yes ${ref.toLowerCase()}` },
    })
    expect(((await reply.json()) as { outcome: string }).outcome).toBe('matched')
    await expect(page.locator('#result')).toHaveText('Authentication result: Y', { timeout: 15_000 })
    const done = await api(`/api/lab/purchases/${String(purchase.id)}`)
    expect(done.rreqs).toHaveLength(1)
    expect((done.rreqs as Record<string, unknown>[])[0]).toMatchObject({
      transStatus: 'Y',
      authenticationType: '03',
    })
    await testInfo.attach('push-a-finished.png', { body: await page.screenshot(), contentType: 'image/png' })
  })
})

test.describe('fraud queue', () => {
  // Its own server (with the built console), so the demo pilot cannot collide with other specs' data.
  let srv: TestServer
  let token: string
  test.beforeAll(async () => {
    srv = await startTestServer({ consoleRoot: findConsoleRoot(join(import.meta.dirname, '../../out/main')) })
    token = await srv.login(ADMIN.username, ADMIN.password)
  })
  test.afterAll(async () => {
    await srv?.stop()
  })

  test('a FRAUD reply appears in the queue; review and release with the keyboard; axe-clean', async ({
    consolePage,
    page,
  }) => {
    // An init script is injected outside the console's CSP, unlike a <script> tag.
    await page.addInitScript({ path: axePath })
    const call = async (path: string, json?: unknown) => {
      const res = await srv.api(path, { method: json === undefined ? 'GET' : 'POST', token, json })
      expect(res.status, path).toBeLessThan(300)
      return res.json()
    }
    await call('/api/lab/demo', {})
    const mobile = '+33612345601'
    await call('/api/lab/purchases', {
      pan: '4111111111111111',
      amount: 4_200,
      flow: 'frictionless',
      merchantName: 'Late Night Electronics',
    })
    // The alert leaves the outbox a moment after the ARes: wait for it on the virtual phone.
    let ref: string | undefined
    await expect
      .poll(async () => {
        const sms = (await call(`/api/virtual-phone/messages?to=${encodeURIComponent(mobile)}`)) as {
          text: string
        }[]
        ref = /FRAUD ([A-Z0-9]+)/.exec(sms.at(-1)?.text ?? '')?.[1]
        return ref
      })
      .toBeTruthy()
    expect((await call('/api/virtual-phone/reply', { from: mobile, text: `FRAUD ${ref}` })).outcome).toBe(
      'matched',
    )

    await page.goto(`${srv.url}/#/fraud`)
    await consolePage.signIn(ADMIN.username, ADMIN.password)
    await expect(consolePage.heading).toHaveText('Fraud')
    const row = page.getByRole('row').filter({ hasText: ref })
    await expect(row).toContainText('Late Night Electronics')
    await expect(row).toContainText('411111******1111')
    await expect(row).toContainText('suspended')
    expect(await seriousViolations(page), 'fraud queue').toEqual([])
    await consolePage.screenshotTo('fraud queue')

    const review = page.getByRole('button', { name: `Review report ${ref}` })
    await consolePage.focusByKeyboard(review, 80).catch(async () => {
      // Forward from the page heading if Shift+Tab from the top did not reach it.
      await consolePage.heading.focus()
      for (let i = 0; i < 80 && !(await review.evaluate((e) => e === document.activeElement)); i++)
        await page.keyboard.press('Tab')
    })
    await page.keyboard.press('Enter')
    const decision = page.getByRole('heading', { name: `Report ${ref}: card 411111******1111` })
    await expect(decision).toBeFocused()
    const release = page.getByRole('button', { name: 'Release card' })
    await expect(release).toBeDisabled()
    await page.keyboard.press('Tab')
    await expect(page.getByLabel('Note (required to release the card)')).toBeFocused()
    await page.keyboard.type('Cardholder confirmed the purchase by phone')
    expect(await seriousViolations(page), 'decision panel').toEqual([])
    await consolePage.screenshotTo('fraud decision')
    await page.keyboard.press('Tab')
    await page.keyboard.press('Tab')
    await expect(release).toBeFocused()
    await page.keyboard.press('Enter')
    await expect(page.getByRole('status').filter({ hasText: `Report ${ref} is now released` })).toBeAttached()
    await expect(page.getByRole('row').filter({ hasText: ref })).toHaveCount(0)
    await page.getByLabel('Show').selectOption('released')
    await expect(page.getByRole('row').filter({ hasText: ref })).toContainText('active')
  })
})
