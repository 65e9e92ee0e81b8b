import { z } from 'zod'

/**
 * Transaction-filtering rule sets: ordered, versioned rules per issuer and card range over AReq data and
 * local history facts. The first enabled rule whose conditions all hold decides; otherwise the rule set's
 * default outcome applies.
 */
const digits = (n: number) => z.string().regex(new RegExp(`^\\d{${n}}$`), `must be ${n} digits`)
const cardRange = z
  .object({ low: z.string().regex(/^\d{1,19}$/), high: z.string().regex(/^\d{1,19}$/) })
  .strict()

const base = { not: z.boolean().optional() }

export const conditionSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('amount'),
      currency: digits(3),
      /** Minor units, inclusive bounds. */
      min: z.number().int().nonnegative().optional(),
      max: z.number().int().nonnegative().optional(),
      ...base,
    })
    .strict(),
  z.object({ type: z.literal('mcc'), in: z.array(digits(4)).min(1), ...base }).strict(),
  z
    .object({
      type: z.literal('merchant'),
      acquirerMerchantIDs: z.array(z.string().min(1).max(35)).min(1),
      ...base,
    })
    .strict(),
  z
    .object({ type: z.literal('acquirer'), acquirerBINs: z.array(z.string().min(1).max(11)).min(1), ...base })
    .strict(),
  z.object({ type: z.literal('merchantCountry'), in: z.array(digits(3)).min(1), ...base }).strict(),
  z
    .object({ type: z.literal('deviceChannel'), in: z.array(z.enum(['01', '02', '03'])).min(1), ...base })
    .strict(),
  z
    .object({ type: z.literal('messageCategory'), in: z.array(z.enum(['01', '02'])).min(1), ...base })
    .strict(),
  z.object({ type: z.literal('challengeIndicator'), in: z.array(digits(2)).min(1), ...base }).strict(),
  z
    .object({ type: z.literal('threeDSMethod'), in: z.array(z.enum(['Y', 'N', 'U'])).min(1), ...base })
    .strict(),
  z
    .object({
      type: z.literal('velocityCount'),
      windowMinutes: z.number().int().positive(),
      /** Holds when the number of prior authentications in the window is above this. */
      above: z.number().int().nonnegative(),
      ...base,
    })
    .strict(),
  z
    .object({
      type: z.literal('velocityAmount'),
      windowMinutes: z.number().int().positive(),
      currency: digits(3),
      /** Holds when prior amount in the window plus this purchase is above this (minor units). */
      above: z.number().int().nonnegative(),
      ...base,
    })
    .strict(),
  z
    .object({
      type: z.literal('cardStatus'),
      in: z.array(z.enum(['active', 'suspended-fraud', 'stolen', 'lost', 'expired', 'not-enrolled'])).min(1),
      ...base,
    })
    .strict(),
  z.object({ type: z.literal('trustList'), listed: z.boolean(), ...base }).strict(),
  z.object({ type: z.literal('cardRange'), ranges: z.array(cardRange).min(1), ...base }).strict(),
])
export type Condition = z.infer<typeof conditionSchema>

export const outcomeSchema = z
  .object({
    transStatus: z.enum(['Y', 'C', 'R', 'N', 'A', 'U']),
    transStatusReason: digits(2).optional(),
    /** For C: whether the challenge is mandated (acsChallengeMandated). */
    challengeMandated: z.boolean().optional(),
    score: z.number().min(0).max(100).optional(),
  })
  .strict()
export type Outcome = z.infer<typeof outcomeSchema>

export const ruleSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (1–64)'),
    version: z.number().int().positive(),
    description: z.string().max(200).optional(),
    enabled: z.boolean().default(true),
    /** All must hold (AND). An empty list always holds. */
    when: z.array(conditionSchema),
    outcome: outcomeSchema,
  })
  .strict()
export type Rule = z.infer<typeof ruleSchema>

export const ruleSetSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
    version: z.number().int().positive(),
    issuerId: z.string().min(1),
    /** Card ranges the set applies to; absent = every card of the issuer. */
    cardRanges: z.array(cardRange).min(1).optional(),
    rules: z.array(ruleSchema),
    defaultOutcome: outcomeSchema,
  })
  .strict()
export type RuleSet = z.infer<typeof ruleSetSchema>
export type RuleSetInput = z.input<typeof ruleSetSchema>
