import { describe, expect, it } from 'vitest'
import { compileRuleSet, evaluate, ruleSetAppliesTo, type HistoryFacts, type RiskInput } from './evaluate'
import type { RuleSetInput } from './rules'
import { validateRuleSet } from './validate'

const RULES: RuleSetInput = {
  id: 'demo-issuer-visa',
  version: 3,
  issuerId: 'demo',
  cardRanges: [{ low: '411111', high: '411119' }],
  defaultOutcome: { transStatus: 'C', challengeMandated: false },
  rules: [
    {
      id: 'deny-merchant',
      version: 2,
      description: 'merchant on the fraud list',
      when: [{ type: 'merchant', acquirerMerchantIDs: ['BAD-1'] }],
      outcome: { transStatus: 'N', transStatusReason: '11' },
    },
    {
      id: 'gambling',
      version: 1,
      when: [{ type: 'mcc', in: ['7995'] }],
      outcome: { transStatus: 'C', challengeMandated: true },
    },
    {
      id: 'velocity',
      version: 1,
      when: [{ type: 'velocityCount', windowMinutes: 60, above: 4 }],
      outcome: { transStatus: 'C', challengeMandated: true },
    },
    {
      id: 'velocity-amount',
      version: 1,
      when: [{ type: 'velocityAmount', windowMinutes: 1440, currency: '978', above: 100000 }],
      outcome: { transStatus: 'C' },
    },
    { id: 'trusted', version: 1, when: [{ type: 'trustList', listed: true }], outcome: { transStatus: 'Y' } },
    {
      id: 'requestor-wants-challenge',
      version: 1,
      when: [{ type: 'challengeIndicator', in: ['03', '04'] }],
      outcome: { transStatus: 'C' },
    },
    {
      id: 'low-value-domestic',
      version: 4,
      when: [
        { type: 'amount', currency: '978', max: 3000 },
        { type: 'merchantCountry', in: ['250'] },
        { type: 'deviceChannel', in: ['01', '02'] },
        { type: 'threeDSMethod', in: ['Y'] },
      ],
      outcome: { transStatus: 'Y', score: 10 },
    },
    {
      id: 'recurring-3ri',
      version: 1,
      when: [
        { type: 'deviceChannel', in: ['03'] },
        { type: 'acquirer', acquirerBINs: ['400551'] },
      ],
      outcome: { transStatus: 'Y' },
    },
    {
      id: 'foreign',
      version: 1,
      enabled: false,
      when: [{ type: 'merchantCountry', in: ['250'], not: true }],
      outcome: { transStatus: 'U', transStatusReason: '12' },
    },
  ],
}

function facts(
  over: Partial<{
    status: ReturnType<HistoryFacts['cardStatus']>
    count: number
    amount: number
    trusted: boolean
  }> = {},
) {
  const calls: string[] = []
  const f: HistoryFacts = {
    cardStatus: () => (calls.push('status'), over.status ?? 'active'),
    countInWindow: (w) => (calls.push(`count:${w}`), over.count ?? 0),
    amountInWindow: (w, c) => (calls.push(`amount:${w}:${c}`), over.amount ?? 0),
    isTrustedMerchant: () => (calls.push('trusted'), over.trusted ?? false),
  }
  return { f, calls }
}

const input = (over: Partial<RiskInput> = {}): RiskInput => ({
  acctNumber: '4111110000000211',
  deviceChannel: '02',
  messageCategory: '01',
  purchaseAmount: '2500',
  purchaseCurrency: '978',
  mcc: '5411',
  acquirerBIN: '400551',
  acquirerMerchantID: 'MERCH-0001',
  merchantCountryCode: '250',
  threeDSRequestorChallengeInd: '01',
  threeDSCompInd: 'Y',
  ...over,
})

const validated = validateRuleSet(RULES)
if (!validated.ok) throw new Error(validated.errors.join('\n'))
const compiled = compileRuleSet(validated.ruleSet)
const decide = (i: Partial<RiskInput> = {}, f: Parameters<typeof facts>[0] = {}) =>
  evaluate(compiled, input(i), facts(f).f)

describe('evaluate', () => {
  it('frictionless for a low domestic amount after the 3DS Method, naming the rule and version', () => {
    expect(decide()).toMatchObject({
      transStatus: 'Y',
      ruleId: 'low-value-domestic',
      ruleVersion: 4,
      ruleSetId: 'demo-issuer-visa',
      ruleSetVersion: 3,
      score: 10,
    })
    expect(decide().reason).toContain('amount 978 in [0, 3000]')
  })
  it('falls to the default challenge above the threshold, in another currency or without the 3DS Method', () => {
    for (const d of [
      decide({ purchaseAmount: '3001' }),
      decide({ purchaseCurrency: '840' }),
      decide({ threeDSCompInd: 'N' }),
    ]) {
      expect(d).toMatchObject({ transStatus: 'C', ruleId: 'default', reason: 'no rule matched' })
    }
  })
  it('merchant deny list, MCC list, requestor challenge indicator, trust list', () => {
    expect(decide({ acquirerMerchantID: 'BAD-1' })).toMatchObject({
      transStatus: 'N',
      transStatusReason: '11',
      reason: 'merchant on the fraud list',
      ruleVersion: 2,
    })
    expect(decide({ mcc: '7995' })).toMatchObject({
      transStatus: 'C',
      challengeMandated: true,
      ruleId: 'gambling',
    })
    expect(decide({ threeDSRequestorChallengeInd: '04' })).toMatchObject({
      ruleId: 'requestor-wants-challenge',
    })
    expect(decide({ purchaseAmount: '90000' }, { trusted: true })).toMatchObject({
      transStatus: 'Y',
      ruleId: 'trusted',
    })
  })
  it('velocity by count and by amount (including this purchase)', () => {
    expect(decide({}, { count: 5 })).toMatchObject({ ruleId: 'velocity' })
    expect(decide({}, { count: 4 }).ruleId).toBe('low-value-domestic')
    expect(decide({}, { amount: 97500 }).ruleId).toBe('low-value-domestic')
    expect(decide({}, { amount: 97501 }).ruleId).toBe('velocity-amount')
  })
  it('skips challenge outcomes a 3RI or data-only request cannot take', () => {
    expect(decide({ deviceChannel: '03', mcc: '7995' })).toMatchObject({
      ruleId: 'recurring-3ri',
      transStatus: 'Y',
    })
    expect(decide({ threeDSRequestorChallengeInd: '06', mcc: '7995' }).ruleId).toBe('low-value-domestic')
  })
  it('fetches history facts lazily and once', () => {
    const { f, calls } = facts()
    evaluate(compiled, input(), f)
    expect(calls).toEqual(['count:60', 'amount:1440:978', 'trusted'])
  })
  it('says whether an enabled rule consults the trust list (a disabled one does not count)', () => {
    expect(compiled.usesTrustList).toBe(true)
    const without = { ...validated.ruleSet, rules: validated.ruleSet.rules.filter((r) => r.id !== 'trusted') }
    expect(compileRuleSet(without).usesTrustList).toBe(false)
    const disabled = {
      ...validated.ruleSet,
      rules: validated.ruleSet.rules.map((r) => (r.id === 'trusted' ? { ...r, enabled: false } : r)),
    }
    expect(compileRuleSet(disabled).usesTrustList).toBe(false)
  })
  it('disabled rules never fire', () => {
    expect(decide({ merchantCountryCode: '840', purchaseAmount: '99999' }).ruleId).toBe('default')
  })
  it('rule set scope by card range', () => {
    expect(ruleSetAppliesTo(validated.ruleSet, '4111150000000000')).toBe(true)
    expect(ruleSetAppliesTo(validated.ruleSet, '4222220000000000')).toBe(false)
  })
})

describe('validateRuleSet', () => {
  const withRule = (rule: unknown) => ({ ...RULES, rules: [rule] })
  it('reports schema errors with their location', () => {
    const r = validateRuleSet({
      ...RULES,
      version: 0,
      rules: [{ id: 'x', version: 1, when: [{ type: 'mcc', in: ['54'] }], outcome: { transStatus: 'Y' } }],
    })
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.errors).toContain('version: Too small: expected number to be >0')
      expect(r.errors.some((e) => e.startsWith('rules.0.when.0.in.0'))).toBe(true)
    }
    expect(
      validateRuleSet(
        withRule({
          id: 'x',
          version: 1,
          when: [{ type: 'weather', in: ['sunny'] }],
          outcome: { transStatus: 'Y' },
        }),
      ).ok,
    ).toBe(false)
  })
  it.each([
    [{ id: 'a', version: 1, when: [], outcome: { transStatus: 'R' } }, 'needs a transStatusReason'],
    [
      { id: 'a', version: 1, when: [], outcome: { transStatus: 'Y', transStatusReason: '01' } },
      'only goes with R, N or U',
    ],
    [
      { id: 'a', version: 1, when: [], outcome: { transStatus: 'N', transStatusReason: '50' } },
      'not defined',
    ],
    [
      {
        id: 'a',
        version: 1,
        when: [{ type: 'amount', currency: '999', max: 1 }],
        outcome: { transStatus: 'Y' },
      },
      'ISO 4217',
    ],
    [
      {
        id: 'a',
        version: 1,
        when: [{ type: 'amount', currency: '978', min: 5, max: 1 }],
        outcome: { transStatus: 'Y' },
      },
      'min is above max',
    ],
    [
      { id: 'a', version: 1, when: [{ type: 'amount', currency: '978' }], outcome: { transStatus: 'Y' } },
      'give min, max',
    ],
    [
      {
        id: 'a',
        version: 1,
        when: [{ type: 'cardStatus', in: ['not-enrolled'] }],
        outcome: { transStatus: 'N', transStatusReason: '13' },
      },
      'a not-enrolled card never reaches the rules (it is answered A before them)',
    ],
    [
      {
        id: 'a',
        version: 1,
        when: [{ type: 'merchantCountry', in: ['999'] }],
        outcome: { transStatus: 'Y' },
      },
      'ISO 3166',
    ],
    [
      { id: 'a', version: 1, when: [{ type: 'deviceChannel', in: ['03'] }], outcome: { transStatus: 'C' } },
      '3RI',
    ],
    [
      {
        id: 'a',
        version: 1,
        when: [{ type: 'cardRange', ranges: [{ low: '49', high: '41' }] }],
        outcome: { transStatus: 'Y' },
      },
      'low is above high',
    ],
    [
      { id: 'a', version: 1, when: [], outcome: { transStatus: 'Y', challengeMandated: true } },
      'only goes with C',
    ],
  ])('meaning check %#', (rule, message) => {
    const r = validateRuleSet(withRule(rule))
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.errors.join('\n')).toContain(message)
  })
  it('duplicate rule ids', () => {
    const rule = { id: 'a', version: 1, when: [], outcome: { transStatus: 'Y' } }
    const r = validateRuleSet({ ...RULES, rules: [rule, rule] })
    expect(r.ok ? [] : r.errors).toContain('rules.1 (a): duplicate rule id')
  })
})
