import { BrowserWindow } from 'electron'
import { APP_START_URL } from './policy/app-url.std'
import { consoleWindowOptions } from './policy/window-options.std'

export function createConsoleWindow(preloadPath: string, devTools: boolean): BrowserWindow {
  const window = new BrowserWindow(consoleWindowOptions({ preloadPath, devTools }))
  window.once('ready-to-show', () => window.show())
  window.loadURL(APP_START_URL).catch((error: unknown) => {
    console.error(
      'The console page could not be loaded:',
      error instanceof Error ? error.message : String(error),
    )
  })
  return window
}
