/** ISO 4217 numeric → alphabetic for the currencies a pilot meets; others are shown by their number. */
const ALPHA: Record<string, string> = {
  '036': 'AUD',
  '124': 'CAD',
  '156': 'CNY',
  '208': 'DKK',
  '348': 'HUF',
  '392': 'JPY',
  '578': 'NOK',
  '643': 'RUB',
  '752': 'SEK',
  '756': 'CHF',
  '826': 'GBP',
  '840': 'USD',
  '949': 'TRY',
  '978': 'EUR',
  '985': 'PLN',
}

/** "12345", "978", "2" → "EUR 123.45" (for SMS texts and challenge pages). */
export function formatAmount(
  minor: string | undefined,
  currency: string | undefined,
  exponent: string | undefined,
): string | undefined {
  if (!minor || !currency || !/^\d+$/.test(minor)) return undefined
  const exp = Math.min(Number(exponent ?? '2') || 0, 6)
  const digits = minor.replace(/^0+(?=\d)/, '').padStart(exp + 1, '0')
  const value = exp > 0 ? `${digits.slice(0, -exp)}.${digits.slice(-exp)}` : digits
  return `${ALPHA[currency] ?? currency} ${value}`
}
