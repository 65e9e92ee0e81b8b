import type { RuleCondition } from './endpoints'

/** A rule condition in words, for the ordered list of rules. */
export function describeCondition(c: RuleCondition): string {
  const not = c.not ? 'not ' : ''
  const list = (v: unknown) => (Array.isArray(v) ? v.join(', ') : String(v))
  switch (c.type) {
    case 'amount':
      return `${not}amount in ${String(c.currency)} between ${c.min ?? 0} and ${c.max ?? '∞'} (minor units)`
    case 'velocityCount':
      return `${not}more than ${String(c.above)} authentications in ${String(c.windowMinutes)} min`
    case 'velocityAmount':
      return `${not}more than ${String(c.above)} spent in ${String(c.currency)} over ${String(c.windowMinutes)} min`
    case 'trustList':
      return `${not}merchant ${c.listed ? 'on' : 'not on'} the cardholder's trust list`
    case 'merchant':
      return `${not}merchant ID in ${list(c.acquirerMerchantIDs)}`
    case 'acquirer':
      return `${not}acquirer BIN in ${list(c.acquirerBINs)}`
    case 'cardRange':
      return `${not}card in ${(c.ranges as { low: string; high: string }[]).map((r) => `${r.low}–${r.high}`).join(', ')}`
    default:
      return `${not}${c.type} in ${list(c.in)}`
  }
}
