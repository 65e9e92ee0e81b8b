import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { AuditLog } from '../../audit/audit-log'
import { Keyring } from '../../crypto/keyring'
import { compileRuleSet, evaluate, type HistoryFacts, type RiskInput } from '../../risk/evaluate'
import { ruleSetSchema } from '../../risk/rules'
import { migrate, openDatabase } from '../../store/db'
import { merchantIdentity } from './merchant'
import { TRUSTED_PAIR_SQL, TrustCheck, TrustList } from './trust-list'

/** A real (in-memory) database with the suite's migrations: two cardholders, three cards. */
function setup() {
  const db = openDatabase(':memory:')
  migrate(db)
  const audit = new AuditLog(db, new Keyring(db, randomBytes(32)))
  const now = new Date().toISOString()
  db.prepare(
    `INSERT INTO issuers (id, name, acs_reference_number, created_at) VALUES (1, 'Bank', 'ACS', ?)`,
  ).run(now)
  db.prepare(
    `INSERT INTO card_ranges (id, issuer_id, brand, start_prefix, end_prefix, low, high, created_at)
     VALUES (1, 1, 'visa', '4', '4', '4000000000000000000', '4999999999999999999', ?)`,
  ).run(now)
  const holder = db.prepare(
    `INSERT INTO cardholders (id, issuer_id, name, method, created_at, updated_at) VALUES (?, 1, ?, 'sms-otp', ?, ?)`,
  )
  holder.run(1, 'Ann', now, now)
  holder.run(2, 'Bob', now, now)
  const card = db.prepare(
    `INSERT INTO cards (id, cardholder_id, range_id, pan_ct, pan_lookup, pan_masked, last4, expiry, created_at, updated_at)
     VALUES (?, ?, 1, x'00', ?, ?, ?, '3012', ?, ?)`,
  )
  card.run(10, 1, randomBytes(8), '411111******1111', '1111', now, now)
  card.run(11, 1, randomBytes(8), '400000******0002', '0002', now, now)
  card.run(20, 2, randomBytes(8), '555555******4444', '4444', now, now)
  return { db, audit, list: new TrustList(db, audit) }
}

const SHOP = merchantIdentity({
  acquirerBIN: '400551',
  acquirerMerchantID: 'MERCH-0001',
  merchantName: 'Shop',
})!
const OTHER = merchantIdentity({
  acquirerBIN: '400551',
  acquirerMerchantID: 'MERCH-0002',
  merchantName: 'Shop',
})!

const consent = (cardId: number, merchant = SHOP) => ({
  cardId,
  panMasked: '411111******1111',
  merchant,
  source: 'challenge' as const,
  acsTransID: '6f0d4a5e-8c2b-4b1e-9a43-2f5d8e7c1a90',
  actor: 'cardholder:411111******1111',
})

describe('merchantIdentity', () => {
  it('keys on acquirer BIN + merchant ID when both are there, whatever the name says', () => {
    expect(SHOP.key).toBe('acquirer:400551:MERCH-0001')
    expect(
      merchantIdentity({
        acquirerBIN: '400551',
        acquirerMerchantID: 'MERCH-0001',
        merchantName: 'SHOP (EU)',
      })!.key,
    ).toBe(SHOP.key)
    expect(OTHER.key).not.toBe(SHOP.key)
    // The same merchant ID at another acquirer is another merchant.
    expect(merchantIdentity({ acquirerBIN: '512345', acquirerMerchantID: 'MERCH-0001' })!.key).not.toBe(
      SHOP.key,
    )
  })

  it('falls back to the merchant name, case and spacing folded; nothing to go on → undefined', () => {
    const a = merchantIdentity({ merchantName: '  Corner  Shop ' })!
    expect(a).toEqual({ key: 'name:corner shop', merchantName: 'Corner  Shop' })
    expect(merchantIdentity({ merchantName: 'corner shop', acquirerBIN: '400551' })!.key).toBe(a.key)
    expect(merchantIdentity({})).toBeUndefined()
    expect(merchantIdentity({ merchantName: '   ', acquirerMerchantID: 'M-1' })).toBeUndefined()
  })
})

describe('TrustList', () => {
  it('a consented pair is trusted for that card and that merchant only', () => {
    const { list } = setup()
    expect(list.has(10, SHOP.key)).toBe(false)
    expect(list.add(consent(10))).toBe(true)
    expect(list.has(10, SHOP.key)).toBe(true)
    expect(list.has(10, OTHER.key)).toBe(false)
    expect(list.has(11, SHOP.key)).toBe(false)
    expect(list.has(20, SHOP.key)).toBe(false)
  })

  it('a second consent for a listed pair changes nothing (one entry, one audit record)', () => {
    const { list, audit, db } = setup()
    expect(list.add(consent(10))).toBe(true)
    expect(list.add(consent(10))).toBe(false)
    expect(list.forCardholder(1)).toHaveLength(1)
    const actions = db.prepare(`SELECT action, target FROM audit_log`).all()
    expect(actions).toEqual([{ action: 'trust-list.add', target: 'card:411111******1111' }])
    expect(audit.verify()).toMatchObject({ ok: true })
  })

  it('lists a cardholder’s entries over all their cards, newest first, with where they came from', () => {
    const { list } = setup()
    list.add(consent(10), 1000)
    list.add({ ...consent(11, OTHER), source: 'console', actor: 'operator:agent' }, 2000)
    list.add(consent(20), 3000)
    const items = list.forCardholder(1)
    expect(items.map((i) => [i.cardId, i.acquirerMerchantID, i.source, i.addedBy])).toEqual([
      [11, 'MERCH-0002', 'console', 'operator:agent'],
      [10, 'MERCH-0001', 'challenge', 'cardholder:411111******1111'],
    ])
    expect(items[1]).toMatchObject({
      panMasked: '411111******1111',
      merchantName: 'Shop',
      acquirerBIN: '400551',
      addedAt: new Date(1000).toISOString(),
    })
    expect(items[1].removedAt).toBeUndefined()
    expect(list.forCardholder(2)).toHaveLength(1)
  })

  it('removal ends trust, keeps the entry with who and why, is audited, and cannot happen twice', () => {
    const { list, db, audit } = setup()
    list.add(consent(10))
    const [entry] = list.forCardholder(1)
    // Another cardholder's id does not reach it.
    expect(() => list.remove(2, entry.id, 'not yours', 'operator:agent')).toThrow(/No trusted merchant/)
    const removed = list.remove(1, entry.id, 'cardholder asked on the phone', 'operator:agent', 5000)
    expect(removed).toMatchObject({
      removedAt: new Date(5000).toISOString(),
      removedBy: 'operator:agent',
      removalReason: 'cardholder asked on the phone',
    })
    expect(list.has(10, SHOP.key)).toBe(false)
    expect(list.forCardholder(1)).toEqual([])
    expect(list.forCardholder(1, true)).toEqual([removed])
    expect(() => list.remove(1, entry.id, 'again', 'operator:agent')).toThrow(/already removed/)
    const last = db.prepare(`SELECT action, details FROM audit_log ORDER BY id DESC LIMIT 1`).get() as {
      action: string
      details: string
    }
    expect(last.action).toBe('trust-list.remove')
    expect(JSON.parse(last.details)).toEqual({ merchant: 'Shop', reason: 'cardholder asked on the phone' })
    expect(audit.verify()).toMatchObject({ ok: true })
    // A new consent after a removal is a new entry; the removed one stays as history.
    expect(list.add(consent(10))).toBe(true)
    expect(list.forCardholder(1, true)).toHaveLength(2)
    expect(list.has(10, SHOP.key)).toBe(true)
  })

  it('the AReq read is one search on the partial unique index (no table scan)', () => {
    const { db } = setup()
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN ${TRUSTED_PAIR_SQL}`)
      .all(10, SHOP.key)
      .map((r) => (r as { detail: string }).detail)
    expect(plan).toHaveLength(1)
    expect(plan[0]).toMatch(
      /^SEARCH acs_trusted_merchants USING (?:COVERING )?INDEX acs_trusted_merchants_active \(card_id=\? AND merchant_key=\?\)$/,
    )
  })
})

describe('the isTrustedMerchant fact', () => {
  const ruleSet = compileRuleSet(
    ruleSetSchema.parse({
      id: 'rs',
      version: 1,
      issuerId: '1',
      rules: [
        {
          id: 'high-risk-mcc',
          version: 1,
          when: [{ type: 'mcc', in: ['7995'] }],
          outcome: { transStatus: 'C', challengeMandated: true },
        },
        {
          id: 'trusted',
          version: 1,
          when: [{ type: 'trustList', listed: true }],
          outcome: { transStatus: 'Y' },
        },
      ],
      defaultOutcome: { transStatus: 'C' },
    }),
  )
  const areq = (over: Partial<RiskInput> & { whiteListStatus?: string } = {}) => ({
    acctNumber: '4111111111111111',
    deviceChannel: '02',
    messageCategory: '01',
    mcc: '5411',
    acquirerBIN: '400551',
    acquirerMerchantID: 'MERCH-0001',
    merchantName: 'Shop',
    ...over,
  })
  /** The facts as the AReq handler wires them: the trust fact from the ACS's list only. */
  function decide(list: TrustList, cardId: number, input: ReturnType<typeof areq>) {
    const trust = list.check(cardId, merchantIdentity(input))
    const facts: HistoryFacts = {
      cardStatus: () => 'active',
      countInWindow: () => 0,
      amountInWindow: () => 0,
      isTrustedMerchant: () => trust.isTrusted(),
    }
    return { decision: evaluate(ruleSet, input, facts), trust }
  }

  it('the requestor reporting whiteListStatus Y grants nothing; the ACS’s own entry does', () => {
    const { list } = setup()
    const claimed = decide(list, 10, areq({ whiteListStatus: 'Y' }))
    expect(claimed.decision).toMatchObject({ transStatus: 'C', ruleId: 'default' })
    expect(claimed.trust.outcome).toBe(false)
    list.add(consent(10))
    const listed = decide(list, 10, areq())
    expect(listed.decision).toMatchObject({ transStatus: 'Y', ruleId: 'trusted' })
    expect(listed.trust.outcome).toBe(true)
    expect(decide(list, 10, areq({ acquirerMerchantID: 'MERCH-0002' })).decision.transStatus).toBe('C')
  })

  it('is looked up only when a rule reaches it, and at most once', () => {
    const { list } = setup()
    list.add(consent(10))
    const skipped = decide(list, 10, areq({ mcc: '7995' }))
    expect(skipped.decision.ruleId).toBe('high-risk-mcc')
    // Never looked: the ARes then says nothing about the trust list.
    expect(skipped.trust.outcome).toBeUndefined()
    let reads = 0
    const counted = new TrustCheck(() => (reads++, true))
    expect([counted.isTrusted(), counted.isTrusted()]).toEqual([true, true])
    expect(reads).toBe(1)
    // No card or no merchant: false without a read.
    expect(list.check(undefined, SHOP).isTrusted()).toBe(false)
    expect(list.check(10, undefined).isTrusted()).toBe(false)
  })
})
