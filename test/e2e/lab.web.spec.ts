import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

test.describe('lab', () => {
  test('frictionless, app challenge with the code from the virtual phone, browser checkout link, FRAUD reply', async ({
    consolePage,
    page,
  }) => {
    test.setTimeout(60_000)
    await consolePage.open('/lab')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await page.getByRole('button', { name: 'Set up or load the demo cards' }).click()
    await expect(page.getByRole('table', { name: /Demo cards/ })).toContainText('Sam Frictionless')

    await page.getByRole('button', { name: "Use Sam Frictionless's card" }).click()
    await page.getByLabel('Merchant asks for').selectOption('frictionless')
    await page.getByRole('button', { name: 'Start the purchase' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'The ACS answered Y.' })).toBeVisible()

    await page.getByRole('button', { name: "Use John Smith's card" }).click()
    await expect(page.getByRole('heading', { name: 'Virtual phone +447700900002' })).toBeVisible()
    await page.getByLabel('Channel').selectOption('app')
    await page.getByLabel('Merchant asks for').selectOption('challenge')
    await page.getByRole('button', { name: 'Start the purchase' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'The ACS answered C.' })).toBeVisible()
    await page.getByRole('button', { name: 'Open the challenge in the app' }).click()
    await expect(page.getByLabel('Code typed in the app')).toBeVisible()
    const phone = page.getByRole('region', { name: 'Virtual phone +447700900002' })
    await expect(phone.getByText(/code \d{6}/).last()).toBeVisible()
    await consolePage.screenshotTo('lab app challenge')
    const code = /code (\d{6})/.exec(
      (await phone
        .getByText(/code \d{6}/)
        .last()
        .textContent())!,
    )![1]
    await page.getByLabel('Code typed in the app').fill(code)
    await page.getByRole('button', { name: 'Submit' }).click()
    await expect(page.getByText('Final result:')).toContainText('Y · Authenticated')

    await page.getByLabel('Channel').selectOption('browser')
    await page.getByRole('button', { name: 'Start the purchase' }).click()
    await expect(page.getByRole('link', { name: 'open the merchant checkout' })).toHaveAttribute(
      'href',
      /^\/lab\/merchant\/checkout\//,
    )

    await phone.getByRole('button', { name: 'Reply FRAUD' }).click()
    await expect(phone.getByRole('status')).toContainText('Reply delivered to the server')
    await expect(phone.getByText('FRAUD', { exact: true })).toBeVisible()
  })
})
