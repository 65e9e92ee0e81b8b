import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { _electron as electron, expect, test, type ElectronApplication, type Page } from '@playwright/test'
import { findElectronExecutable } from './electron-binary'
import { E2E_ADMIN } from './server-fixture'

/**
 * Desktop smoke tests: boot, the app:// protocol and its API forwarding, navigation security and the bridge.
 * They need the Electron binary (release machine); elsewhere they skip with the reason below.
 */
const executablePath = findElectronExecutable()
const repo = resolve(import.meta.dirname, '../..')

test.skip(
  executablePath === null,
  'No Electron binary: node_modules/electron/path.txt + dist/ are absent and ELECTRON_EXEC_PATH is not set.',
)
test.describe.configure({ mode: 'serial' })

let app: ElectronApplication
let consoleWindow: Page
let dataDir: string

test.beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ims-electron-e2e-'))
  const init = spawnSync(
    process.execPath,
    ['bin/ims.js', 'init', '--admin', E2E_ADMIN.username, '--password-stdin'],
    {
      cwd: repo,
      env: { ...process.env, IMS_DATA_DIR: dataDir },
      input: `${E2E_ADMIN.password}\n`,
    },
  )
  expect(init.status, init.stderr.toString()).toBe(0)
  app = await electron.launch({
    executablePath: executablePath!,
    // basic_text is refused by the shell, so the server uses the key file `ims init` just wrote.
    args: [repo, '--password-store=basic', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
    env: { ...process.env, IMS_DATA_DIR: dataDir },
  })
  consoleWindow = await app.firstWindow()
})

test.afterAll(async () => {
  await app?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

test('boots on app://console with the CSP header and the sign-in page', async () => {
  await expect(consoleWindow.getByLabel('Username')).toBeVisible()
  expect(consoleWindow.url()).toMatch(/^app:\/\/console\//)
  const csp = await consoleWindow.evaluate(async () =>
    (await fetch('/')).headers.get('content-security-policy'),
  )
  expect(csp).toContain("default-src 'none'")
})

test('signs in through the API forwarded by the protocol handler', async () => {
  await consoleWindow.getByLabel('Username').fill(E2E_ADMIN.username)
  await consoleWindow.getByLabel('Password').fill(E2E_ADMIN.password)
  await consoleWindow.getByRole('button', { name: 'Sign in' }).click()
  await expect(consoleWindow.getByTestId('operator-role')).toHaveText('Administrator')
})

test('the page has no Node and sees the bridge as functions only', async () => {
  const shape = await consoleWindow.evaluate(() => ({
    require: typeof (globalThis as { require?: unknown }).require,
    process: typeof (globalThis as { process?: unknown }).process,
    bridge: Object.entries(window.desktop ?? {}).map(([name, value]) => `${name}:${typeof value}`),
  }))
  expect(shape.require).toBe('undefined')
  expect(shape.process).toBe('undefined')
  expect(shape.bridge.sort()).toEqual([
    'keychainStatus:function',
    'notify:function',
    'openFile:function',
    'saveFile:function',
  ])
  expect(await consoleWindow.evaluate(() => window.desktop!.keychainStatus())).toMatchObject({
    mode: 'key-file',
  })
})

test('the window cannot be navigated away or open new windows; links go to the system browser', async () => {
  // Record instead of launching a browser; the shell reads shell.openExternal at call time.
  await app.evaluate(({ shell }) => {
    const opened: string[] = []
    ;(globalThis as { openedExternally?: string[] }).openedExternally = opened
    shell.openExternal = async (url: string) => {
      opened.push(url)
    }
  })
  await consoleWindow.evaluate(() => {
    location.href = 'https://example.com/navigated'
  })
  await consoleWindow.waitForTimeout(500)
  expect(consoleWindow.url()).toMatch(/^app:\/\/console\//)
  expect(await consoleWindow.evaluate(() => window.open('https://example.com/popup') === null)).toBe(true)
  expect(await consoleWindow.evaluate(() => window.open('file:///etc/passwd') === null)).toBe(true)
  expect(app.windows()).toHaveLength(1)
  const opened = await app.evaluate(() => (globalThis as { openedExternally?: string[] }).openedExternally)
  // http(s) links leave for the system browser; file: is refused by the external-link validator.
  expect(opened).toEqual(['https://example.com/navigated', 'https://example.com/popup'])
})

test('the bridge refuses invalid payloads', async () => {
  const error = await consoleWindow.evaluate(() =>
    window.desktop!.saveFile({ suggestedName: '../../etc/passwd', content: 'x' }).then(
      () => null,
      (e: Error) => e.message,
    ),
  )
  expect(error).toContain('Refused: invalid')
})
