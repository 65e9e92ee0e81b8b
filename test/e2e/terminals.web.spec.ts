import { expect, test } from './console'
import { axePath, seriousViolations } from './keys-axe'
import { E2E_ADMIN } from './server-fixture'

test('Terminals: register a terminal, see its signed parameters and block a card', async ({
  consolePage,
  page,
  request,
}) => {
  await page.addInitScript({ path: axePath })
  const { token } = (await (await request.post('/api/session', { data: E2E_ADMIN })).json()) as {
    token: string
  }
  const auth = { authorization: `Bearer ${token}` }
  const key = (await (
    await request.post('/api/keys', {
      headers: auth,
      data: { name: 'E2E TMS signing', kind: 'signing', algorithm: 'ecdsa-p256' },
    })
  ).json()) as { id: number }
  await request.post(`/api/keys/${key.id}/activate`, { headers: auth })
  const set = await request.post('/api/terminal-parameter-sets', {
    headers: auth,
    data: {
      name: 'E2E retail',
      signingKeyId: key.id,
      parameters: {
        currencyCode: '978',
        countryCode: '250',
        terminalType: '22',
        terminalCapabilities: 'E0F8C8',
        additionalTerminalCapabilities: 'F000F0A001',
        floorLimit: 5000,
        randomSelection: { threshold: 2000, targetPercent: 20, maxTargetPercent: 50 },
        tacDenial: '0010000000',
        tacOnline: 'DC4004F800',
        tacDefault: 'DC4000A800',
      },
    },
  })
  expect(set.status()).toBe(201)

  await consolePage.open('/terminals')
  await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
  await consolePage.navLink('Terminals').click()
  const register = page.getByRole('form', { name: 'Register a terminal' })
  await register.getByLabel('Terminal ID').fill('E2ETERM1')
  await register.getByLabel('Merchant ID').fill('MERCHANT0042')
  await register.getByLabel('Acquirer ID').fill('123456')
  await register.getByLabel('Name').fill('Bench till')
  await register.getByRole('button', { name: 'Register' }).click()
  await expect(page.getByRole('status')).toContainText('API key for E2ETERM1')
  await expect(page.getByRole('cell', { name: /E2ETERM1/ })).toBeVisible()

  await page.getByLabel('PAN to block').fill('4761739001010010')
  await page.getByRole('button', { name: 'Add to exception list' }).click()
  await expect(page.getByText('476173******0010')).toBeVisible()
  await expect(page.getByText('4761739001010010')).toHaveCount(0)
  await page.getByText(/E2E retail v1, signed by E2E TMS signing/).click()
  await expect(page.getByText('floorLimit')).toBeVisible()
  expect(await seriousViolations(page), 'terminals page').toEqual([])
  await consolePage.screenshotTo('terminals')
})
