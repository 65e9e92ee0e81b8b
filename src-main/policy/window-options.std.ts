import type { BrowserWindowConstructorOptions } from 'electron'

/** The console window's session: persistent (keeps the theme in localStorage) and used by nothing else. */
export const CONSOLE_PARTITION = 'persist:ims-console'

export interface ConsoleWindowInput {
  /** Absolute path of the bundled CommonJS preload (out/preload/preload.cjs). */
  preloadPath: string
  /** DevTools only for unpackaged development builds. */
  devTools: boolean
}

/**
 * Options of the console window. Every security-relevant web preference is pinned explicitly, even where it is
 * Electron's default, so a changed default or a careless edit shows up in the unit test instead of in production.
 */
export function consoleWindowOptions({
  preloadPath,
  devTools,
}: ConsoleWindowInput): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Issuer operations',
    backgroundColor: '#f6f7f9',
    webPreferences: {
      preload: preloadPath,
      partition: CONSOLE_PARTITION,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      enableBlinkFeatures: '',
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      safeDialogs: true,
      devTools,
    },
  }
}
