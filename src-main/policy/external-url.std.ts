import { parseUrl } from './app-url.std'

/**
 * Validates a URL before it is handed to the operating system's browser (`shell.openExternal`): only http(s),
 * a real host and no embedded credentials. Anything else (file:, smb:, custom schemes that launch programs) is
 * refused, because openExternal on such a URL can execute code outside the sandbox.
 */
export function toSafeExternalUrl(value: unknown): string | null {
  const url = parseUrl(value)
  if (!url) return null
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null
  if (url.hostname === '' || url.username !== '' || url.password !== '') return null
  return url.href
}

/** Opens the URL with the given side effect when it passes {@link toSafeExternalUrl}; says whether it did. */
export async function openExternalUrl(
  value: unknown,
  open: (url: string) => Promise<void>,
): Promise<boolean> {
  const safe = toSafeExternalUrl(value)
  if (safe === null) return false
  await open(safe)
  return true
}
