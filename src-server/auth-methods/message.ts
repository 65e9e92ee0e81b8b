import { smsSafe, type TemplateValues } from '../templates/model'
import type { ChallengeSubject } from './method'

/** The purchase as SMS templates show it (dynamic linking): amount, merchant, last four digits only. */
export function purchaseValues(
  subject: Pick<ChallengeSubject, 'amountText' | 'merchantName' | 'panMasked'>,
): TemplateValues {
  return {
    amount: subject.amountText,
    merchant: smsSafe(subject.merchantName),
    card: `*${subject.panMasked.slice(-4)}`,
  }
}

/** +33612345678 → +336******78: enough for the cardholder to recognise, not enough to harvest. */
export function maskMobile(mobile: string): string {
  if (mobile.length <= 6) return '*'.repeat(mobile.length)
  return mobile.slice(0, 4) + '*'.repeat(mobile.length - 6) + mobile.slice(-2)
}
