/**
 * The Settings page's one-time codes and replies section against the real server: an issuer's code length
 * changed (and read back as in effect), an out-of-range value refused with its reason, and the ACS setting
 * taken back by emptying the field, so the other specs sharing this server see the defaults.
 */
import { axePath, seriousViolations } from './axe'
import { apiToken, ensureDemo } from './console-data'
import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

test("one-time codes: an issuer's code length set, refused out of range, and back to the ACS setting", async ({
  consolePage,
  page,
}) => {
  const token = await apiToken(page.request)
  const { issuerId } = await ensureDemo(page.request, token)
  const effective = async () =>
    (
      (await (
        await page.request.get(`/api/auth-methods/settings/${issuerId}`, {
          headers: { Authorization: `Bearer ${token}` },
        })
      ).json()) as { effective: { otpLength: number } }
    ).effective
  await page.addInitScript({ path: axePath })
  await consolePage.open('/settings')
  await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
  const section = page.getByRole('region', { name: 'One-time codes and replies' })
  const length = section.getByLabel('Code length (digits, 4–8)')
  await expect(length).toHaveValue('')
  try {
    await length.fill('8')
    await section.getByRole('button', { name: 'Save' }).click()
    await expect(section.getByText('Saved: the next challenge uses these values.')).toBeVisible()
    await expect(section.getByText('in effect: 8')).toBeVisible()
    expect((await effective()).otpLength).toBe(8)

    await length.fill('3')
    await section.getByRole('button', { name: 'Save' }).click()
    await expect(section.getByRole('alert')).toContainText('otpLength')
    expect((await effective()).otpLength).toBe(8)
    expect(await seriousViolations(page), 'settings with the codes section').toEqual([])

    // 0 is a value of its own, not "take the ACS setting".
    await section.getByLabel('New codes on request (0–5)').fill('0')
    await length.fill('')
    await section.getByRole('button', { name: 'Save' }).click()
    await expect(section.getByText('in effect: 6')).toBeVisible()
    expect(
      (
        (await (
          await page.request.get(`/api/auth-methods/settings/${issuerId}`, {
            headers: { Authorization: `Bearer ${token}` },
          })
        ).json()) as { overrides: Record<string, unknown> }
      ).overrides,
    ).toEqual({ maxResends: 0 })
  } finally {
    await page.request.put(`/api/auth-methods/settings/${issuerId}`, {
      headers: { Authorization: `Bearer ${token}` },
      data: {},
    })
  }
  expect((await effective()).otpLength).toBe(6)
})

test('the mobile authenticator: the activation offer switched off and an approval lifetime changed, then put back', async ({
  consolePage,
  page,
}) => {
  const token = await apiToken(page.request)
  const headers = { Authorization: `Bearer ${token}` }
  const current = async () =>
    (await (await page.request.get('/api/mobile/settings', { headers })).json()) as Record<string, unknown>
  const before = await current()
  await page.addInitScript({ path: axePath })
  await consolePage.open('/settings')
  await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
  const section = page.getByRole('region', { name: 'Mobile authenticator' })
  const offer = section.getByLabel('Activation QR code on the challenge page, after an SMS code')
  await expect(offer).toHaveValue('enrolled')
  try {
    await offer.selectOption('off')
    await section.getByLabel('An approval request stays open for (seconds, 1–3600)').fill('120')
    await section.getByRole('button', { name: 'Save' }).click()
    await expect(section.getByText('Saved.')).toBeVisible()
    expect(await current()).toMatchObject({ activationOnChallenge: 'off', approvalTtlSeconds: 120 })

    await section.getByLabel('Rotating QR codes change every (seconds, 1–300)').fill('301')
    await section.getByRole('button', { name: 'Save' }).click()
    await expect(section.getByRole('alert')).toContainText('qrPeriodSeconds')
    expect((await current()).qrPeriodSeconds).toBe(before.qrPeriodSeconds)
    expect(await seriousViolations(page), 'settings with the mobile section').toEqual([])
  } finally {
    await page.request.put('/api/mobile/settings', { headers, data: before })
  }
})
