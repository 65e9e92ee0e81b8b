/**
 * Electronic Commerce Indicator per brand, transaction status and message category
 * (vectors.json → eci; card-auth-server ECI enum; UL Mastercard test messages).
 */
export type Brand = 'visa' | 'mastercard' | 'amex' | 'discover' | 'jcb' | 'unionpay'
export type EciStatus = 'Y' | 'A' | 'N' | 'U' | 'R'

const VISA_LIKE: Record<EciStatus, string> = { Y: '05', A: '06', N: '07', U: '07', R: '07' }
const MASTERCARD_PA: Record<EciStatus, string> = { Y: '02', A: '01', N: '00', U: '00', R: '00' }
// Mastercard defines no attempts ECI for non-payment authentication.
const MASTERCARD_NPA: Partial<Record<EciStatus, string>> = { Y: 'N2', N: 'N0', U: 'N0', R: 'N0' }

/** The ECI to send, or undefined where the brand defines none. */
export function eciFor(brand: Brand, status: EciStatus, messageCategory: string): string | undefined {
  if (brand !== 'mastercard') return VISA_LIKE[status]
  return messageCategory === '02' ? MASTERCARD_NPA[status] : MASTERCARD_PA[status]
}
