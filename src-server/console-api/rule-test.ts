import { z } from 'zod'
import { BEFORE_THE_RULES } from '../acs/service/decide'
import { HttpProblem } from '../http/problem'
import { compileRuleSet, evaluate, type Decision } from '../risk/evaluate'
import { validateRuleSet } from '../risk/validate'

/** A sample AReq (the members rules read) and the history facts to assume, for the rules editor's test panel. */
export const RuleTestInput = z.object({
  ruleSet: z.unknown(),
  areq: z.object({
    acctNumber: z
      .string()
      .regex(/^\d{12,19}$/)
      .default('4000000000000002'),
    deviceChannel: z.enum(['01', '02', '03']).default('02'),
    messageCategory: z.enum(['01', '02']).default('01'),
    purchaseAmount: z
      .string()
      .regex(/^\d{1,48}$/)
      .optional(),
    purchaseCurrency: z
      .string()
      .regex(/^\d{3}$/)
      .optional(),
    mcc: z
      .string()
      .regex(/^\d{4}$/)
      .optional(),
    acquirerBIN: z.string().max(11).optional(),
    acquirerMerchantID: z.string().max(35).optional(),
    merchantCountryCode: z
      .string()
      .regex(/^\d{3}$/)
      .optional(),
    threeDSRequestorChallengeInd: z
      .string()
      .regex(/^\d{2}$/)
      .optional(),
    threeDSCompInd: z.enum(['Y', 'N', 'U']).optional(),
  }),
  facts: z
    .object({
      cardStatus: z
        .enum(['active', 'suspended-fraud', 'stolen', 'lost', 'expired', 'not-enrolled'])
        .default('active'),
      /** Prior authentications of the card in any window asked about. */
      priorCount: z.number().int().nonnegative().default(0),
      /** Prior amount (minor units) in any window and currency asked about. */
      priorAmount: z.number().int().nonnegative().default(0),
      trustedMerchant: z.boolean().default(false),
    })
    .default({ cardStatus: 'active', priorCount: 0, priorAmount: 0, trustedMerchant: false }),
})
export type RuleTestInput = z.infer<typeof RuleTestInput>

export const RuleTestResult = z.object({
  transStatus: z.string(),
  transStatusReason: z.string().optional(),
  challengeMandated: z.boolean().optional(),
  ruleId: z.string(),
  reason: z.string(),
})

/**
 * Runs a rule set (a draft, not stored) against a sample AReq with assumed history: the same card-status
 * answers, compile and evaluate the AReq path uses, so the editor shows what the ACS would decide.
 */
export function testRuleSet(input: RuleTestInput): z.infer<typeof RuleTestResult> {
  const validation = validateRuleSet(input.ruleSet)
  if (!validation.ok) {
    throw new HttpProblem(422, 'Invalid rule set', validation.errors.join('; '), {
      errors: validation.errors.map((message) => ({ path: 'ruleSet', message })),
    })
  }
  const { facts } = input
  // As on the AReq path: a card that is not active is answered before the rules (acs/service/decide.ts).
  if (facts.cardStatus !== 'active') {
    const before = BEFORE_THE_RULES[facts.cardStatus]
    return {
      transStatus: before.transStatus,
      ...('transStatusReason' in before ? { transStatusReason: before.transStatusReason } : {}),
      ruleId: before.why.ruleId,
      reason: before.why.reason,
    }
  }
  const decision: Decision = evaluate(compileRuleSet(validation.ruleSet), input.areq, {
    cardStatus: () => facts.cardStatus,
    countInWindow: () => facts.priorCount,
    amountInWindow: () => facts.priorAmount,
    isTrustedMerchant: () => facts.trustedMerchant,
  })
  return {
    transStatus: decision.transStatus,
    ...(decision.transStatusReason ? { transStatusReason: decision.transStatusReason } : {}),
    ...(decision.challengeMandated !== undefined ? { challengeMandated: decision.challengeMandated } : {}),
    ruleId: decision.ruleId,
    reason: decision.reason,
  }
}
