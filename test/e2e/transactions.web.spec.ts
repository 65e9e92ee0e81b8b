import { apiToken, ensureDemo, labPurchase } from './console-data'
import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

test.describe('transactions', () => {
  test('list with filters, detail with the message trace (PAN masked) and the SMS of a challenge', async ({
    consolePage,
    page,
  }) => {
    const token = await apiToken(page.request)
    await ensureDemo(page.request, token)
    const frictionless = await labPurchase(page.request, token, {
      pan: '4242424242424242',
      amount: 1234,
      flow: 'frictionless',
      merchantName: 'Frictionless Shop',
    })
    expect(frictionless.ares.transStatus).toBe('Y')
    const challenged = await labPurchase(page.request, token, {
      pan: '4000000000000002',
      amount: 56789,
      flow: 'challenge',
      channel: 'app',
      merchantName: 'Challenge Shop',
    })
    expect(challenged.ares.transStatus).toBe('C')
    // The app's first CReq starts the challenge: the ACS sends the code by SMS.
    const started = await page.request.post(`/api/lab/purchases/${challenged.id}/app`, {
      headers: { Authorization: `Bearer ${token}` },
      data: { action: 'start' },
    })
    expect(started.status()).toBe(200)

    await consolePage.open('/transactions')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    const list = page.getByRole('table', { name: 'Authentications, newest first' })
    await expect(list).toContainText('424242******4242')
    await expect(list).toContainText('12.34 EUR')
    await consolePage.screenshotTo('transactions')

    await page.getByLabel('Result').selectOption('Y')
    await page.getByLabel('Merchant').fill('Frictionless Shop')
    await page.getByRole('button', { name: 'Show' }).click()
    await expect(list.locator('tbody tr')).toHaveCount(1)
    await list.getByRole('button', { name: new RegExp(frictionless.acsTransID) }).press('Enter')
    await expect(
      page.getByRole('heading', { name: `Authentication ${frictionless.acsTransID}` }),
    ).toBeVisible()
    // The button pressed went away with the list: the keyboard lands on the page's heading, not on <body>.
    await expect(consolePage.heading).toBeFocused()
    await expect(page.getByText('Y · Authenticated').first()).toBeVisible()
    const trace = page.getByRole('region', { name: 'Message trace' })
    await trace.locator('summary', { hasText: 'AReq' }).click()
    await expect(trace.locator('pre').first()).toContainText('424242******4242')
    await expect(page.locator('body')).not.toContainText('4242424242424242')
    await expect(trace.locator('summary', { hasText: 'ARes' })).toBeVisible()
    // Every completed authentication notifies the cardholder (fraud notification, on by default).
    await expect(page.getByText(/reply FRAUD [A-Z0-9]+ to block/i).first()).toBeVisible()
    await consolePage.screenshotTo('transaction detail')

    // A deep link opens the challenged one, with the code SMS it caused (code masked).
    await page.goto(`/#/transactions?id=${challenged.acsTransID}`)
    await expect(page.getByRole('heading', { name: `Authentication ${challenged.acsTransID}` })).toBeVisible()
    const sms = page.getByRole('table', { name: 'SMS sent and received for this authentication' })
    await expect(sms).toContainText('+447700900002')
    await expect(sms).toContainText('••••••')
    await page.getByRole('button', { name: 'Back to the list' }).press('Enter')
    await expect(list).toBeVisible()
    await expect(consolePage.heading).toBeFocused()
  })
})
