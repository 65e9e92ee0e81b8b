import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

test.describe('audit log', () => {
  test('filters by action and actor, pages, and verifies the chain', async ({ consolePage, page }) => {
    await consolePage.open('/audit')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    const entries = page.getByRole('table', { name: 'Audit log entries' })
    await expect(entries).toBeVisible()
    await expect(entries).toContainText('operator.login')

    await page.getByLabel('Action starts with').fill('operator.login')
    await page.getByLabel('Actor (exactly)').fill(`operator:${E2E_ADMIN.username}`)
    await page.getByRole('button', { name: 'Filter' }).click()
    const actions = await entries.locator('tbody tr td:nth-child(4)').allTextContents()
    expect(actions.length).toBeGreaterThan(0)
    expect(actions.every((a) => a.startsWith('operator.login'))).toBe(true)

    await page.getByLabel('Action starts with').fill('no.such.action')
    await page.getByRole('button', { name: 'Filter' }).click()
    await expect(page.getByText(/No entry matches/)).toBeVisible()

    await page.getByRole('button', { name: 'Verify the audit log' }).click()
    await expect(
      page.getByRole('status').filter({ hasText: /The audit log is intact: all \d+ entries verified/ }),
    ).toBeVisible()
    await consolePage.screenshotTo('audit')
  })
})
