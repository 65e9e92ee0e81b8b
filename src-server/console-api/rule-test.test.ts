import { describe, expect, it } from 'vitest'
import { RuleTestInput, testRuleSet } from './rule-test'

const ruleSet = {
  id: 'test-set',
  version: 1,
  issuerId: '1',
  rules: [
    {
      id: 'gambling',
      version: 1,
      when: [{ type: 'mcc', in: ['7995'] }],
      outcome: { transStatus: 'C', challengeMandated: true },
    },
    {
      id: 'small',
      version: 1,
      when: [{ type: 'amount', currency: '978', max: 3000 }],
      outcome: { transStatus: 'Y' },
    },
  ],
  defaultOutcome: { transStatus: 'C', challengeMandated: true },
}

const run = (areq: Record<string, unknown>, facts: Record<string, unknown> = {}) =>
  testRuleSet(RuleTestInput.parse({ ruleSet, areq, facts }))

describe('rules test panel', () => {
  it('takes the first rule that holds, in order, else the default outcome', () => {
    expect(run({ purchaseAmount: '2500', purchaseCurrency: '978' })).toMatchObject({
      transStatus: 'Y',
      ruleId: 'small',
    })
    // A stolen card is refused before the rules, as the AReq path does: the small-amount rule never sees it.
    expect(run({ purchaseAmount: '2500', purchaseCurrency: '978' }, { cardStatus: 'stolen' })).toMatchObject({
      transStatus: 'R',
      transStatusReason: '10',
      ruleId: 'card-status',
    })
    expect(run({ purchaseAmount: '9900', purchaseCurrency: '978' })).toMatchObject({
      transStatus: 'C',
      challengeMandated: true,
      ruleId: 'default',
    })
  })

  it('a 3RI AReq cannot be challenged: a challenge rule is skipped and the next rule decides', () => {
    const areq = { mcc: '7995', purchaseAmount: '2500', purchaseCurrency: '978' }
    expect(run(areq).ruleId).toBe('gambling')
    expect(run({ ...areq, deviceChannel: '03' })).toMatchObject({ transStatus: 'Y', ruleId: 'small' })
  })

  it('an invalid rule set is refused with every problem in words', () => {
    expect(() =>
      testRuleSet(RuleTestInput.parse({ ruleSet: { ...ruleSet, rules: [{ id: 'x' }] }, areq: {} })),
    ).toThrow(/Invalid rule set/)
    const blocked = {
      id: 'stolen',
      version: 1,
      when: [{ type: 'cardStatus', in: ['active', 'stolen'] }],
      outcome: { transStatus: 'R', transStatusReason: '09' },
    }
    expect(() =>
      testRuleSet(RuleTestInput.parse({ ruleSet: { ...ruleSet, rules: [blocked] }, areq: {} })),
    ).toThrow('a stolen card never reaches the rules (it is answered R/10 before them)')
  })
})
