/** PAN display rules: first 6 and last 4 digits at most, everything else masked. */

export function luhnValid(digits: string): boolean {
  if (!/^\d{12,19}$/.test(digits)) return false
  let sum = 0
  let double = false
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    double = !double
  }
  return sum % 10 === 0
}

/** 4111111111111111 → 411111******1111 */
export function maskPan(pan: string): string {
  const digits = pan.replace(/\D/g, '')
  if (digits.length < 11) return '*'.repeat(digits.length)
  return digits.slice(0, 6) + '*'.repeat(digits.length - 10) + digits.slice(-4)
}

export function last4(pan: string): string {
  return pan.replace(/\D/g, '').slice(-4)
}

const PAN_LIKE = /(?<!\d)\d{13,19}(?!\d)/g

/** Masks every Luhn-valid 13–19 digit run in free text (log messages, upstream error strings). */
export function maskPansInText(text: string): string {
  if (!/\d{13}/.test(text)) return text
  return text.replace(PAN_LIKE, (run) => (luhnValid(run) ? maskPan(run) : run))
}

/**
 * Masks every run of four or more digits, also when spaces, dots or dashes split it ("123 456"): what a
 * cardholder texts may be a one-time code (a dongle's, a PIN sent back by mistake), while a reply's reference
 * or keyword stays readable.
 */
export function maskDigitRuns(text: string): string {
  return text.replace(/\d(?:[ .-]?\d){3,}/g, (run) => run.replace(/\d/g, '•'))
}
