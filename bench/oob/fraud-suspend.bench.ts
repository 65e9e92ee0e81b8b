/**
 * FRAUD reply → card suspended: the time from an incoming SMS being handed to the SMS service (as a modem's
 * +CMT/+CMTI is) to the card's status being 'suspended' in the database, through the real services (inbox
 * row, ACS reply matching, fraud handler, card status change with its audit row, report, webhook outbox).
 * Baseline: a bare SQLite UPDATE of one card's status in its own transaction on the same database.
 * Target: < 100 ms at p99.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '../../src-server/log'
import { startServer } from '../../src-server/server'
import { seedDemo } from '../../src-server/lab/demo'

const ROUNDS = 300

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]
}

export default {
  name: 'oob: FRAUD reply → card suspended (p99)',
  async run() {
    const dataDir = mkdtempSync(join(tmpdir(), 'ims-oob-bench-'))
    const ims = await startServer({
      env: { IMS_DATA_DIR: dataDir, IMS_PORT: '0', IMS_HOST: '127.0.0.1' },
      log: createLogger('silent'),
      consoleRoot: null,
    })
    try {
      const { services } = ims
      const { db, fraud, sms, cardholders } = services
      seedDemo(services, 'bench')
      const card = db
        .prepare(
          `SELECT c.id AS cardId, c.cardholder_id AS cardholderId, c.pan_masked AS panMasked, h.mobile, h.issuer_id AS issuerId
           FROM cards c JOIN cardholders h ON h.id = c.cardholder_id WHERE h.mobile = '+447700900002'`,
        )
        .get() as {
        cardId: number
        cardholderId: number
        panMasked: string
        mobile: string
        issuerId: number
      }
      const status = db.prepare('SELECT status FROM cards WHERE id = ?').pluck()
      const latencies: number[] = []
      for (let i = 0; i < ROUNDS; i++) {
        const acsTransID = `bench-${i}`
        fraud.onAuthenticated({
          ...card,
          acsTransID,
          cardStatus: 'active',
          language: 'en',
          merchantName: 'Bench Shop',
          amountText: 'EUR 1.00',
          transStatus: 'Y',
          challenged: false,
        })
        const ref = db
          .prepare('SELECT ref FROM fraud_alerts WHERE acs_trans_id = ?')
          .pluck()
          .get(acsTransID) as string
        const t0 = performance.now()
        const r = await sms.receive(
          { from: card.mobile, text: `fraud ${ref}`, receivedAt: Date.now() },
          'virtual',
        )
        const t1 = performance.now()
        if (r.outcome !== 'matched' || status.get(card.cardId) !== 'suspended')
          throw new Error(`round ${i}: the card was not suspended (${r.outcome})`)
        latencies.push(t1 - t0)
        cardholders.setCardStatus(card.cardId, 'active', 'bench reset', 'bench')
      }
      const bare = db.prepare(
        "UPDATE cards SET status = ?, status_reason = 'bench', updated_at = ? WHERE id = ?",
      )
      const baseline: number[] = []
      for (let i = 0; i < ROUNDS; i++) {
        const t0 = performance.now()
        db.transaction(() =>
          bare.run(i % 2 ? 'suspended' : 'active', new Date().toISOString(), card.cardId),
        )()
        baseline.push(performance.now() - t0)
      }
      return {
        value: p99(latencies),
        baseline: p99(baseline),
        unit: 'ms (p99)',
        note: `receive → suspended over ${ROUNDS} replies; baseline: bare SQLite UPDATE of a card's status (p99); target < 100 ms`,
      }
    } finally {
      await ims.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  },
}
