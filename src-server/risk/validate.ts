import { isIsoCountry, isIsoCurrency } from '../acs/protocol/iso'
import { BEFORE_THE_RULES } from '../acs/service/decide'
import { ruleSetSchema, type Condition, type Outcome, type RuleSet } from './rules'

export type RuleSetValidation = { ok: true; ruleSet: RuleSet } | { ok: false; errors: string[] }

const NEEDS_REASON = new Set(['R', 'N', 'U'])

/** Schema and meaning checks to run before a rule set is activated; every problem is reported with its location. */
export function validateRuleSet(input: unknown): RuleSetValidation {
  const parsed = ruleSetSchema.safeParse(input)
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(rule set)'}: ${i.message}`),
    }
  }
  const rs = parsed.data
  const errors: string[] = []
  checkOutcome(rs.defaultOutcome, 'defaultOutcome', errors)
  rs.cardRanges?.forEach((r, i) => checkRange(r, `cardRanges.${i}`, errors))
  const seen = new Set<string>()
  rs.rules.forEach((rule, i) => {
    const at = `rules.${i} (${rule.id})`
    if (seen.has(rule.id)) errors.push(`${at}: duplicate rule id`)
    seen.add(rule.id)
    checkOutcome(rule.outcome, `${at}.outcome`, errors)
    rule.when.forEach((c, j) => checkCondition(c, `${at}.when.${j}`, errors))
    const channel = rule.when.find((c) => c.type === 'deviceChannel' && !c.not)
    if (
      rule.outcome.transStatus === 'C' &&
      channel?.type === 'deviceChannel' &&
      channel.in.every((ch) => ch === '03')
    ) {
      errors.push(`${at}: a 3RI transaction cannot be challenged`)
    }
  })
  return errors.length > 0 ? { ok: false, errors } : { ok: true, ruleSet: rs }
}

function checkOutcome(o: Outcome, at: string, errors: string[]): void {
  if (NEEDS_REASON.has(o.transStatus) && !o.transStatusReason)
    errors.push(`${at}: transStatus ${o.transStatus} needs a transStatusReason`)
  if (!NEEDS_REASON.has(o.transStatus) && o.transStatusReason)
    errors.push(`${at}: transStatusReason only goes with R, N or U`)
  if (o.transStatusReason) {
    const n = +o.transStatusReason
    if (!((n >= 1 && n <= 26) || n >= 80))
      errors.push(`${at}: transStatusReason ${o.transStatusReason} is not defined`)
  }
  if (o.challengeMandated !== undefined && o.transStatus !== 'C')
    errors.push(`${at}: challengeMandated only goes with C`)
}

function checkRange(r: { low: string; high: string }, at: string, errors: string[]): void {
  if (r.low.length !== r.high.length) errors.push(`${at}: low and high must have the same length`)
  else if (r.low > r.high) errors.push(`${at}: low is above high`)
}

function checkCondition(c: Condition, at: string, errors: string[]): void {
  switch (c.type) {
    case 'amount':
      if (!isIsoCurrency(c.currency)) errors.push(`${at}: ${c.currency} is not an ISO 4217 currency`)
      if (c.min === undefined && c.max === undefined) errors.push(`${at}: give min, max or both`)
      if (c.min !== undefined && c.max !== undefined && c.min > c.max) errors.push(`${at}: min is above max`)
      break
    case 'velocityAmount':
      if (!isIsoCurrency(c.currency)) errors.push(`${at}: ${c.currency} is not an ISO 4217 currency`)
      break
    case 'merchantCountry':
      for (const cc of c.in) if (!isIsoCountry(cc)) errors.push(`${at}: ${cc} is not an ISO 3166 country`)
      break
    case 'cardRange':
      c.ranges.forEach((r, i) => checkRange(r, `${at}.ranges.${i}`, errors))
      break
    case 'cardStatus':
      for (const status of c.in) {
        if (status === 'active') continue
        const d = BEFORE_THE_RULES[status]
        const answer = 'transStatusReason' in d ? `${d.transStatus}/${d.transStatusReason}` : d.transStatus
        errors.push(`${at}: a ${status} card never reaches the rules (it is answered ${answer} before them)`)
      }
      break
  }
}
