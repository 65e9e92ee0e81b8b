/**
 * The SMS texts section of the SMS & modems page against the real server: an issuer's code SMS edited with
 * the live preview (alphabet, SMS parts, the rule it breaks), saved, and taken back to the built-in text.
 */
import { axePath, seriousViolations } from './axe'
import { apiToken, ensureDemo } from './console-data'
import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

const CODE_SMS = 'One-time code for a browser or app challenge (SMS Push B)'

test('SMS texts: edit the code SMS with a live preview, save it, and go back to the built-in text', async ({
  consolePage,
  page,
}) => {
  const token = await apiToken(page.request)
  await ensureDemo(page.request, token)
  await page.addInitScript({ path: axePath })
  await consolePage.open('/sms')
  await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
  const texts = page.getByRole('region', { name: 'SMS texts' })
  await texts.getByRole('button', { name: `Edit the ${CODE_SMS} text in en` }).click()
  const text = texts.getByRole('textbox', { name: 'Text', exact: true })
  await expect(text).toHaveValue(/^Your code \{\{code\}\}/)

  // A rule the text breaks is said while typing, and the server refuses to store it.
  await text.fill('Hello {{code}}')
  const preview = texts.getByRole('status').filter({ hasText: 'As sent' })
  await expect(preview).toContainText('the code must come right after the word "code"')
  await texts.getByRole('button', { name: 'Save' }).click()
  await expect(texts.getByRole('alert')).toBeVisible()

  // Characters outside GSM-7 switch the alphabet, and the preview says so.
  await text.fill('Bank ★ code {{code}} for card {{card}}.')
  await expect(preview).toContainText('UCS-2')
  await expect(preview).toContainText('1 SMS')
  await texts.getByRole('button', { name: 'Save' }).click()
  await expect(texts.getByText(/^Saved: /)).toBeVisible()
  await expect(texts.getByRole('cell', { name: 'Bank ★ code {{code}} for card {{card}}.' })).toBeVisible()
  expect(await seriousViolations(page), 'SMS texts with the editor open').toEqual([])

  await texts.getByRole('button', { name: 'Back to the built-in text' }).click()
  await expect(texts.getByText('Back to the built-in text.')).toBeVisible()
  await expect(text).toHaveValue(/^Your code \{\{code\}\}/)
  await consolePage.screenshotTo('SMS texts')
})
