import { readFileSync } from 'node:fs'
import { apiToken, ensureDemo, testPan } from './console-data'
import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

test.describe('mass enrolment', () => {
  test('preview with masked cards and line-numbered errors, confirm, progress, summary and history', async ({
    consolePage,
    page,
  }) => {
    await ensureDemo(page.request, await apiToken(page.request))
    const good = [testPan('455555', 1), testPan('455555', 2)]
    const csv = [
      'pan,expiry,name,mobile,email,language,method',
      `${good[0]},2812,Erin Enrol,+447700900201,,en,sms-otp`,
      '4111111111111112,2812,Bad Luhn,+447700900202,,en,sms-otp',
      `${good[1]},2812,Ezra Enrol,+447700900203,,en,sms-reply`,
    ].join('\n')

    await consolePage.open('/enrolment')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await expect(consolePage.heading).toHaveText('Mass enrolment')
    await page.getByLabel('Enrolment file (CSV)').setInputFiles({
      name: 'branch-42.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv),
    })
    await expect(page.getByText('3 lines, 2 valid, 1 with errors.')).toBeVisible()
    const preview = page.getByRole('table', { name: 'First valid lines (card numbers masked)' })
    await expect(preview).toContainText('455555******')
    // The full card numbers are never shown back.
    for (const pan of good) await expect(page.locator('body')).not.toContainText(pan)
    const errors = page.getByRole('table', { name: 'Lines with errors' })
    await expect(errors.getByRole('row').nth(1)).toContainText('3')
    await expect(errors).toContainText('fails the Luhn check')
    await consolePage.screenshotTo('enrolment preview')

    const importButton = page.getByRole('button', { name: 'Import 2 cardholder line(s)' })
    await expect(importButton).toBeDisabled()
    await page.getByLabel(/Skip the 1 invalid line/).check()
    await importButton.click()

    await expect(page.getByLabel('Progress')).toBeVisible()
    await expect(
      page.getByRole('status').filter({ hasText: /Finished: 2 enrolled, 0 updated, 1 skipped/ }),
    ).toBeVisible()
    await expect(page.getByLabel('Progress')).toHaveAttribute('value', '100')
    const history = page.getByRole('table', { name: 'Enrolment runs, newest first' })
    await expect(history.getByRole('row').nth(1)).toContainText('branch-42.csv')
    await expect(history.getByRole('row').nth(1)).toContainText('Done')
    await consolePage.screenshotTo('enrolment done')
  })

  test('a file that is not an enrolment file is explained in words', async ({ consolePage, page }) => {
    await consolePage.open('/enrolment')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await page.getByLabel('Enrolment file (CSV)').setInputFiles({
      name: 'wrong.csv',
      mimeType: 'text/csv',
      buffer: readFileSync(new URL(import.meta.url)).subarray(0, 200),
    })
    // Either the whole file is refused or every line is reported; both say what is wrong.
    await expect(
      page.getByRole('alert').or(page.getByRole('table', { name: 'Lines with errors' })),
    ).toBeVisible()
    await expect(page.getByRole('button', { name: /Import/ })).toHaveCount(0)
    await expect(
      page.getByText(/nothing to import|No line of this file is valid/).or(page.getByRole('alert')),
    ).toBeVisible()
  })
})
