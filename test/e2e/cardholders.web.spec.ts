import { randomBytes } from 'node:crypto'
import { hotp } from '../../src-server/otp/oath'
import { axePath, seriousViolations } from './axe'
import { apiToken, assignToken, bearer, enrolOne, ensureDemo, ensureOperator, testPan } from './console-data'
import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

const PAN = testPan('466666', 7)

test.describe('cardholders (customer service)', () => {
  test.beforeAll(async ({ playwright }) => {
    const { e2eBaseUrl } = await import('./server-fixture')
    const request = await playwright.request.newContext({ baseURL: e2eBaseUrl() })
    const token = await apiToken(request)
    await ensureDemo(request, token)
    await enrolOne(request, token, { pan: PAN, name: 'Carla Customer', mobile: '+447700900301' })
    for (let n = 0; n < 30; n++) {
      await enrolOne(request, token, {
        pan: testPan('467777', n),
        name: `Paging Person ${n}`,
        mobile: '+447700900399',
      })
    }
    await request.dispose()
  })

  test.beforeEach(async ({ consolePage }) => {
    await consolePage.open('/cardholders')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await expect(consolePage.heading).toHaveText('Cardholders')
  })

  test('find by last four digits, open, change status, mobile and method with a reason, then a card', async ({
    consolePage,
    page,
  }) => {
    await expect(page.getByText(/Search results appear here/)).toBeVisible()
    await page.getByLabel('Search by').selectOption('last4')
    await page.getByLabel('Search for').fill(PAN.slice(-4))
    await page.getByRole('button', { name: 'Search' }).click()
    const results = page.getByRole('table', { name: 'Cardholders found' })
    await expect(results).toContainText('Carla Customer')
    await expect(results).toContainText(`466666******${PAN.slice(-4)}`)
    await consolePage.screenshotTo('cardholder search')

    await results.getByRole('button', { name: 'Carla Customer' }).click()
    await expect(page.getByRole('heading', { name: 'Carla Customer' })).toBeVisible()
    await expect(page).toHaveURL(/#\/cardholders\?id=\d+$/)

    // A reason is required: the browser says so before anything is sent.
    await page.getByLabel('Status', { exact: true }).selectOption('suspended')
    await page.getByLabel('Mobile number').fill('+447700900302')
    await page.getByLabel('Authentication method').selectOption('sms-reply')
    await page.getByLabel('Reason for the change').fill('Customer called: lost phone')
    await page.getByRole('button', { name: 'Save changes' }).click()
    await expect(
      page.getByRole('status').filter({ hasText: 'Saved the status, mobile number, authentication method' }),
    ).toBeVisible()
    await expect(page.getByText('(Customer called: lost phone)')).toBeVisible()
    await expect(page.locator('dd').filter({ hasText: '+447700900302' })).toBeVisible()
    await expect(page.locator('dd').filter({ hasText: 'Reply by SMS' })).toBeVisible()

    // A save with nothing changed is refused in words, without a request.
    await page.getByLabel('Reason for the change').fill('no change')
    await page.getByRole('button', { name: 'Save changes' }).click()
    await expect(page.getByRole('alert')).toContainText('Nothing to save')

    const cardStatus = page.getByLabel(`New status for card 466666******${PAN.slice(-4)}`)
    await cardStatus.selectOption('blocked')
    await page.getByLabel(`Reason for card 466666******${PAN.slice(-4)}`).fill('Card reported stolen')
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'is now blocked' })).toBeVisible()
    await expect(page.getByRole('table', { name: 'Cards of Carla Customer' })).toContainText(
      'Card reported stolen',
    )
    await consolePage.screenshotTo('cardholder detail')

    // The change is in the audit log with its reason.
    const token = await page.evaluate(() => sessionStorage.getItem('ims.session.token'))
    const audit = await page.request.get('/api/audit?action=cardholder.update', {
      headers: { Authorization: `Bearer ${token}` },
    })
    expect(JSON.stringify(await audit.json())).toContain('Customer called: lost phone')

    await page.getByRole('button', { name: 'Back to the search results' }).click()
    await expect(page.getByLabel('Search for')).toBeVisible()
  })

  test('a full card number is searched, cleared from the field and never shown back', async ({ page }) => {
    await page.getByLabel('Search by').selectOption('pan')
    const field = page.getByLabel('Search for')
    await expect(field).toHaveAttribute('type', 'password')
    await field.fill(PAN)
    await page.getByRole('button', { name: 'Search' }).click()
    await expect(page.getByRole('table', { name: 'Cardholders found' })).toContainText('Carla Customer')
    await expect(field).toHaveValue('')
    await expect(page.locator('body')).not.toContainText(PAN)
  })

  test('search pages through the server, and bad input or no match is said in words', async ({ page }) => {
    // Paging by mobile number: the server's name search pages by id while it orders by name (see docs/console.md).
    await page.getByLabel('Search by').selectOption('mobile')
    await page.getByLabel('Search for').fill('+447700900399')
    await page.getByRole('button', { name: 'Search' }).click()
    const results = page.getByRole('table', { name: 'Cardholders found' })
    await expect(results.getByRole('row')).toHaveCount(26)
    await expect(page.getByText('Page 1')).toBeVisible()
    await page.getByRole('button', { name: 'Next page' }).click()
    await expect(page.getByText('Page 2')).toBeVisible()
    await expect(results.getByRole('row')).toHaveCount(6)
    await expect(page.getByRole('button', { name: 'Next page' })).toBeDisabled()
    await page.getByRole('button', { name: 'Previous page' }).click()
    await expect(results.getByRole('row')).toHaveCount(26)

    await page.getByLabel('Search by').selectOption('name')
    await page.getByLabel('Search for').fill('Nobody Of That Name')
    await page.getByRole('button', { name: 'Search' }).click()
    await expect(page.getByText('No cardholder matches this search.')).toBeVisible()

    await page.getByLabel('Search by').selectOption('last4')
    await page.getByLabel('Search for').fill('12')
    await page.getByRole('button', { name: 'Search' }).click()
    await expect(page.getByRole('alert')).toContainText('Validation failed')
  })
})

test.describe('cardholders: an agent helps with an OTP token on the phone', () => {
  const suffix = Date.now().toString(36)
  const serial = `CS${suffix.toUpperCase()}`
  const name = `Tomas Token ${suffix}`
  const secret = randomBytes(20)
  const code = (counter: number) => hotp(secret, counter, { algorithm: 'SHA1', digits: 6 })
  let agent: { username: string; password: string }

  test.beforeAll(async ({ playwright }) => {
    const { e2eBaseUrl } = await import('./server-fixture')
    const request = await playwright.request.newContext({ baseURL: e2eBaseUrl() })
    const token = await apiToken(request)
    await ensureDemo(request, token)
    const holder = await enrolOne(request, token, {
      pan: testPan('466666', 100_000 + (Date.now() % 800_000)),
      name,
      mobile: '+447700900311',
    })
    await assignToken(request, token, holder.id, serial, secret)
    // An agent: cardholders.read/write and dongles.service, but not the dongle inventory.
    agent = await ensureOperator(request, token, `token-agent-${suffix}`, 'agent')
    await request.dispose()
  })

  test('sees the token, locks it with a reason, unlocks it, resyncs it and reports it lost', async ({
    consolePage,
    page,
  }) => {
    await page.addInitScript({ path: axePath })
    await consolePage.open('/cardholders')
    await consolePage.signIn(agent.username, agent.password)
    await expect(consolePage.heading).toHaveText('Cardholders')
    await page.getByLabel('Search by').selectOption('name')
    await page.getByLabel('Search for').fill(name)
    await page.getByRole('button', { name: 'Search' }).click()
    await page.getByRole('table', { name: 'Cardholders found' }).getByRole('button', { name }).click()

    await expect(page.getByRole('heading', { name: 'OTP tokens' })).toBeVisible()
    const tokens = page.getByRole('table', { name: `OTP tokens of ${name}` })
    const row = tokens.getByRole('row').filter({ hasText: serial })
    await expect(row).toContainText('In use')
    await expect(row).toContainText('HOTP, 6 digits')
    await expect(page.getByRole('heading', { name: `Help with token ${serial}` })).toBeVisible()
    expect(await seriousViolations(page), 'cardholder with a token').toEqual([])

    await page.getByLabel(`Reason for locking token ${serial}`).fill('Caller suspects misuse')
    await page.getByRole('button', { name: 'Lock', exact: true }).click()
    await expect(page.getByRole('status').filter({ hasText: `Token ${serial} is locked` })).toBeVisible()
    await expect(row).toContainText('Locked by an operator')
    await expect(row).toContainText('Caller suspects misuse')

    await page.getByRole('button', { name: 'Unlock', exact: true }).click()
    await expect(page.getByRole('status').filter({ hasText: `Token ${serial} is unlocked` })).toBeVisible()
    await expect(row).toContainText('In use')
    await consolePage.screenshotTo('cardholder token')

    // Six digits, checked by the browser first (a pattern written as pattern="[0-9]{6}" would compile to "[0-9]6").
    const first = page.getByLabel('First code')
    await first.fill('12345')
    expect(await first.evaluate((el: HTMLInputElement) => el.checkValidity())).toBe(false)
    await first.fill(code(40))
    expect(await first.evaluate((el: HTMLInputElement) => el.checkValidity())).toBe(true)
    await page.getByLabel('Next code').fill(code(41))
    await page.getByRole('button', { name: 'Resynchronise' }).click()
    await expect(
      page.getByRole('status').filter({ hasText: `Token ${serial} is resynchronised` }),
    ).toBeVisible()

    // Lost is final: the form asks once more.
    await page.getByLabel('Lost or stolen', { exact: true }).selectOption('lost')
    await page.getByLabel('What the cardholder said').fill('Left it on a train')
    await page.getByRole('button', { name: 'Report lost or stolen…' }).click()
    expect(await seriousViolations(page), 'lost confirmation').toEqual([])
    await page.getByRole('button', { name: `Confirm: token ${serial} is lost` }).click()
    await expect(
      page.getByRole('status').filter({ hasText: `Token ${serial} is reported lost` }),
    ).toBeVisible()
    await expect(row).toContainText('Lost or stolen')
    await expect(row).toContainText('lost: Left it on a train')
    await expect(page.getByRole('heading', { name: `Help with token ${serial}` })).toHaveCount(0)
    expect(await seriousViolations(page), 'after the actions').toEqual([])

    // Each action is in the audit log under the agent's name.
    const audit = await page.request.get(
      `/api/audit?action=dongle.&actor=${encodeURIComponent(`operator:${agent.username}`)}`,
      { headers: bearer(await apiToken(page.request)) },
    )
    const actions = ((await audit.json()) as { items: { action: string; target: string }[] }).items
      .filter((entry) => entry.target === `dongle:${serial}`)
      .map((entry) => entry.action)
    expect(actions.sort()).toEqual(['dongle.lock', 'dongle.lost', 'dongle.resync', 'dongle.unlock'])
  })
})
