import type { Condition, Outcome, RuleSet } from './rules'

/**
 * Rule evaluation on the AReq hot path. A rule set is compiled once (lists become Sets, conditions become
 * closures); history facts are fetched lazily and at most once per window, only when a rule needs them.
 */
export type CardStatus = 'active' | 'suspended-fraud' | 'stolen' | 'lost' | 'expired' | 'not-enrolled'

/** Local history supplied by the caller (the store). */
export interface HistoryFacts {
  cardStatus(): CardStatus
  /** Number of prior authentications of this card in the last `windowMinutes`. */
  countInWindow(windowMinutes: number): number
  /** Sum of prior purchase amounts in `currency` (minor units) in the last `windowMinutes`. */
  amountInWindow(windowMinutes: number, currency: string): number
  /** Whether the cardholder trusts this merchant for this card (the ACS's own trust list). */
  isTrustedMerchant(): boolean
}

/** The AReq members rules look at (a validated AReq satisfies this). */
export interface RiskInput {
  acctNumber: string
  deviceChannel: string
  messageCategory: string
  purchaseAmount?: string
  purchaseCurrency?: string
  mcc?: string
  acquirerBIN?: string
  acquirerMerchantID?: string
  merchantCountryCode?: string
  threeDSRequestorChallengeInd?: string
  threeDSCompInd?: string
}

export interface Decision extends Outcome {
  ruleSetId: string
  ruleSetVersion: number
  /** The rule that fired, or "default". */
  ruleId: string
  ruleVersion?: number
  reason: string
}

type Predicate = (input: RiskInput, facts: CachedFacts) => boolean

interface CompiledRule {
  id: string
  version: number
  reason: string
  outcome: Outcome
  predicates: Predicate[]
}

export interface CompiledRuleSet {
  ruleSet: RuleSet
  rules: CompiledRule[]
  /** Whether an enabled rule consults the trust list (so offering the cardholder to trust a merchant means something). */
  usesTrustList: boolean
}

class CachedFacts {
  private status?: CardStatus
  private trusted?: boolean
  private counts = new Map<number, number>()
  private amounts = new Map<string, number>()
  constructor(private readonly facts: HistoryFacts) {}
  cardStatus(): CardStatus {
    return (this.status ??= this.facts.cardStatus())
  }
  isTrusted(): boolean {
    return (this.trusted ??= this.facts.isTrustedMerchant())
  }
  count(w: number): number {
    let v = this.counts.get(w)
    if (v === undefined) this.counts.set(w, (v = this.facts.countInWindow(w)))
    return v
  }
  amount(w: number, currency: string): number {
    const key = `${w}:${currency}`
    let v = this.amounts.get(key)
    if (v === undefined) this.amounts.set(key, (v = this.facts.amountInWindow(w, currency)))
    return v
  }
}

const inRange = (pan: string, r: { low: string; high: string }) => {
  const p = pan.slice(0, r.low.length)
  return p >= r.low && p <= r.high
}

function compileCondition(c: Condition): Predicate {
  const p = compilePositive(c)
  return c.not ? (i, f) => !p(i, f) : p
}

function member(values: readonly string[], pick: (i: RiskInput) => string | undefined): Predicate {
  const set = new Set(values)
  return (i) => {
    const v = pick(i)
    return v !== undefined && set.has(v)
  }
}

function compilePositive(c: Condition): Predicate {
  switch (c.type) {
    case 'amount': {
      const min = c.min ?? 0
      const max = c.max ?? Number.POSITIVE_INFINITY
      return (i) => {
        if (i.purchaseCurrency !== c.currency || i.purchaseAmount === undefined) return false
        const a = Number(i.purchaseAmount)
        return a >= min && a <= max
      }
    }
    case 'mcc':
      return member(c.in, (i) => i.mcc)
    case 'merchant':
      return member(c.acquirerMerchantIDs, (i) => i.acquirerMerchantID)
    case 'acquirer':
      return member(c.acquirerBINs, (i) => i.acquirerBIN)
    case 'merchantCountry':
      return member(c.in, (i) => i.merchantCountryCode)
    case 'deviceChannel':
      return member(c.in, (i) => i.deviceChannel)
    case 'messageCategory':
      return member(c.in, (i) => i.messageCategory)
    case 'challengeIndicator':
      return member(c.in, (i) => i.threeDSRequestorChallengeInd)
    case 'threeDSMethod':
      return member(c.in, (i) => i.threeDSCompInd)
    case 'velocityCount':
      return (_i, f) => f.count(c.windowMinutes) > c.above
    case 'velocityAmount':
      return (i, f) => {
        const current = i.purchaseCurrency === c.currency && i.purchaseAmount ? Number(i.purchaseAmount) : 0
        return f.amount(c.windowMinutes, c.currency) + current > c.above
      }
    case 'cardStatus': {
      const set = new Set<string>(c.in)
      return (_i, f) => set.has(f.cardStatus())
    }
    case 'trustList':
      return (_i, f) => f.isTrusted() === c.listed
    case 'cardRange':
      return (i) => c.ranges.some((r) => inRange(i.acctNumber, r))
  }
}

function describe(c: Condition): string {
  const neg = c.not ? 'not ' : ''
  switch (c.type) {
    case 'amount':
      return `${neg}amount ${c.currency} in [${c.min ?? 0}, ${c.max ?? '∞'}]`
    case 'velocityCount':
      return `${neg}more than ${c.above} authentications in ${c.windowMinutes} min`
    case 'velocityAmount':
      return `${neg}amount over ${c.above} ${c.currency} in ${c.windowMinutes} min`
    case 'trustList':
      return `${neg}merchant ${c.listed ? 'on' : 'not on'} trust list`
    case 'cardRange':
      return `${neg}card range`
    case 'merchant':
      return `${neg}merchant listed`
    case 'acquirer':
      return `${neg}acquirer listed`
    default:
      return `${neg}${c.type} in [${c.in.join(', ')}]`
  }
}

/** Compile a validated rule set (see validateRuleSet) once, when it is activated. */
export function compileRuleSet(ruleSet: RuleSet): CompiledRuleSet {
  const enabled = ruleSet.rules.filter((r) => r.enabled)
  return {
    ruleSet,
    usesTrustList: enabled.some((r) => r.when.some((c) => c.type === 'trustList')),
    rules: enabled.map((r) => ({
      id: r.id,
      version: r.version,
      outcome: r.outcome,
      reason: r.description ?? (r.when.length ? r.when.map(describe).join(' and ') : 'always'),
      predicates: r.when.map(compileCondition),
    })),
  }
}

export function ruleSetAppliesTo(ruleSet: RuleSet, pan: string): boolean {
  return !ruleSet.cardRanges || ruleSet.cardRanges.some((r) => inRange(pan, r))
}

/**
 * Decides an AReq. A challenge outcome is skipped when the AReq cannot be challenged (3RI, or the
 * requestor asked for data share only, 06), so the next rule decides instead.
 */
export function evaluate(compiled: CompiledRuleSet, input: RiskInput, facts: HistoryFacts): Decision {
  const cached = new CachedFacts(facts)
  const challengeable = input.deviceChannel !== '03' && input.threeDSRequestorChallengeInd !== '06'
  const { ruleSet } = compiled
  for (const rule of compiled.rules) {
    if (rule.outcome.transStatus === 'C' && !challengeable) continue
    let holds = true
    for (const p of rule.predicates) {
      if (!p(input, cached)) {
        holds = false
        break
      }
    }
    if (holds) {
      return {
        ...rule.outcome,
        ruleSetId: ruleSet.id,
        ruleSetVersion: ruleSet.version,
        ruleId: rule.id,
        ruleVersion: rule.version,
        reason: rule.reason,
      }
    }
  }
  return {
    ...ruleSet.defaultOutcome,
    ruleSetId: ruleSet.id,
    ruleSetVersion: ruleSet.version,
    ruleId: 'default',
    reason: 'no rule matched',
  }
}
