import { secret } from '../sms/redact'

/**
 * Message templates: `{{pin}}` is the code, any other `{{name}}` a placeholder the sender fills per PIN.
 * The PIN goes into the text wrapped with `secret()`, so the SMS console shows it masked.
 */
const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]{0,31})\s*\}\}/g
export const PIN_PLACEHOLDER = 'pin'
/** One SMS of ten concatenated parts at most: a template that renders longer is refused. */
export const MAX_RENDERED_LENGTH = 1530

export function placeholdersOf(messageText: string): string[] {
  return [...new Set([...messageText.matchAll(PLACEHOLDER)].map((m) => m[1]))]
}

export class TemplateError extends Error {
  override name = 'TemplateError'
}

/**
 * Fills the custom placeholders, leaving `{{pin}}` for {@link insertPin}. Every custom placeholder needs a
 * value; values are single-line text (an attacker-supplied value must not forge a second `{{pin}}` or the
 * invisible code marks).
 */
export function fillPlaceholders(messageText: string, values: Record<string, string> = {}): string {
  const missing = placeholdersOf(messageText).filter((n) => n !== PIN_PLACEHOLDER && !(n in values))
  if (missing.length) throw new TemplateError(`missing placeholder values: ${missing.join(', ')}`)
  return messageText.replace(PLACEHOLDER, (whole, name: string) =>
    name === PIN_PLACEHOLDER ? whole : sanitise(values[name]),
  )
}

function sanitise(value: string): string {
  // Control characters, the code mark (U+2063) and braces are dropped; what is left is plain text.
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f\u2063{}]/g, '')
}

export function insertPin(filled: string, pin: string): string {
  return filled.replace(PLACEHOLDER, (whole, name: string) =>
    name === PIN_PLACEHOLDER ? secret(pin) : whole,
  )
}
