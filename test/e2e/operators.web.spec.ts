import { authenticator } from 'otplib'
import { apiToken, bearer, ensureOperator, withSecondAdmin } from './console-data'
import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

test.describe('operators', () => {
  test('an admin creates an account, changes its role and status, and resets its password', async ({
    consolePage,
    page,
  }) => {
    await consolePage.open('/operators')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await expect(page.getByRole('heading', { name: 'Operator accounts' })).toBeVisible()
    const username = `agent-${Date.now().toString(36)}`
    await page.getByLabel('Username', { exact: true }).fill(username)
    await page.getByLabel('Full name').fill('Alex Agent')
    await page.getByLabel('Role', { exact: true }).selectOption('agent')
    await page.getByLabel('Initial password').fill('short')
    await page.getByRole('button', { name: 'Create account' }).click()
    // The browser refuses a password under 12 characters before the server is asked.
    await expect(page.getByLabel('Initial password')).toHaveJSProperty('validity.valid', false)
    await page.getByLabel('Initial password').fill('Alex-Agent-Password-1')
    await page.getByRole('button', { name: 'Create account' }).click()
    await expect(
      page.getByRole('status').filter({ hasText: `Account ${username} created as Agent` }),
    ).toBeVisible()
    const row = page.getByRole('row').filter({ hasText: username })
    await expect(row).toContainText('Agent')

    await row.getByRole('button', { name: `Manage ${username}` }).click()
    await page.getByLabel(`Role of ${username}`).selectOption('supervisor')
    await page.getByLabel(`Status of ${username}`).selectOption('disabled')
    await page.getByRole('button', { name: 'Save role and status' }).click()
    await expect(
      page.getByRole('status').filter({ hasText: `${username} is now Supervisor, disabled` }),
    ).toBeVisible()
    await expect(row).toContainText('Disabled')

    await row.getByRole('button', { name: `Manage ${username}` }).click()
    await page.getByLabel(`New password for ${username}`).fill('Another-Password-22')
    await page.getByRole('button', { name: 'Reset password' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'is reset' })).toBeVisible()
    await consolePage.screenshotTo('operators')

    // The server's own rules come back in words: the last admin cannot be demoted.
    const admin = page
      .getByRole('row')
      .filter({ hasText: 'admin' })
      .filter({ hasText: 'Administrator' })
      .first()
    await admin.getByRole('button', { name: /^Manage/ }).click()
    await page.getByLabel(/^Role of admin/).selectOption('agent')
    await page.getByRole('button', { name: 'Save role and status' }).click()
    await expect(page.getByRole('alert')).toContainText('last active admin')
  })

  test('an operator enrols TOTP by QR code, changes the password and ends another session', async ({
    consolePage,
    page,
  }) => {
    const adminToken = await apiToken(page.request)
    const me = await ensureOperator(page.request, adminToken, `totp-${Date.now().toString(36)}`, 'agent')
    const otherSession = await apiToken(page.request, me.username, me.password)

    await consolePage.open('/operators')
    await consolePage.signIn(me.username, me.password)
    await expect(page.getByRole('heading', { name: 'My account' })).toBeVisible()
    // An agent sees no account administration.
    await expect(page.getByRole('heading', { name: 'Operator accounts' })).toHaveCount(0)

    await page.getByRole('button', { name: 'Set up one-time codes' }).click()
    const qr = page.getByRole('img', { name: /QR code/ })
    await expect(qr).toBeVisible()
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/png;base64,/)
    const secret = (await page.locator('.secret').textContent())!.trim()
    await consolePage.screenshotTo('totp enrolment')
    await page.getByLabel('Code shown by the app').fill(authenticator.generate(secret))
    await page.getByRole('button', { name: 'Turn on one-time codes' }).click()
    await expect(page.getByText('One-time codes (TOTP) are enabled for your account.')).toBeVisible()

    const sessions = page.getByRole('table', { name: 'Your active sessions' })
    await expect(sessions.getByRole('row')).toHaveCount(3)
    await sessions.getByRole('button', { name: /^End/ }).click()
    await expect(page.getByRole('status').filter({ hasText: 'has been ended' })).toBeVisible()
    await expect(sessions.getByRole('row')).toHaveCount(2)
    expect((await page.request.get('/api/session', { headers: bearer(otherSession) })).status()).toBe(401)

    await page.getByLabel('Current password').fill(me.password)
    await page.getByLabel('New password', { exact: true }).fill('Brand-New-Password-1')
    await page.getByLabel('New password again').fill('Brand-New-Password-2')
    await page.getByRole('button', { name: 'Change password' }).click()
    await expect(page.getByRole('alert')).toContainText('The new passwords differ.')
    await page.getByLabel('New password again').fill('Brand-New-Password-1')
    await page.getByRole('button', { name: 'Change password' }).click()
    await expect(page.getByRole('status')).toHaveText(
      'Your password is changed and all your sessions have ended. Sign in with the new password.',
    )
    await consolePage.signIn(me.username, 'Brand-New-Password-1')
    // TOTP is now on: the password alone is not enough.
    await expect(page.getByLabel('One-time code')).toBeVisible()
  })

  test('a key custodian is made and reset only with a second admin approving in the same form', async ({
    consolePage,
    page,
  }) => {
    const token = await apiToken(page.request)
    await consolePage.open('/operators')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    const username = `cust-${Date.now().toString(36)}`
    await withSecondAdmin(page.request, token, async (second) => {
      const form = page.getByRole('form', { name: 'New account' })
      await form.getByLabel('Username', { exact: true }).fill(username)
      await form.getByLabel('Full name').fill('Cora Custodian')
      await form.getByLabel('Role', { exact: true }).selectOption('key-custodian')
      await form.getByLabel('Initial password').fill('Cora-Custodian-Secret-1')
      // Choosing the custodian role asks for the second admin; the admin's own credentials are refused.
      const approval = form.getByRole('group', { name: 'Second admin approving this account' })
      await approval.getByLabel('Their username').fill(E2E_ADMIN.username)
      await approval.getByLabel('Their password').fill(E2E_ADMIN.password)
      await form.getByRole('button', { name: 'Create account' }).click()
      await expect(page.getByRole('alert')).toContainText('The second person must be another operator')
      await approval.getByLabel('Their username').fill(second.username)
      await approval.getByLabel('Their password').fill(second.password)
      await form.getByRole('button', { name: 'Create account' }).click()
      await expect(
        page.getByRole('status').filter({ hasText: `Account ${username} created as Key custodian` }),
      ).toBeVisible()

      // Resetting the custodian's password: refused alone, done with the second admin.
      const row = page.getByRole('row').filter({ hasText: username })
      await row.getByRole('button', { name: `Manage ${username}` }).click()
      await page.getByLabel(`New password for ${username}`).fill('Cora-Custodian-Secret-2')
      await page.getByRole('button', { name: 'Reset password' }).click()
      await expect(page.getByRole('alert')).toContainText('needs a second admin')
      const panel = page.getByRole('group', {
        name: `Second admin approving this change (${username})`,
      })
      await panel.getByLabel('Their username').fill(second.username)
      await panel.getByLabel('Their password').fill(second.password)
      await page.getByRole('button', { name: 'Reset password' }).click()
      await expect(
        page.getByRole('status').filter({ hasText: `The password of ${username} is reset` }),
      ).toBeVisible()
    })
  })
})
