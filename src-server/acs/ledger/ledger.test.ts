import { describe, expect, it } from 'vitest'
import { migrate, openDatabase } from '../../store/db'
import { MIGRATIONS } from '../../store/migrations'
import { dayOf, Ledger, maskedReceived, outcomeOf, type NewTransaction } from './ledger'

/** A frictionless browser authentication; each test sets its acsTransID and aresStatus. */
const TX: NewTransaction = {
  acsTransID: 'tx',
  createdAt: Date.UTC(2026, 2, 1, 12),
  messageVersion: '2.2.0',
  messageCategory: '01',
  channel: 'browser',
  brand: 'visa',
  issuerId: 1,
  cardKey: Buffer.from('k'),
  panMasked: '400000******0002',
  threeDSServerTransID: 's-1',
  dsTransID: 'd-1',
  dsURL: 'https://ds.example/rreq',
  aresStatus: 'Y',
  ruleId: 'default',
  decisionReason: 'no rule matched',
}

describe('ledger', () => {
  it('dayOf agrees with the ISO date around day boundaries, in any order of calls', () => {
    const base = Date.UTC(2026, 1, 28)
    const samples = [
      0,
      -1,
      1,
      86_399_999,
      86_400_000,
      base - 1,
      base,
      base + 86_400_000,
      base + 2 * 86_400_000 - 1,
    ]
    for (let i = 0; i < 2000; i++) samples.push(Math.floor(Math.random() * 4_102_444_800_000))
    for (const ms of [...samples, ...samples.reverse()])
      expect(dayOf(ms), String(ms)).toBe(new Date(ms).toISOString().slice(0, 10))
  })

  it('stores each column of a new transaction where it belongs, and counts it for its day', () => {
    const db = openDatabase(':memory:')
    migrate(db)
    const ledger = new Ledger(db)
    const createdAt = Date.UTC(2026, 10, 22, 23, 59, 59)
    const tx = {
      acsTransID: 'a-1',
      createdAt,
      messageVersion: '2.2.0',
      messageCategory: '01',
      channel: 'app' as const,
      brand: 'visa',
      issuerId: 7,
      rangeId: 3,
      cardId: 11,
      cardKey: Buffer.from('k'),
      panMasked: '400000******0002',
      threeDSServerTransID: 's-1',
      dsTransID: 'd-1',
      sdkTransID: 'sdk-1',
      dsURL: 'https://ds.example/rreq',
      merchantName: 'Shop',
      acquirerMerchantID: 'M1',
      mcc: '5411',
      amount: 1999,
      currency: '978',
      exponent: 2,
      aresStatus: 'Y',
      transStatusReason: undefined,
      eci: '05',
      method: undefined,
      ruleSetId: 'rs',
      ruleSetVersion: 4,
      ruleId: 'r1',
      decisionReason: 'low amount',
    }
    ledger.open(tx)
    expect(db.prepare('SELECT * FROM acs_transactions').get()).toMatchObject({
      acs_trans_id: 'a-1',
      created_at: createdAt,
      day: '2026-11-22',
      updated_at: createdAt,
      message_version: '2.2.0',
      message_category: '01',
      channel: 'app',
      brand: 'visa',
      issuer_id: 7,
      range_id: 3,
      card_id: 11,
      pan_masked: '400000******0002',
      threeds_server_trans_id: 's-1',
      ds_trans_id: 'd-1',
      sdk_trans_id: 'sdk-1',
      ds_url: 'https://ds.example/rreq',
      merchant_name: 'Shop',
      acquirer_merchant_id: 'M1',
      mcc: '5411',
      amount: 1999,
      currency: '978',
      exponent: 2,
      ares_status: 'Y',
      final_status: 'Y',
      trans_status_reason: null,
      eci: '05',
      method: null,
      rule_set_id: 'rs',
      rule_set_version: 4,
      rule_id: 'r1',
      decision_reason: 'low amount',
      outcome: 'successful',
      finished_at: createdAt,
    })
    ledger.open({ ...tx, acsTransID: 'a-2', aresStatus: 'C', method: 'sms-otp', eci: undefined })
    expect(
      db
        .prepare("SELECT final_status, finished_at, method FROM acs_transactions WHERE acs_trans_id = 'a-2'")
        .get(),
    ).toEqual({
      final_status: null,
      finished_at: null,
      method: 'sms-otp',
    })
    expect(db.prepare('SELECT * FROM acs_stats_daily').all()).toEqual([
      expect.objectContaining({
        day: '2026-11-22',
        brand: 'visa',
        issuer_id: 7,
        total: 2,
        frictionless: 1,
        challenged: 1,
        successful: 1,
        failed: 0,
        unavailable: 0,
        incomplete: 0,
        attempts: 0,
        informational: 0,
        in_progress: 1,
      }),
    ])
  })

  it('counts a final I (informational only) apart, like attempts: never as unavailable', () => {
    expect(outcomeOf('I')).toBe('informational')
    expect(outcomeOf('A')).toBe('attempts')
    expect(outcomeOf('U')).toBe('unavailable')
    const db = openDatabase(':memory:')
    migrate(db)
    const ledger = new Ledger(db)
    ledger.open({ ...TX, acsTransID: 'i-1', aresStatus: 'I' })
    ledger.open({ ...TX, acsTransID: 'u-1', aresStatus: 'U', transStatusReason: '22' })
    expect(db.prepare("SELECT outcome FROM acs_transactions WHERE acs_trans_id = 'i-1'").pluck().get()).toBe(
      'informational',
    )
    expect(db.prepare('SELECT * FROM acs_stats_daily').get()).toMatchObject({
      total: 2,
      frictionless: 2,
      unavailable: 1,
      informational: 1,
    })
  })

  it('migration 0150 moves the I counted as unavailable before it to informational, every total kept', () => {
    const db = openDatabase(':memory:')
    const others = MIGRATIONS.filter((m) => m.id !== '0150-acs-informational')
    migrate(db, others)
    // Rows as the ledger wrote them before: a final I counted as unavailable.
    const tx = db.prepare(
      `INSERT INTO acs_transactions (acs_trans_id, created_at, day, updated_at, message_version, message_category,
         channel, brand, issuer_id, card_key, pan_masked, threeds_server_trans_id, ds_trans_id, ds_url, ares_status,
         final_status, rule_id, decision_reason, outcome)
       VALUES (?, 0, ?, 0, '2.2.0', '01', 'browser', ?, 1, x'00', '400000******0002', 's', 'd', 'u', ?, ?, 'r', 'why', ?)`,
    )
    tx.run('i-visa', '2026-03-01', 'visa', 'I', 'I', 'unavailable')
    tx.run('u-visa', '2026-03-01', 'visa', 'U', 'U', 'unavailable')
    tx.run('y-visa', '2026-03-01', 'visa', 'Y', 'Y', 'successful')
    tx.run('i-mc', '2026-03-02', 'mastercard', 'I', 'I', 'unavailable')
    const stats = db.prepare(
      `INSERT INTO acs_stats_daily (day, brand, issuer_id, total, frictionless, successful, unavailable)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    stats.run('2026-03-01', 'visa', 1, 3, 3, 1, 2)
    stats.run('2026-03-02', 'mastercard', 1, 1, 1, 0, 1)
    stats.run('2026-03-01', 'visa', 2, 1, 0, 0, 1) // an Erro: no ledger row, stays unavailable

    expect(migrate(db)).toEqual(['0150-acs-informational'])
    expect(
      db.prepare('SELECT acs_trans_id, outcome FROM acs_transactions ORDER BY acs_trans_id').raw().all(),
    ).toEqual([
      ['i-mc', 'informational'],
      ['i-visa', 'informational'],
      ['u-visa', 'unavailable'],
      ['y-visa', 'successful'],
    ])
    expect(
      db
        .prepare(
          `SELECT day, brand, issuer_id, total, successful, unavailable, informational FROM acs_stats_daily
           ORDER BY day, brand, issuer_id`,
        )
        .raw()
        .all(),
    ).toEqual([
      ['2026-03-01', 'visa', 1, 3, 1, 1, 1],
      ['2026-03-01', 'visa', 2, 1, 0, 1, 0],
      ['2026-03-02', 'mastercard', 1, 1, 0, 0, 1],
    ])
  })

  it('stores a received message as it came, every occurrence of its PAN masked, escapes or not', () => {
    const pan = '4000000000000002'
    const raw = `{ "acctNumber" : "${pan}", "merchantName": "ref ${pan}", "x": {"acctNumber":"${pan}"} }`
    const stored = maskedReceived(raw, JSON.parse(raw) as { acctNumber: string })
    expect(stored).toBe(raw.split(pan).join('400000******0002'))
    // A PAN spelled with \u escapes is invisible to a text search: the parsed copy is stored instead.
    const escaped = `{"acctNumber":"\\u0034000000000000002","merchantName":"Shop"}`
    const parsed = JSON.parse(escaped) as { acctNumber: string }
    expect(parsed.acctNumber).toBe(pan)
    const fallback = maskedReceived(escaped, parsed)
    expect(JSON.parse(fallback)).toEqual({ acctNumber: '400000******0002', merchantName: 'Shop' })
    expect(maskedReceived('{"messageType":"AReq"}', { messageType: 'AReq' } as never)).toBe(
      '{"messageType":"AReq"}',
    )
  })
})
