/**
 * Electron main process: a thin shell. It starts the IMS server in a utilityProcess, serves the console on
 * app://console and wires the security policies from ./policy (which are Electron-free and unit-tested).
 */
import { join } from 'node:path'
import { app, BrowserWindow, dialog, protocol, session } from 'electron'
import { registerBridgeIpc } from './ipc.main'
import { resolveDataDir } from '../src-server/config'
import { setUpMasterKey } from './master-key.main'
import { quitAfter } from './policy/graceful-quit.std'
import { keychainStatusOf } from './policy/master-key-source.std'
import { APP_SCHEME } from './policy/app-url.std'
import { CONSOLE_PARTITION } from './policy/window-options.std'
import { registerAppProtocol } from './protocol.main'
import { denyAllPermissions, installWebContentsGuards } from './security.main'
import { ServerSupervisor } from './server-process.main'
import { createConsoleWindow } from './window.main'

const outDir = join(import.meta.dirname, '..')

// Must happen before `ready`: app:// behaves like https (standard, secure origin) and supports fetch().
protocol.registerSchemesAsPrivileged([
  {
    scheme: APP_SCHEME,
    privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true },
  },
])
app.enableSandbox()

let consoleWindow: BrowserWindow | null = null
let server: ServerSupervisor | null = null

function failAndQuit(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error)
  console.error(message)
  dialog.showErrorBox('Issuer operations could not start', message)
  app.quit()
}

async function start(): Promise<void> {
  installWebContentsGuards()
  const consoleSession = session.fromPartition(CONSOLE_PARTITION, { cache: false })
  denyAllPermissions(consoleSession)

  // The same data folder the CLI and the headless server use, so `npx ims …` works on the desktop's data.
  const dataDir = resolveDataDir()
  const masterKey = await setUpMasterKey(dataDir)
  server = new ServerSupervisor({
    serverPath: join(outDir, 'main', 'server.js'),
    dataDir,
    masterKey: masterKey.message,
    onGiveUp: failAndQuit,
  })
  const supervisor = server
  registerAppProtocol(consoleSession, {
    rendererRoot: join(outDir, 'renderer'),
    serverUrl: () => supervisor.url,
  })
  registerBridgeIpc({ keychainStatus: () => keychainStatusOf(masterKey.source) })

  await supervisor.start()
  consoleWindow = createConsoleWindow(join(outDir, 'preload', 'preload.cjs'), !app.isPackaged)
  consoleWindow.on('closed', () => (consoleWindow = null))
}

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  app.on('second-instance', () => {
    if (!consoleWindow) return
    if (consoleWindow.isMinimized()) consoleWindow.restore()
    consoleWindow.focus()
  })
  app.on('window-all-closed', () => app.quit())
  // The quit waits for the server to close its database and modems (graceful-quit.std.ts).
  app.on(
    'before-quit',
    quitAfter(
      () => server?.stop() ?? Promise.resolve(),
      () => app.quit(),
    ),
  )
  app.whenReady().then(start).catch(failAndQuit)
}
