import { apiToken, smsFrom } from './console-data'
import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

test.describe('dashboard', () => {
  test('figures and the SMS chart update live, without reloading the page', async ({ consolePage, page }) => {
    await consolePage.open()
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    const received = page.getByRole('listitem').filter({ hasText: 'SMS received, last 24 hours' })
    await expect(received).toBeVisible()
    await expect(page.getByRole('img', { name: /Per hour, last 24 hours/ })).toBeVisible()
    const before = Number((await received.locator('.tile-value').textContent())!.replace(/\D/g, ''))
    await consolePage.screenshotTo('dashboard')

    // Mark the document: a reload would lose the mark.
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true))
    await smsFrom(page.request, await apiToken(page.request), '+447700900888', 'hello dashboard')
    await expect(received.locator('.tile-value')).toHaveText(String(before + 1), { timeout: 15_000 })
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true)

    await page.getByText('Show the numbers as a table').click()
    const table = page.getByRole('table', { name: 'Per hour, last 24 hours' })
    await expect(table.getByRole('row')).toHaveCount(25)

    await page.getByRole('button', { name: 'Live updates' }).click()
    await expect(page.getByRole('button', { name: 'Live updates' })).toHaveAttribute('aria-pressed', 'false')
  })
})
