/**
 * The console's own origin in the desktop app. The renderer is served from `app://console/` by the privileged
 * protocol handler, so this origin is the only one allowed to run inside the window or talk to main over IPC.
 */
export const APP_SCHEME = 'app'
export const APP_HOST = 'console'
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`
export const APP_START_URL = `${APP_ORIGIN}/`

/** Parses a URL that arrives as untrusted input; anything that is not a string or not parseable gives null. */
export function parseUrl(value: unknown): URL | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > 8192) return null
  try {
    return new URL(value)
  } catch {
    return null
  }
}

/** True only for URLs on the console's own `app://console` origin (the window may navigate there, nowhere else). */
export function isInternalUrl(value: unknown): boolean {
  const url = parseUrl(value)
  if (!url) return false
  return (
    url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST && url.username === '' && url.password === ''
  )
}
