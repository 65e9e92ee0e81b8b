import { readFile } from 'node:fs/promises'
import { apiToken, smsFrom } from './console-data'
import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

test.describe('reports', () => {
  test('Incoming Verification: filter, show, export CSV and PDF; Authentication Attempt from the ledger', async ({
    consolePage,
    page,
  }) => {
    const token = await apiToken(page.request)
    await smsFrom(page.request, token, '+447700900777', 'FRAUD')
    await smsFrom(page.request, token, '+447700900777', '=cmd|calc code 987654')

    await consolePage.open('/reports')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await page.getByRole('radio', { name: 'Incoming Verification' }).check()
    await expect(page.getByRole('heading', { name: 'Incoming Verification report' })).toBeVisible()
    await page.getByLabel('Sender number').fill('+447700900777')
    await page.getByRole('button', { name: 'Show report' }).click()
    const table = page.getByRole('table', { name: /Incoming Verification report/ })
    await expect(table.getByRole('row')).toHaveCount(3)
    await expect(table).toContainText('FRAUD')
    await expect(table).toContainText('••••••')
    await expect(table).not.toContainText('987654')
    await consolePage.screenshotTo('report incoming verification')

    const [csv] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ])
    expect(csv.suggestedFilename()).toMatch(/^incoming-verification_.*\.csv$/)
    const text = await readFile((await csv.path())!, 'utf8')
    expect(text.split('\r\n')[0]).toBe(
      'Message,Received,From,Text (digits masked),Gateway,Modem,Outcome,Handled by,Reference',
    )
    // The spreadsheet-formula text is neutralised; the sender number starting with + is too.
    expect(text).toContain(`'=cmd|calc code ••••••`)
    expect(text).toContain(`'+447700900777`)
    await expect(
      page.getByRole('status').filter({ hasText: /Exported incoming-verification_/ }),
    ).toBeVisible()

    const [pdf] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export PDF' }).click(),
    ])
    expect(pdf.suggestedFilename()).toMatch(/\.pdf$/)
    expect((await readFile((await pdf.path())!)).subarray(0, 5).toString()).toBe('%PDF-')

    // The ACS reports read the ledger: the Lab spec's purchases are in today's Authentication Attempt report.
    await page.getByRole('radio', { name: 'Authentication Attempt' }).check()
    await page.getByLabel('Brand').selectOption('visa')
    await page.getByRole('button', { name: 'Show report' }).click()
    const attempts = page.getByRole('table', { name: /Authentication Attempt report/ })
    await expect(attempts).toContainText('424242******4242')
    await expect(attempts).not.toContainText('4242424242424242')
    await consolePage.screenshotTo('report authentication attempts')
  })

  test('Registration Attempt over a period with no run, and a reversed period, are explained', async ({
    consolePage,
    page,
  }) => {
    await consolePage.open('/reports')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await expect(page.getByRole('radio', { name: 'Registration Attempt' })).toBeChecked()
    await page.getByLabel('From (day)').fill('2001-01-01')
    await page.getByLabel('To (day, included)').fill('2001-01-31')
    await page.getByRole('button', { name: 'Show report' }).click()
    await expect(page.getByText('Nothing to report for 2001-01-01 to 2001-01-31')).toBeVisible()
    await page.getByLabel('From (day)').fill('2001-02-01')
    await page.getByRole('button', { name: 'Show report' }).click()
    await expect(page.getByRole('alert')).toContainText('must not be before the start date')
  })
})
