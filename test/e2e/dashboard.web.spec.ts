import type { Locator, Page } from '@playwright/test'
import { axePath, seriousViolations } from './axe'
import { apiToken, bearer, ensureDemo, labPurchase, smsFrom, testPan } from './console-data'
import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

const number = async (locator: Locator) => Number((await locator.textContent())!.replace(/\D/g, ''))

/** Marks the document: a reload would lose the mark. */
const markDocument = (page: Page) =>
  page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true))
const notReloaded = (page: Page) =>
  page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)

test.describe('dashboard', () => {
  test.beforeEach(async ({ page }) => {
    await page.addInitScript({ path: axePath })
  })

  test('figures per brand and period, charts with their tables, SMS health, live updates without reloading', async ({
    consolePage,
    page,
  }) => {
    test.setTimeout(90_000)
    const token = await apiToken(page.request)
    await ensureDemo(page.request, token)
    await page.setViewportSize({ width: 1280, height: 800 })
    await consolePage.open()
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await expect(page.getByTestId('live-state')).toHaveText(/^Live/)

    const total = page.getByTestId('tile-total')
    const successful = page.getByTestId('tile-successful')
    await expect(total).toBeVisible()
    const before = { total: await number(total), successful: await number(successful) }
    await markDocument(page)

    // A frictionless purchase through the lab's 3DS Server: the ACS answers Y and the tiles follow, live.
    const purchase = await labPurchase(page.request, token, {
      pan: '4242424242424242',
      amount: 1234,
      flow: 'frictionless',
      merchantName: 'Dashboard Shop',
    })
    expect(purchase.ares.transStatus).toBe('Y')
    await expect.poll(() => number(total), { timeout: 15_000 }).toBe(before.total + 1)
    expect(await number(successful)).toBe(before.successful + 1)
    const brands = page.getByRole('table', { name: 'Per brand, today' })
    await expect(brands.getByRole('row', { name: /^Visa/ })).toBeVisible()

    // An incoming SMS: the SMS panel follows too.
    const received = page.getByTestId('sms-received')
    const receivedBefore = await number(received)
    await smsFrom(page.request, token, '+447700900888', 'hello dashboard')
    await expect.poll(() => number(received), { timeout: 15_000 }).toBe(receivedBefore + 1)
    expect(await notReloaded(page)).toBe(true)

    // The period switch, by keyboard, with a visible focus.
    const month = page.getByRole('button', { name: 'Last 30 days' })
    await consolePage.focusByKeyboard(month)
    const outline = await month.evaluate((element) => getComputedStyle(element).outlineStyle)
    expect(outline).not.toBe('none')
    await page.keyboard.press('Enter')
    await expect(month).toHaveAttribute('aria-pressed', 'true')
    await expect(page.getByRole('button', { name: 'Today' })).toHaveAttribute('aria-pressed', 'false')
    await expect(page.getByRole('table', { name: 'Per brand, in the last 30 days' })).toBeVisible()
    expect(await number(total)).toBeGreaterThanOrEqual(before.total + 1)

    // Charts are canvases with a text alternative, and their numbers as tables.
    await expect(page.getByRole('img', { name: /Authentications per day, last 30 days/ })).toBeVisible()
    await expect(
      page.getByRole('img', { name: /Method mix in the last 30 days: .*No challenge/ }),
    ).toBeVisible()
    for (const details of await page.getByText('Show the numbers as a table').all()) await details.click()
    await expect(
      page
        .getByRole('table', { name: 'Authentications per day, last 30 days (UTC), by result' })
        .getByRole('row'),
    ).toHaveCount(31)
    await expect(page.getByRole('table', { name: 'Method mix in the last 30 days' })).toContainText(
      'No challenge (frictionless or refused)',
    )

    // Usable at 1280×800: nothing wider than the window.
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true)
    expect(await seriousViolations(page), 'dashboard').toEqual([])
    await consolePage.screenshotTo('dashboard 1280x800')
    await page.setViewportSize({ width: 1920, height: 1080 })
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true)
    await consolePage.screenshotTo('dashboard 1920x1080')

    await page.getByRole('button', { name: 'Live updates' }).click()
    await expect(page.getByRole('button', { name: 'Live updates' })).toHaveAttribute('aria-pressed', 'false')
    await expect(page.getByTestId('live-state')).toHaveText('Live updates paused')
  })

  test('alarms: a card range without keys, the U/22 it causes, acknowledged here, cleared by disabling the range', async ({
    consolePage,
    page,
  }) => {
    test.setTimeout(90_000)
    const token = await apiToken(page.request)
    await ensureDemo(page.request, token)
    await consolePage.open()
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    const alarms = page.getByRole('region', { name: /^Alarms/ })
    await expect(alarms).toBeVisible()
    await markDocument(page)

    const issuers = (await (await page.request.get('/api/issuers', { headers: bearer(token) })).json()) as {
      id: number
    }[]
    const created = await page.request.post('/api/card-ranges', {
      headers: bearer(token),
      data: { issuerId: issuers[0].id, brand: 'jcb', startPrefix: '358999', endPrefix: '358999' },
    })
    expect(created.status()).toBe(201)
    const range = (await created.json()) as { id: number }
    const condition = alarms
      .getByRole('listitem')
      .filter({ hasText: 'Card range 358999–358999 (jcb) has no authentication-value keys' })
    await expect(condition).toBeVisible({ timeout: 15_000 })
    await expect(condition).toContainText(`PUT /api/card-ranges/${range.id}/keys`)

    // An AReq for a card of that range is answered U/22, and the ACS records an alarm an operator acknowledges.
    const refused = await labPurchase(page.request, token, { pan: testPan('358999', 1), amount: 100 })
    expect(refused.ares).toMatchObject({ transStatus: 'U', transStatusReason: '22' })
    const recorded = alarms
      .getByRole('listitem')
      .filter({ hasText: /358999-358999 \(jcb\).*AReqs answered U\/22/ })
    await expect(recorded).toBeVisible({ timeout: 15_000 })
    expect(await seriousViolations(page), 'dashboard with alarms').toEqual([])
    await consolePage.screenshotTo('dashboard alarms')
    await recorded.getByRole('button', { name: /^Acknowledge/ }).click()
    await expect(alarms.getByRole('status')).toContainText('Alarm acknowledged')
    await expect(recorded).toHaveCount(0)

    // Disabling the range ends the condition: the alarm leaves by itself.
    const disabled = await page.request.patch(`/api/card-ranges/${range.id}`, {
      headers: bearer(token),
      data: { status: 'disabled' },
    })
    expect(disabled.status()).toBe(200)
    await expect(condition).toHaveCount(0, { timeout: 15_000 })
    expect(await notReloaded(page)).toBe(true)
  })
})
