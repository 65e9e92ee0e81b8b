import { apiToken, ensureDemo } from './console-data'
import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

test.describe('rules', () => {
  test('ordered rules, a new draft with a diff, the test panel, activation and rollback', async ({
    consolePage,
    page,
  }) => {
    await ensureDemo(page.request, await apiToken(page.request))
    await consolePage.open('/rules')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await page.getByRole('button', { name: 'demo', exact: true }).click()
    const rules = page.locator('ol.rules')
    await expect(rules.locator('li').first()).toContainText('velocity')
    await expect(rules).toContainText('mcc in 7995, 6051, 4829')
    const versions = page.getByRole('table', { name: /Versions of demo/ })
    const initial = await versions.locator('tbody tr').count()

    const editor = page.getByLabel('Rule set (JSON)')
    const draft = (await editor.inputValue()).replace('"max": 25000', '"max": 10000')
    await editor.fill(draft)
    await page.getByRole('button', { name: 'Check' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'The rule set is valid.' })).toBeVisible()
    await page.getByRole('button', { name: 'Save as a draft' }).click()
    await expect(
      page.getByRole('status').filter({ hasText: /Saved demo version \d+ as a draft/ }),
    ).toBeVisible()
    await expect(versions.locator('tbody tr')).toHaveCount(initial + 1)
    const diff = page.locator('pre.diff')
    await expect(diff.locator('.removed').filter({ hasText: '25000' })).toBeVisible()
    await expect(diff.locator('.added').filter({ hasText: '10000' })).toBeVisible()
    await consolePage.screenshotTo('rules')

    // The test panel runs the editor's rule set (now capping low-value at 100.00 EUR).
    await page.getByLabel('threeDSRequestorChallengeInd').fill('02')
    await page.getByLabel('purchaseAmount (minor units)').fill('5000')
    await page.getByRole('button', { name: 'Test' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'by rule low-value-eur' })).toContainText('Y ·')
    await page.getByLabel('purchaseAmount (minor units)').fill('20000')
    await page.getByRole('button', { name: 'Test' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'by rule default' })).toContainText('C ·')
    await page.getByLabel('Card status').selectOption('stolen')
    // As the ACS does: a stolen card is refused before any rule of the set.
    await page.getByRole('button', { name: 'Test' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'by rule card-status' })).toContainText('R ·')

    const newest = versions.locator('tbody tr').first()
    await newest.getByRole('button', { name: /^Activate/ }).click()
    await expect(page.getByRole('status').filter({ hasText: /is active/ })).toBeVisible()
    await expect(newest).toContainText('Active')
    await page.getByRole('button', { name: 'Roll back to the previously active version' }).click()
    await expect(page.getByRole('status').filter({ hasText: /Rolled back/ })).toBeVisible()
    await expect(newest).toContainText('Retired')

    await editor.fill('{ not json')
    await page.getByRole('button', { name: 'Check' }).click()
    await expect(page.getByRole('alert')).toContainText('The rule set is not valid JSON.')
  })

  test('a rule set whose versions cannot be loaded says so in words', async ({ consolePage, page }) => {
    await ensureDemo(page.request, await apiToken(page.request))
    await page.route('**/versions', (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/problem+json',
        body: JSON.stringify({
          type: 'about:blank',
          title: 'Service unavailable',
          status: 503,
          detail: 'try again',
        }),
      }),
    )
    await consolePage.open('/rules')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    // One row per version: the earlier test left several of the demo set.
    await page.getByRole('button', { name: 'demo', exact: true }).first().click()
    await expect(page.getByRole('alert')).toContainText('try again')
  })
})
