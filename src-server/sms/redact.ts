/**
 * The console shows SMS texts, but a one-time code must not be readable there. Senders mark codes with
 * this helper; the display copy replaces each with bullets of the same length.
 */
const CODE_MARK = /\u2063([0-9A-Za-z]{1,16})\u2063/g

/** Wraps a secret (a code) so the outbox can show the text without it. Invisible in the sent text. */
export function secret(value: string): string {
  return `\u2063${value}\u2063`
}

/** Whether the text holds a code marked with `secret()`. */
export function holdsSecret(text: string): boolean {
  return text.includes('\u2063')
}

export function forSending(text: string): string {
  return text.replace(CODE_MARK, '$1')
}

export function forDisplay(text: string): string {
  return text.replace(CODE_MARK, (_m, code: string) => '•'.repeat(code.length))
}
