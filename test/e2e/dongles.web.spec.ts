import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import type { Page } from '@playwright/test'
import { exportPskc } from '../../src-server/dongles/pskc/export'
import { PARALLEL_MIN_BYTES } from '../../src-server/dongles/pskc/parallel'
import { sampleSeeds } from '../../src-server/dongles/pskc/seeds.fixture'
import { hotp } from '../../src-server/otp/oath'
import { testPan } from '../helpers/cards'
import { REPO_ROOT } from '../helpers/process'
import { openPtyPair, type PtyPair } from '../helpers/pty'
import { E2E_ADMIN, e2eBaseUrl } from './server-fixture'
import { expect, test } from './console'

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js')

async function seriousViolations(page: Page): Promise<string[]> {
  const { violations } = await page.evaluate(() =>
    (
      window as unknown as {
        axe: {
          run(
            c: unknown,
            o: unknown,
          ): Promise<{ violations: { id: string; impact: string | null; help: string }[] }>
        }
      }
    ).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice'] },
    }),
  )
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help}`)
}

/** Direct API calls for what the page under test does not do itself (creating a cardholder). */
async function apiCall(path: string, body: unknown): Promise<Record<string, unknown>> {
  const base = e2eBaseUrl()
  const session = (await (
    await fetch(`${base}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: E2E_ADMIN.username, password: E2E_ADMIN.password }),
    })
  ).json()) as { token: string }
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${session.token}` },
    body: JSON.stringify(body),
  })
  return (await res.json()) as Record<string, unknown>
}

test.describe('Dongles page', () => {
  let pty: PtyPair
  let simulator: ChildProcess
  const secret = randomBytes(20)
  const serial = `E2E${Date.now().toString(36).toUpperCase()}`

  // The serial programmer simulator runs as `ims dongle simulate` on one end of a socat pty pair; the server
  // is told about the other end through the page (which calls POST /api/dongles/programmers).
  test.beforeAll(async () => {
    pty = await openPtyPair()
    simulator = spawn(
      process.execPath,
      [
        'bin/ims.js',
        'dongle',
        'simulate',
        '--device',
        pty.b,
        '--tokens',
        '5',
        '--serial-prefix',
        `PW${Date.now() % 100000}-`,
      ],
      { cwd: REPO_ROOT, stdio: 'ignore' },
    )
  })
  test.afterAll(async () => {
    if (simulator.exitCode === null) {
      const exited = new Promise((resolve) => simulator.once('exit', resolve))
      simulator.kill('SIGTERM')
      await exited
    }
    await pty.close()
  })

  test.beforeEach(async ({ consolePage, page }) => {
    await page.addInitScript({ path: axePath })
    await consolePage.open('/dongles')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await expect(consolePage.heading).toHaveText('Dongles')
  })

  test('imports seeds with a progress bar, and shows the error report of a broken file', async ({
    consolePage,
    page,
  }) => {
    await page.getByRole('button', { name: 'Import' }).click()
    await page.getByLabel('Seed file').setInputFiles({
      name: 'broken.pskcxml',
      mimeType: 'application/xml',
      buffer: Buffer.from(
        '<KeyContainer Version="1.0">\n<KeyPackage><Key Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp"><Data><Secret><PlainValue>!!</PlainValue></Secret></Data></Key></KeyPackage>\n</KeyContainer>',
      ),
    })
    await page.getByRole('button', { name: 'Import', exact: true }).last().click()
    await expect(page.getByTestId('import-errors')).toContainText('not valid base64')
    await expect(page.getByRole('status').filter({ hasText: 'Nothing was imported' })).toBeVisible()
    expect(await seriousViolations(page), 'import report').toEqual([])

    await page.getByLabel('Seed file').setInputFiles({
      name: 'tokens.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(`${serial},${secret.toString('hex')},hotp,6\n`),
    })
    await page.getByLabel('Batch').fill('e2e batch')
    await page.getByRole('button', { name: 'Import', exact: true }).last().click()
    await expect(page.getByText('1 token(s) added to the inventory (batch e2e batch)')).toBeVisible()
    await expect(page.locator('progress')).toHaveAttribute('value', '100')
    await consolePage.screenshotTo('dongles import')
  })

  test('imports a 2,000-token password-protected PSKC file, read by the bundled parse workers', async ({
    page,
  }) => {
    // Over PARALLEL_MIN_BYTES, so the server (out/main/server.js) reads it with its worker threads.
    const seeds = sampleSeeds(2000, `PX${Date.now() % 100000}-`)
    const file = Buffer.from(exportPskc(seeds, { password: 'e2e pskc password', iterations: 1000 }))
    expect(file.length).toBeGreaterThan(PARALLEL_MIN_BYTES)
    await page.getByRole('button', { name: 'Import' }).click()
    await page.getByLabel('Seed file').setInputFiles({
      name: 'vendor.pskcxml',
      mimeType: 'application/xml',
      buffer: file,
    })
    await page.getByLabel('Password').fill('e2e pskc password')
    await page.getByRole('button', { name: 'Import', exact: true }).last().click()
    await expect(page.getByText('2000 token(s) added to the inventory (batch vendor.pskcxml)')).toBeVisible({
      timeout: 20_000,
    })
    await expect(page.locator('progress')).toHaveAttribute('value', '100')
  })

  test('assigns the imported token to a cardholder by serial and tests a code', async ({
    consolePage,
    page,
  }) => {
    const issuer = await apiCall('/api/issuers', {
      name: 'E2E Dongle Bank',
      acsReferenceNumber: `ACS-${serial}`,
    })
    await apiCall('/api/card-ranges', {
      issuerId: issuer.id,
      brand: 'visa',
      startPrefix: '4',
      endPrefix: '4',
    })
    const holder = await apiCall('/api/cardholders', {
      pan: testPan('455555', Date.now() % 1_000_000),
      expiry: '2912',
      name: 'Dana Dongle',
      mobile: '+447700900777',
      language: 'en',
      method: 'dongle',
    })
    await page.getByLabel('Serial (type or scan)').fill(serial)
    await page.getByRole('button', { name: 'Search' }).click()
    await page.getByRole('button', { name: serial }).click()
    await page.getByLabel('Cardholder id').last().fill(String(holder.id))
    await page.getByRole('button', { name: 'Assign' }).click()
    await expect(page.getByTestId('token-state')).toHaveText('assigned')
    await page.getByLabel('Code', { exact: true }).fill(hotp(secret, 0, { algorithm: 'SHA1', digits: 6 }))
    await page.getByRole('button', { name: 'Test code' }).click()
    await expect(page.getByTestId('action-result')).toHaveText('Test code: accepted')
    await page.getByLabel('Code', { exact: true }).fill(hotp(secret, 0, { algorithm: 'SHA1', digits: 6 }))
    await page.getByRole('button', { name: 'Test code' }).click()
    await expect(page.getByTestId('action-result')).toHaveText('Test code: not accepted')
    expect(await seriousViolations(page), 'inventory with a token').toEqual([])
    await consolePage.screenshotTo('dongles inventory')

    // The backup of the assigned tokens needs a second person: refused with the admin's own credentials,
    // downloaded once another operator with dongle management approves.
    const bench = `bench${serial.toLowerCase()}`
    await apiCall('/api/operators', {
      username: bench,
      displayName: 'Second Person',
      role: 'bench',
      password: 'second-person-7731',
    })
    const backup = page.getByRole('form', { name: 'Backup of assigned tokens' })
    await backup.getByLabel('Backup password (12+ characters)').fill('backup-password-42')
    await backup.getByLabel('Their username').fill(E2E_ADMIN.username)
    await backup.getByLabel('Their password').fill(E2E_ADMIN.password)
    await backup.getByRole('button', { name: 'Download encrypted PSKC backup' }).click()
    await expect(page.getByRole('alert')).toContainText('The second person must be another operator')
    await backup.getByLabel('Their username').fill(bench)
    await backup.getByLabel('Their password').fill('second-person-7731')
    // An authenticator's six digits are a valid entry (the field's pattern once compiled to "[0-9]6").
    const code = backup.getByLabel('Their authenticator code (if they use one)')
    await code.fill('123456')
    expect(await code.evaluate((el: HTMLInputElement) => el.checkValidity())).toBe(true)
    await code.fill('')
    const download = page.waitForEvent('download')
    await backup.getByRole('button', { name: 'Download encrypted PSKC backup' }).click()
    expect((await download).suggestedFilename()).toBe('dongles-backup.pskcxml')
    expect(await seriousViolations(page), 'backup form').toEqual([])
  })

  test('bench wizard: configures the serial programmer, detects the token, programs, verifies, labels', async ({
    consolePage,
    page,
  }) => {
    await page.getByRole('button', { name: 'Bench' }).click()
    await expect(page.getByTestId('programmers')).toContainText('USB (YubiKey)')
    await page.getByLabel('Name').fill(`Bench ${serial}`)
    await page.getByLabel('Port (device path or tcp://host:port)').fill(pty.a)
    await page.getByRole('button', { name: 'Add serial programmer' }).click()
    await expect(page.getByTestId('detected-device').first()).toContainText('PW')
    await page.getByRole('combobox', { name: 'Programmer' }).selectOption({ label: `Bench ${serial}` })
    await page.getByLabel('Hash').selectOption('SHA256')
    await page.getByRole('button', { name: 'Start' }).click()
    await expect(page.getByTestId('run-status')).toHaveText('done', { timeout: 15_000 })
    const steps = page.getByRole('list', { name: 'Steps' })
    for (const step of [
      'detected',
      'seed: generated (CSPRNG)',
      'programmed',
      'verified',
      'labelled',
      'stored',
    ]) {
      await expect(steps).toContainText(step)
    }
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Download label' }).click()
    expect((await download).suggestedFilename()).toMatch(/^label-PW.*\.pdf$/)
    expect(await seriousViolations(page), 'bench wizard').toEqual([])
    await consolePage.screenshotTo('dongles bench')
  })
})
