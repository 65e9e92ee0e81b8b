/**
 * The SMS & modems page against the real server and a simulated modem (TCP, started in the test): add the
 * modem, probe it, switch the gateway, send a test SMS, and watch an incoming SMS arrive live (SSE).
 */
import { createRequire } from 'node:module'
import { createServer, type Server } from 'node:net'
import type { Page } from '@playwright/test'
import { ModemSimulator } from '../../hardware/sim/modem/simulator'
import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js')

interface AxeViolation {
  id: string
  impact: string | null
  nodes: { target: unknown[] }[]
}
type WithAxe = { axe: { run(context: unknown, options: unknown): Promise<{ violations: AxeViolation[] }> } }

async function seriousViolations(page: Page): Promise<string[]> {
  const { violations } = await page.evaluate(() =>
    (window as unknown as WithAxe).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice'] },
    }),
  )
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`)
}

let sim: ModemSimulator
let tcp: Server
let modemUrl: string

test.beforeAll(async () => {
  sim = new ModemSimulator({ reportDelayMs: -1, latencyMs: 50 })
  tcp = createServer((socket) => {
    socket.setNoDelay(true)
    sim.attach(socket)
  })
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve))
  modemUrl = `tcp://127.0.0.1:${(tcp.address() as { port: number }).port}`
})
test.afterAll(async () => {
  sim.close()
  await new Promise<void>((resolve) => tcp.close(() => resolve()))
})

test('SMS & modems: add a simulated modem, send through it, see replies arrive live', async ({
  consolePage,
  page,
}) => {
  test.setTimeout(60_000)
  await page.addInitScript({ path: axePath })
  await consolePage.open('/sms')
  await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
  await expect(consolePage.heading).toHaveText('SMS & modems')
  await expect(page.getByText('Live: this page updates by itself.')).toBeVisible()
  await expect(page.getByText(/No modem is configured/)).toBeVisible()
  expect(await seriousViolations(page), 'empty page').toEqual([])

  // A wrong address is refused in words.
  await page.getByLabel('Port').selectOption({ label: 'Another device path or tcp://host:port…' })
  await page.getByLabel('Device path or TCP address').fill('/dev/ttyNOPE3')
  await page.getByLabel('Name', { exact: true }).fill('bench-gsm')
  await page.getByRole('button', { name: 'Add modem' }).click()
  await expect(page.getByRole('alert')).toContainText('/dev/ttyNOPE3 does not exist')

  await page.getByLabel('Device path or TCP address').fill(modemUrl)
  await page.getByRole('button', { name: 'Probe this port' }).click()
  await expect(page.getByText(`${modemUrl} answered:`)).toBeVisible()
  await page.getByRole('button', { name: 'Add modem' }).click()
  const card = page.getByRole('article', { name: 'bench-gsm' })
  await expect(card).toBeVisible()
  await expect(card).toContainText('Not in use (the virtual phone is the gateway)')

  await page.getByLabel(/The GSM modem pool/).check()
  // Live updates (SSE) bring the modem to "Ready" without a reload.
  await expect(card.getByText('Ready', { exact: true })).toBeVisible({ timeout: 15_000 })
  await expect(card).toContainText('home, IMS SIM NET')

  await card.getByLabel('To').fill('+447700900123')
  const send = card.getByRole('button', { name: 'Send test SMS' })
  await consolePage.focusByKeyboard(send)
  await page.keyboard.press('Enter')
  await expect(card.getByText(/Test SMS accepted by the network/)).toBeVisible()
  expect(sim.sent.at(-1)).toMatchObject({ to: '+447700900123' })

  sim.injectSms({ from: '+447700900999', text: 'YES 4821' })
  const inbox = page.getByRole('region', { name: 'Inbox' })
  // Digit runs are masked: what a cardholder texts may be a code.
  await expect(inbox.getByRole('cell', { name: 'YES ••••' })).toBeVisible()
  await expect(inbox.getByRole('cell', { name: 'bench-gsm' })).toBeVisible()

  expect(await seriousViolations(page), 'page with a modem and messages').toEqual([])
  await consolePage.screenshotTo('SMS & modems with a simulated modem')

  // Leave the shared e2e server as it was: virtual phone, no modem.
  await page.getByLabel(/The virtual phone/).check()
  await expect(card).toContainText('Not in use')
  await card.getByRole('button', { name: 'Remove…' }).click()
  await card.getByRole('button', { name: 'Confirm removal of bench-gsm' }).click()
  await expect(page.getByText(/No modem is configured/)).toBeVisible()
})
