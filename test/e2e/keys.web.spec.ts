import { writeFileSync } from 'node:fs'
import type { APIRequestContext, Browser, Page } from '@playwright/test'
import { authenticator } from 'otplib'
import { toHex } from '../../src-server/keys/crypto/bytes'
import { keyCheckValue } from '../../src-server/keys/crypto/kcv'
import { createLabCa } from '../../src-server/keys/crypto/lab-pki'
import { createCrl } from '../../src-server/keys/crypto/pki'
import { ConsolePage, expect, test } from './console'
import { withSecondAdmin } from './console-data'
import { axePath, seriousViolations } from './keys-axe'
import { E2E_ADMIN, e2eBaseUrl } from './server-fixture'

const COMPONENTS = ['3B577FB3FD756DDFE62F6B52751580E0', 'D9CDE338A104A789859E76150B543251']
const kcvOf = (hex: string) => toHex(keyCheckValue('tdes', Buffer.from(hex, 'hex')))
const PASSWORD = 'Vault-lantern-river-8812'

function totpAt(secret: string, epoch: number): string {
  // A clone: setting the shared instance's epoch would freeze every later spec's codes in this worker.
  return authenticator.clone({ ...authenticator.options, epoch }).generate(secret)
}

async function adminToken(request: APIRequestContext): Promise<string> {
  const res = await request.post('/api/session', { data: E2E_ADMIN })
  return ((await res.json()) as { token: string }).token
}

/**
 * A custodian with TOTP enrolled through the API; returns the secret for the browser sign-in. Making a
 * custodian is under dual control: `approver` is a second admin.
 */
async function custodian(
  request: APIRequestContext,
  token: string,
  username: string,
  approver: { username: string; password: string },
): Promise<string> {
  const created = await request.post('/api/operators', {
    headers: { authorization: `Bearer ${token}` },
    data: { username, displayName: username, role: 'key-custodian', password: PASSWORD, approver },
  })
  expect(created.status()).toBe(201)
  const session = (await (
    await request.post('/api/session', { data: { username, password: PASSWORD } })
  ).json()) as {
    token: string
  }
  const auth = { authorization: `Bearer ${session.token}` }
  const { secret } = (await (await request.post('/api/me/totp', { headers: auth })).json()) as {
    secret: string
  }
  const confirmed = await request.post('/api/me/totp/confirm', {
    headers: auth,
    data: { code: totpAt(secret, Date.now()) },
  })
  expect(confirmed.status()).toBe(204)
  return secret
}

/** Signs a custodian in through the page, password then the one-time code of the next 30 s step. */
async function signInWithTotp(
  browser: Browser,
  username: string,
  secret: string,
): Promise<{ page: Page; console: ConsolePage }> {
  const context = await browser.newContext({ baseURL: e2eBaseUrl() })
  const page = await context.newPage()
  const console = new ConsolePage(page)
  await console.open('/keys')
  await console.signIn(username, PASSWORD)
  await page.getByLabel('One-time code').fill(totpAt(secret, Date.now() + 30_000))
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByTestId('operator-role')).toHaveText('Key custodian')
  await console.navLink('Keys & PEDs').click()
  return { page, console }
}

test.describe('Keys & PEDs', () => {
  test('a ceremony with two custodians in two browsers: each sees only their own KCV, then the key KCV', async ({
    consolePage,
    page,
    browser,
    request,
  }) => {
    await page.addInitScript({ path: axePath })
    const token = await adminToken(request)
    const [carolSecret, daveSecret] = await withSecondAdmin(request, token, async (approver) => [
      await custodian(request, token, 'e2e-carol', approver),
      await custodian(request, token, 'e2e-dave', approver),
    ])

    await consolePage.open('/keys')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await consolePage.navLink('Keys & PEDs').click()
    await expect(page.getByText('Live progress connected.')).toBeVisible()
    const open = page.getByRole('form', { name: 'Open a ceremony' })
    await open.getByLabel('Key name').fill('E2E zone KEK')
    await open.getByLabel('Kind').selectOption('kek')
    await open.getByLabel('Custodians').fill('e2e-carol, e2e-dave')
    await open.getByRole('button', { name: 'Open ceremony' }).click()
    await expect(page.getByRole('heading', { name: /E2E zone KEK/ })).toBeVisible()
    expect(await seriousViolations(page), 'Keys & PEDs page').toEqual([])
    await consolePage.screenshotTo('keys-peds (key manager)')

    const carol = await signInWithTotp(browser, 'e2e-carol', carolSecret)
    const dave = await signInWithTotp(browser, 'e2e-dave', daveSecret)
    // Dave is second in line: no entry form for him yet.
    await expect(dave.page.getByRole('heading', { name: /E2E zone KEK/ })).toBeVisible()
    await expect(dave.page.getByLabel('Your component (hex)')).toHaveCount(0)

    await carol.page.getByLabel('Your component (hex)').fill(COMPONENTS[0])
    await carol.page.getByRole('button', { name: 'Enter component' }).click()
    await expect(carol.page.getByTestId('component-kcv')).toHaveText(kcvOf(COMPONENTS[0]))
    await expect(carol.page.getByLabel('Your component (hex)')).toHaveCount(0)
    await carol.console.screenshotTo('keys-peds (first custodian)')

    await dave.page.reload()
    await expect(dave.page.getByText('e2e-carol: entered')).toBeVisible()
    await expect(dave.page.getByText(kcvOf(COMPONENTS[0]))).toHaveCount(0)
    await dave.page.getByLabel('Your component (hex)').fill(COMPONENTS[1])
    await dave.page.getByRole('button', { name: 'Enter component' }).click()
    const combined = toHex(
      Buffer.from(COMPONENTS[0], 'hex').map((b, i) => b ^ Buffer.from(COMPONENTS[1], 'hex')[i]),
    )
    await expect(dave.page.getByTestId('key-kcv')).toHaveText(kcvOf(combined))
    await dave.console.screenshotTo('keys-peds (second custodian, complete)')

    await page.reload()
    await expect(page.getByTestId('ceremony-key-kcv').first()).toHaveText(kcvOf(combined))
    await expect(page.getByRole('cell', { name: 'E2E zone KEK', exact: true })).toBeVisible()
    await carol.page.context().close()
    await dave.page.context().close()
  })

  test('the device CA’s CRL is imported from a file (DER or PEM); another CA’s is refused in words', async ({
    consolePage,
    page,
    request,
  }, testInfo) => {
    const token = await adminToken(request)
    const ca = createLabCa([['CN', 'E2E PED device CA']])
    const installed = await request.post('/api/peds/trust/lab', {
      headers: { authorization: `Bearer ${token}` },
      data: {
        caCertificatePem: ca.certificate.toString(),
        caPrivateKeyPem: ca.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
    })
    expect(installed.status()).toBe(200)
    const derFile = testInfo.outputPath('device-ca.crl')
    writeFileSync(derFile, createCrl({ issuer: ca, revokedSerialsHex: ['0A1B', '0C2D'], crlNumber: 1 }).der)
    const pemFile = testInfo.outputPath('device-ca.pem')
    const newer = createCrl({ issuer: ca, revokedSerialsHex: ['0A1B', '0C2D', '0E3F'], crlNumber: 2 })
    writeFileSync(
      pemFile,
      `-----BEGIN X509 CRL-----\n${newer.der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END X509 CRL-----\n`,
    )
    const foreignFile = testInfo.outputPath('rogue.crl')
    writeFileSync(
      foreignFile,
      createCrl({ issuer: createLabCa([['CN', 'Rogue Root']]), revokedSerialsHex: [] }).der,
    )

    await consolePage.open('/keys')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await consolePage.navLink('Keys & PEDs').click()
    const trust = page.getByTestId('ped-trust')
    await expect(trust).toContainText('CRL: none imported')
    const file = page.getByLabel('CRL from the device CA (PEM or DER)')
    const importButton = page.getByRole('button', { name: 'Import CRL' })

    await file.setInputFiles(derFile)
    await importButton.click()
    await expect(page.getByTestId('crl-imported')).toHaveText('CRL imported from device-ca.crl: 2 revoked.')
    await expect(trust).toContainText('2 revoked')

    await file.setInputFiles(pemFile)
    await importButton.click()
    await expect(page.getByTestId('crl-imported')).toHaveText('CRL imported from device-ca.pem: 3 revoked.')
    await expect(trust).toContainText('3 revoked')
    await consolePage.screenshotTo('PED trust with CRL')

    await file.setInputFiles(foreignFile)
    await importButton.click()
    await expect(page.getByRole('alert')).toContainText(
      'the revocation list is issued by another CA than the trusted one',
    )
    // The stored CRL is kept.
    await page.reload()
    await expect(page.getByTestId('ped-trust')).toContainText('3 revoked')
  })

  test('the crypto calculator computes a DUKPT PIN block and explains bad input', async ({
    consolePage,
    page,
  }) => {
    await page.addInitScript({ path: axePath })
    await consolePage.open('/crypto')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await consolePage.navLink('Crypto calculator').click()
    await page.getByLabel('Operation').selectOption('dukpt')
    await page.getByLabel('bdk').fill('0123456789ABCDEFFEDCBA9876543210')
    await page.getByLabel('ksn').fill('FFFF9876543210E00001')
    await page.getByLabel('pin', { exact: true }).fill('1234')
    await page.getByLabel('pan').fill('4012345678909')
    await page.getByRole('button', { name: 'Calculate' }).click()
    await expect(page.getByTestId('calculator-result')).toContainText('1B9C1845EB993A7A')
    expect(await seriousViolations(page), 'calculator').toEqual([])
    await consolePage.screenshotTo('crypto calculator')

    await page.getByLabel('bdk').fill('0123')
    await page.getByRole('button', { name: 'Calculate' }).click()
    await expect(page.getByRole('alert')).toContainText('--bdk must be 32 hex digits')
    // Nothing is kept in the browser either.
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toContain('0123456789')
  })
})
