import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DUE_SQL, INTERRUPTED_SQL } from '../acs/service/rreq-outbox'
import { QUEUE_SQL } from '../sms/service'
import { migrate, openDatabase } from './db'

/**
 * The outboxes keep every message ever sent, and their loops run several times a second: each loop statement
 * must read a partial index of the open rows, never the table (a full scan of a 1.5-million-row RReq outbox
 * took 772 ms every 200 ms). Checked on SQLite's own plans, on an empty database with no statistics.
 */
const dir = mkdtempSync(join(tmpdir(), 'ims-queue-plans-'))
const db = openDatabase(join(dir, 'plans.db'))
migrate(db)
afterAll(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

const partialIndexes = new Set(
  db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'")
    .pluck()
    .all() as string[],
)

/** The plan steps that read the outbox tables other than through a partial index or the primary key. */
function wholeTableReads(sql: string): string[] {
  const params = Array((sql.match(/\?/g) ?? []).length).fill(null)
  const steps = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map(
    (r) => r.detail,
  )
  return steps.filter((step) => {
    const m = /^(SCAN|SEARCH) (sms_outbox|acs_rreq_outbox)\b(?: USING (?:COVERING )?INDEX (\w+))?/.exec(step)
    if (!m || step.includes('INTEGER PRIMARY KEY')) return false
    return !(m[3] && partialIndexes.has(m[3]))
  })
}

describe('outbox loop query plans', () => {
  const statements = {
    'RReq due': DUE_SQL,
    'RReq interrupted': INTERRUPTED_SQL,
    'SMS claim': QUEUE_SQL.claim(8),
    'SMS record': QUEUE_SQL.record(64),
    'SMS next due': QUEUE_SQL.nextDue,
    'SMS interrupted': QUEUE_SQL.interrupted,
    'SMS delivery report': QUEUE_SQL.delivered,
  }
  for (const [name, sql] of Object.entries(statements))
    it(`${name} reads only the open rows`, () => expect(wholeTableReads(sql)).toEqual([]))

  it('the check itself catches a whole-table read', () => {
    expect(wholeTableReads(`SELECT id FROM acs_rreq_outbox WHERE status = 'pending'`)).not.toEqual([])
    expect(wholeTableReads(`SELECT id FROM sms_outbox WHERE kind = 'otp'`)).not.toEqual([])
  })
})
