import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { migrate, openDatabase } from '../../store/db'
import { ALARM_SQL } from './alarms'
import { AUTHENTICATION_SQL } from './authentications'
import { FINGERPRINT_SQL } from './changes'
import { SMS_SQL } from './sms-health'

/**
 * "No dashboard ever scans the ledger": every statement of a refresh (and of the change watcher) reads the big
 * tables only through an index range or a partial index of what is open. Checked on SQLite's own plans, on an
 * empty database where the planner has no statistics to lean on.
 */
const dir = mkdtempSync(join(tmpdir(), 'ims-dashboard-plans-'))
const db = openDatabase(join(dir, 'plans.db'))
migrate(db)
afterAll(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Tables that grow with traffic; the others (keys, ranges, settings) hold a few rows per configuration item. */
const GROWING = [
  'acs_transactions',
  'acs_messages',
  'acs_challenges',
  'acs_rreq_outbox',
  'acs_stats_daily',
  'acs_method_daily',
  'alarms',
  'sms_outbox',
  'sms_inbox',
]
const partialIndexes = new Set(
  db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'")
    .pluck()
    .all() as string[],
)

function plan(sql: string): string[] {
  const params = Array((sql.match(/\?/g) ?? []).length).fill(null)
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail)
}

/**
 * A step reading a growing table other than through a range of time (a day, the last 24 hours) or through a
 * partial index of what is open: an index range on a status alone still grows with history.
 */
function unbounded(step: string): boolean {
  const m = /^(SCAN|SEARCH) (\w+)(?: USING (?:COVERING |PRIMARY KEY)?(?:INDEX (\w+))?)?(?: \((.*)\))?/.exec(
    step,
  )
  if (!m || !GROWING.includes(m[2])) return false
  if (m[3] && partialIndexes.has(m[3])) return false
  return m[1] === 'SCAN' || !/\b(day|created_at|received_at)[<>=]/.test(m[4] ?? '')
}

describe('dashboard query plans', () => {
  const statements = { ...AUTHENTICATION_SQL, ...SMS_SQL, ...ALARM_SQL, fingerprint: FINGERPRINT_SQL }
  for (const [name, sql] of Object.entries(statements)) {
    it(`${name} never scans a growing table and never touches the ledger`, () => {
      const steps = plan(sql)
      expect(steps.filter(unbounded)).toEqual([])
      expect(steps.join('\n')).not.toMatch(/acs_transactions|acs_messages/)
    })
  }

  it('the check itself catches a scan', () => {
    expect(plan('SELECT count(*) FROM sms_outbox WHERE kind = ?').some(unbounded)).toBe(true)
    expect(plan('SELECT count(*) FROM acs_transactions WHERE method = ?').some(unbounded)).toBe(true)
    // An index range, but on a status: every delivered message ever.
    expect(plan("SELECT sent_at FROM sms_outbox WHERE status = 'delivered'").some(unbounded)).toBe(true)
  })
})
