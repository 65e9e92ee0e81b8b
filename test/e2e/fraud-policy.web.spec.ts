/**
 * The Fraud page's notification policy and webhook against the real server: the policy changed from the
 * console (and read back from the API), a refused webhook URL explained, a signing secret shown once, and
 * everything put back for the other specs sharing this server.
 */
import { axePath, seriousViolations } from './axe'
import { apiToken, ensureDemo } from './console-data'
import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

test('fraud notifications: policy, webhook URL and signing secret from the console', async ({
  consolePage,
  page,
}) => {
  const token = await apiToken(page.request)
  const { issuerId } = await ensureDemo(page.request, token)
  const settings = async () =>
    (await (
      await page.request.get(`/api/fraud/settings/${issuerId}`, {
        headers: { Authorization: `Bearer ${token}` },
      })
    ).json()) as Record<string, unknown>
  await page.addInitScript({ path: axePath })
  await consolePage.open('/fraud')
  await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
  const policy = page.getByRole('region', { name: 'Notifications and webhook' })
  await expect(policy.getByLabel('Every authentication')).toBeChecked()

  try {
    await policy.getByLabel('Authentications at or above an amount').check()
    await policy.getByLabel('Amount (major units, e.g. 50.00)').fill('50')
    await policy.getByRole('button', { name: 'Save' }).click()
    await expect(policy.getByText('Saved.')).toBeVisible()
    expect(await settings()).toMatchObject({ notify: 'above-amount', minAmount: 50 })

    await policy.getByLabel('Webhook URL for fraud reports (https)').fill('http://issuer.example/fraud')
    await policy.getByRole('button', { name: 'Save' }).click()
    await expect(policy.getByRole('alert')).toContainText('https')
    expect((await settings()).webhookUrl).toBeUndefined()

    await policy.getByRole('button', { name: 'Generate a new signing secret' }).click()
    await expect(policy.getByText(/It is shown only this once/)).toBeVisible()
    await expect(policy.getByText('Signing secret: set')).toBeVisible()
    expect(await seriousViolations(page), 'notification policy with a new secret').toEqual([])
    await consolePage.screenshotTo('fraud notification policy')
  } finally {
    // Other specs on this server expect an alert for every authentication and no webhook.
    await page.request.put(`/api/fraud/settings/${issuerId}`, {
      headers: { Authorization: `Bearer ${token}` },
      data: { notify: 'all' },
    })
  }
})
