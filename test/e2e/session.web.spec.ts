import { execFileSync } from 'node:child_process'
import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

test.describe('signing in and out', () => {
  test('an admin signs in and the frame shows the name and role', async ({ consolePage, page }) => {
    await consolePage.open()
    await expect(page.getByRole('heading', { name: 'Issuer operations' })).toBeVisible()
    await consolePage.screenshotTo('login')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await expect(consolePage.heading).toHaveText('Dashboard')
    await expect(page).toHaveURL(/#\/dashboard$/)
    await expect(page.getByTestId('operator-name')).toHaveText(E2E_ADMIN.username)
    await expect(consolePage.operatorRole).toHaveText('Administrator')
    await expect(page.getByText(/The IMS server is running, version/)).toBeVisible()
  })

  test('a wrong password is explained in words', async ({ consolePage, page }) => {
    await consolePage.open()
    await consolePage.signIn(E2E_ADMIN.username, 'not-the-password')
    const alert = page.getByRole('alert')
    await expect(alert).toContainText('Invalid credentials')
    await expect(alert).toContainText('The username or password is wrong')
    await expect(consolePage.navigation).toHaveCount(0)
    await consolePage.screenshotTo('login-wrong-password')
  })

  test('signing out returns to the sign-in page and forgets the token', async ({ consolePage, page }) => {
    await consolePage.open()
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await expect(consolePage.heading).toHaveText('Dashboard')
    const token = await page.evaluate(() => sessionStorage.getItem('ims.session.token'))
    expect(token).toBeTruthy()

    await consolePage.signOut()
    await expect(page.getByRole('status')).toHaveText('You have signed out.')
    await expect(page.getByLabel('Username')).toBeVisible()
    expect(await page.evaluate(() => sessionStorage.getItem('ims.session.token'))).toBeNull()
    // The server ended the session too: the old token no longer works.
    const response = await page.request.get('/api/session', { headers: { Authorization: `Bearer ${token}` } })
    expect(response.status()).toBe(401)
  })

  test('a session ended elsewhere sends the operator back to sign in with a message', async ({
    consolePage,
    page,
  }) => {
    await consolePage.open('/settings')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    // The deep link survives signing in.
    await expect(consolePage.heading).toHaveText('Settings')
    const token = await page.evaluate(() => sessionStorage.getItem('ims.session.token'))
    const ended = await page.request.delete('/api/session', { headers: { Authorization: `Bearer ${token}` } })
    expect(ended.status()).toBe(204)

    await page.reload()
    await expect(page.getByRole('status')).toHaveText('Your session has expired. Sign in again.')
    await expect(page.getByLabel('Username')).toBeVisible()
  })

  test('an operator with TOTP is asked for the code after the password', async ({
    consolePage,
    page,
    request,
  }) => {
    const password = 'e2e-Second-Factor-Password-7'
    const admin = await (await request.post('/api/session', { data: E2E_ADMIN })).json()
    const created = await request.post('/api/operators', {
      headers: { Authorization: `Bearer ${admin.token}` },
      data: { username: 'totp-agent', displayName: 'Tess Agent', role: 'agent', password },
    })
    expect(created.status(), await created.text()).toBe(201)
    const agent = await (
      await request.post('/api/session', { data: { username: 'totp-agent', password } })
    ).json()
    const agentAuth = { Authorization: `Bearer ${agent.token}` }
    const { secret } = await (await request.post('/api/me/totp', { headers: agentAuth })).json()
    // Codes come from oathtool (RFC 6238), independent of the server's otplib.
    const codeAt = (when: string) =>
      execFileSync('oathtool', ['--totp', '-b', `--now=${when}`, secret])
        .toString()
        .trim()
    const confirmed = await request.post('/api/me/totp/confirm', {
      headers: agentAuth,
      data: { code: codeAt('now') },
    })
    expect(confirmed.status(), await confirmed.text()).toBe(204)

    await consolePage.open()
    await consolePage.signIn('totp-agent', password)
    const codeField = page.getByLabel('One-time code')
    await expect(codeField).toBeFocused()
    await expect(page.getByText('This account uses a second factor.')).toBeVisible()
    await expect(page.getByRole('alert')).toHaveCount(0)
    await consolePage.screenshotTo('login-totp')

    await codeField.fill('000000')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect(page.getByRole('alert')).toContainText('Invalid second factor')

    // The confirmation used the current time step; a code is never accepted twice, so use the next one.
    await codeField.fill(codeAt('now + 30 seconds'))
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect(consolePage.operatorRole).toHaveText('Agent')
    await expect(page.getByTestId('operator-name')).toHaveText('Tess Agent')
  })

  test('a locked account is explained with the time to wait', async ({ consolePage, page, request }) => {
    const password = 'e2e-Lockout-Case-Password-3'
    const admin = await (await request.post('/api/session', { data: E2E_ADMIN })).json()
    const created = await request.post('/api/operators', {
      headers: { Authorization: `Bearer ${admin.token}` },
      data: { username: 'lock-agent', displayName: 'Lou Agent', role: 'agent', password },
    })
    expect(created.status(), await created.text()).toBe(201)
    // Fail through the API until the server locks the account, however many free failures it allows.
    let status = 0
    for (let attempt = 0; attempt < 20 && status !== 423; attempt++) {
      const response = await request.post('/api/session', {
        data: { username: 'lock-agent', password: 'wrong' },
      })
      status = response.status()
    }
    expect(status).toBe(423)

    await consolePage.open()
    await consolePage.signIn('lock-agent', password)
    const alert = page.getByRole('alert')
    await expect(alert).toContainText('Account locked')
    await expect(alert).toContainText(/Try again in \d+ (second|minute)s?\./)
    await expect(consolePage.navigation).toHaveCount(0)
  })
})
