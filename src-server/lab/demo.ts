import type { Services } from '../services'
import type { Brand } from '../issuers/model'

/**
 * The ready-made pilot: a demo issuer whose card ranges cover every Visa (4…) and Mastercard (51–55,
 * 2221–2720) BIN, with test keys, a test PKI per brand, an active rule set and demo cardholders whose
 * phones are the virtual phone. Idempotent: run again, it changes nothing.
 */
export const DEMO_ISSUER = 'Demo Bank'

/** Public test card numbers (Luhn-valid, published by the schemes' test programmes). */
export const DEMO_CARDS = [
  {
    pan: '4111111111111111',
    name: 'Jeanne Martin',
    mobile: '+33612345601',
    language: 'fr',
    method: 'sms-otp',
  },
  { pan: '4000000000000002', name: 'John Smith', mobile: '+447700900002', language: 'en', method: 'sms-otp' },
  {
    pan: '5555555555554444',
    name: 'Erika Mustermann',
    mobile: '+4915112345603',
    language: 'de',
    method: 'sms-otp',
  },
  {
    pan: '2223000048410010',
    name: 'Alex Morgan',
    mobile: '+447700900004',
    language: 'en',
    method: 'sms-otp',
  },
  {
    pan: '4242424242424242',
    name: 'Sam Frictionless',
    mobile: '+447700900005',
    language: 'en',
    method: 'none',
  },
  {
    pan: '4012888888881881',
    name: 'Pat Suspended',
    mobile: '+447700900006',
    language: 'en',
    method: 'sms-otp',
    suspended: true,
  },
] as const

const RANGES: { brand: Brand; startPrefix: string; endPrefix: string }[] = [
  { brand: 'visa', startPrefix: '4', endPrefix: '4' },
  { brand: 'mastercard', startPrefix: '51', endPrefix: '55' },
  { brand: 'mastercard', startPrefix: '2221', endPrefix: '2720' },
]

export function demoRuleSet(issuerId: number) {
  return {
    id: 'demo',
    version: 1,
    issuerId: String(issuerId),
    rules: [
      {
        id: 'velocity',
        version: 1,
        description: 'more than 20 authentications of the card in 10 minutes',
        when: [{ type: 'velocityCount', windowMinutes: 10, above: 20 }],
        outcome: { transStatus: 'C', challengeMandated: true },
      },
      {
        id: 'high-risk-mcc',
        version: 1,
        when: [{ type: 'mcc', in: ['7995', '6051', '4829'] }],
        outcome: { transStatus: 'C', challengeMandated: true },
      },
      {
        id: 'requestor-mandate',
        version: 1,
        when: [{ type: 'challengeIndicator', in: ['04'] }],
        outcome: { transStatus: 'C', challengeMandated: true },
      },
      {
        id: 'low-value-eur',
        version: 1,
        description: 'up to EUR 250 when the requestor asked for no challenge',
        when: [
          { type: 'challengeIndicator', in: ['02'] },
          { type: 'amount', currency: '978', max: 25000 },
        ],
        outcome: { transStatus: 'Y' },
      },
      {
        id: 'trusted-merchant',
        version: 1,
        description: 'the cardholder trusted this merchant for this card in an earlier challenge',
        when: [{ type: 'trustList', listed: true }],
        outcome: { transStatus: 'Y' },
      },
    ],
    defaultOutcome: { transStatus: 'C', challengeMandated: false },
  }
}

export interface DemoSummary {
  issuerId: number
  created: boolean
  rootPem: Record<string, string>
}

export function seedDemo(services: Services, actor: string): DemoSummary {
  const { issuers, acs, cardholders } = services
  const existing = issuers.listIssuers().find((i) => i.name === DEMO_ISSUER)
  if (existing) {
    const rootPem: Record<string, string> = {}
    for (const brand of ['visa', 'mastercard']) {
      const root = acs.keys.rootPem(brand)
      if (root) rootPem[brand] = root
    }
    return { issuerId: existing.id, created: false, rootPem }
  }
  const issuer = issuers.createIssuer(
    {
      name: DEMO_ISSUER,
      acsReferenceNumber: 'ACS_LAB_DEMO_0001',
      branding: { displayName: 'Demo Bank', colour: '#1a4b8c' },
    },
    actor,
  )
  for (const r of RANGES) {
    const range = issuers.createRange({ issuerId: issuer.id, production: false, authValue: {}, ...r }, actor)
    acs.keys.generateRangeKeys(range.id, actor)
  }
  const rootPem: Record<string, string> = {}
  for (const brand of ['visa', 'mastercard'])
    rootPem[brand] = acs.keys.generateTestSigning(brand, actor, brand === 'visa' ? 'RSA' : 'EC').rootPem
  const rules = acs.rules.create(demoRuleSet(issuer.id), actor)
  acs.rules.activate(rules.setId, rules.version, actor)
  for (const c of DEMO_CARDS) {
    const view = cardholders.enrolOne(
      { pan: c.pan, expiry: '3012', name: c.name, mobile: c.mobile, language: c.language, method: c.method },
      actor,
    )
    if ('suspended' in c)
      cardholders.setCardStatus(view.cards[0].id, 'suspended', 'fraud reported by SMS', actor)
  }
  return { issuerId: issuer.id, created: true, rootPem }
}
