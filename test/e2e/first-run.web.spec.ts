import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from '@playwright/test'
import { createLogger } from '../../src-server/log'
import { startServer, type RunningServer } from '../../src-server/server'
import { axePath, seriousViolations } from './axe'

/** A brand-new installation (no operator yet): the console offers to create the first admin, once. */
let server: RunningServer
let dataDir: string

test.beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ims-first-run-'))
  server = await startServer({ env: { IMS_DATA_DIR: dataDir, IMS_PORT: '0' }, log: createLogger('silent') })
})
test.afterAll(async () => {
  await server?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

test('the first admin is created from the console and signed in', async ({ page }, testInfo) => {
  await page.addInitScript({ path: axePath })
  await page.goto(server.url)
  const form = page.getByRole('form', { name: 'Create the first administrator' })
  await expect(form).toBeVisible()
  expect(await seriousViolations(page)).toEqual([])
  await testInfo.attach('first-run.png', { body: await page.screenshot(), contentType: 'image/png' })

  await page.getByLabel('Username').fill('founder')
  await page.getByLabel('Display name').fill('Founding Admin')
  await page.getByLabel('Password (at least 12 characters)').fill('orchard-lantern-31')
  await page.getByLabel('Repeat the password').fill('orchard-lantern-32')
  await page.getByRole('button', { name: 'Create administrator' }).click()
  await expect(page.getByRole('alert')).toContainText('The two passwords differ.')

  await page.getByLabel('Repeat the password').fill('orchard-lantern-31')
  await page.getByRole('button', { name: 'Create administrator' }).click()
  await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible()
  await expect(page.getByTestId('operator-role')).toHaveText('Administrator')

  // Once an operator exists the offer is gone for everybody.
  const again = await page.request.post(`${server.url}/api/setup`, {
    data: { username: 'intruder', displayName: 'X', password: 'orchard-lantern-99' },
  })
  expect(again.status()).toBe(409)
})
