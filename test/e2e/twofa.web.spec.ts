import { createRequire } from 'node:module'
import type { Page } from '@playwright/test'
import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js')

async function seriousAxeViolations(page: Page): Promise<string[]> {
  const { violations } = await page.evaluate(() =>
    window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice'] },
    }),
  )
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help}`)
}

test.describe('2FA PIN API applications page', () => {
  test.beforeEach(async ({ consolePage, page }) => {
    await page.addInitScript({ path: axePath })
    await consolePage.open()
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await expect(consolePage.heading).toHaveText('Dashboard')
  })

  test('create an application by keyboard, see its key once, add a template, send a PIN with the key', async ({
    consolePage,
    page,
  }) => {
    await consolePage.navLink('2FA PIN API').click()
    await expect(consolePage.heading).toHaveText('2FA PIN API')
    expect(await seriousAxeViolations(page), 'empty page').toEqual([])

    // Keyboard only: reach the name field, type, tab through the policy fields, submit with Enter.
    const nameField = page.getByLabel('Name', { exact: true })
    await consolePage.focusByKeyboard(nameField)
    const appName = `E2E shop ${Date.now()}`
    await page.keyboard.type(appName)
    await page.keyboard.press('Tab')
    await expect(page.getByLabel('PIN attempts')).toBeFocused()
    await page.keyboard.press('Enter')

    const secret = page.getByTestId('one-time-secret')
    await expect(secret).toHaveText(/^ims2fa_[A-Za-z0-9_-]{43}$/)
    const apiKey = (await secret.textContent())!.trim()
    const row = page.getByRole('row').filter({ hasText: appName })
    await expect(row).toContainText(apiKey.slice(0, 13))
    await expect(row).toContainText('10 attempts, TTL 15m')
    expect(await seriousAxeViolations(page), 'with the key shown').toEqual([])
    await consolePage.screenshotTo('2FA PIN API: new application with its key shown once')

    await page.getByRole('button', { name: 'I have stored it' }).click()
    await expect(secret).toHaveCount(0)
    await expect(page.getByText(apiKey)).toHaveCount(0)

    await row.getByRole('button', { name: /Templates and usage/ }).click()
    await expect(page.getByRole('heading', { level: 2, name: appName })).toBeVisible()
    const applicationId = (await page.locator('.detail code').first().textContent())!.trim()
    await page.getByLabel(/Message text/).fill('Your E2E shop PIN is {{pin}}.')
    await page.getByLabel('PIN length').fill('8')
    await page.getByLabel('PIN type').selectOption('ALPHANUMERIC')
    await page.getByRole('button', { name: 'Create message template' }).click()
    const messageId = (await page.getByTestId('message-id').textContent())!.trim()
    await expect(page.getByRole('cell', { name: 'Your E2E shop PIN is {{pin}}.' })).toBeVisible()
    await expect(page.getByRole('cell', { name: '8 × ALPHANUMERIC' })).toBeVisible()
    expect(await seriousAxeViolations(page), 'with a template').toEqual([])

    // The key shown once is the one that works.
    const sent = await page.request.post('/2fa/v1/pin', {
      headers: { authorization: `App ${apiKey}` },
      data: { applicationId, messageId, to: '+447946099001' },
    })
    expect(sent.status()).toBe(200)
    expect(await sent.json()).toMatchObject({ to: '+447946099001', smsStatus: 'MESSAGE_SENT' })

    await page.reload()
    await expect(consolePage.heading).toHaveText('2FA PIN API')
    await expect(page.getByRole('row').filter({ hasText: appName })).toBeVisible()
    await expect(page.getByText(apiKey)).toHaveCount(0)
    await page
      .getByRole('row')
      .filter({ hasText: appName })
      .getByRole('button', { name: /Templates and usage/ })
      .click()
    await expect(page.getByText('PINs sent')).toBeVisible()
    await expect(page.locator('.usage dd').first()).toHaveText('1')
    await consolePage.screenshotTo('2FA PIN API: templates and usage')
  })

  test('invalid policy values are explained, and nothing is created', async ({ consolePage, page }) => {
    await consolePage.navLink('2FA PIN API').click()
    await page.getByLabel('Name', { exact: true }).fill('Bad policy')
    await page.getByLabel(/PIN time to live/).fill('forever')
    await page.getByRole('button', { name: 'Create application' }).click()
    const alert = page.getByRole('alert')
    await expect(alert).toContainText('configuration.pinTimeToLive')
    await expect(page.getByRole('row').filter({ hasText: 'Bad policy' })).toHaveCount(0)
    expect(await seriousAxeViolations(page), 'with a validation error').toEqual([])
  })
})
