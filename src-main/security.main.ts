import { app, shell, type Session, type WebContents } from 'electron'
import { isInternalUrl } from './policy/app-url.std'
import { openExternalUrl } from './policy/external-url.std'

/** Hands a link the console may not open itself to the operating system's browser, when the validator allows it. */
function openOutside(url: string): void {
  openExternalUrl(url, (safe) => shell.openExternal(safe)).catch((error: unknown) => {
    console.warn('Could not open an external link:', error instanceof Error ? error.message : String(error))
  })
}

function guardWebContents(contents: WebContents): void {
  // No <webview>: it would be a second, unguarded browser inside the window.
  contents.on('will-attach-webview', (event) => event.preventDefault())

  // The window shows the console and nothing else; other links go to the system browser.
  contents.on('will-navigate', (event) => {
    if (isInternalUrl(event.url)) return
    event.preventDefault()
    openOutside(event.url)
  })
  contents.on('will-redirect', (event) => {
    if (!isInternalUrl(event.url)) event.preventDefault()
  })
  contents.setWindowOpenHandler(({ url }) => {
    openOutside(url)
    return { action: 'deny' }
  })
}

/** Applies the navigation guards to every web contents the app ever creates, including future ones. */
export function installWebContentsGuards(): void {
  app.on('web-contents-created', (_event, contents) => guardWebContents(contents))
}

/**
 * The console needs no browser permission (camera, geolocation, notifications, HID, serial...): hardware is
 * driven by the server and notifications go through the bridge. Deny everything on the console's session.
 */
export function denyAllPermissions(ses: Session): void {
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  ses.setPermissionCheckHandler(() => false)
  ses.setDevicePermissionHandler(() => false)
}
