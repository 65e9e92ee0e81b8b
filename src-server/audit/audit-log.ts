import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Db } from '../store/db'
import type { Keyring } from '../crypto/keyring'

const GENESIS = '0'.repeat(64)

export interface AuditEntry {
  /** Who did it: `operator:<username>`, `cli:<user>`, `system`, `cardholder:<masked>` … */
  actor: string
  /** What was done, dotted: `operator.login`, `cardholder.suspend`, `keys.rotate` … */
  action: string
  /** What it was done to, if anything (masked: never a PAN, code or key). */
  target?: string
  details?: Record<string, unknown>
}

export interface AuditRow {
  id: number
  at: string
  actor: string
  action: string
  target: string | null
  details: string
  prev_mac: string
  mac: string
}

export type VerifyResult =
  { ok: true; rows: number } | { ok: false; rows: number; brokenAt: number; reason: string }

function canonical(row: Omit<AuditRow, 'prev_mac' | 'mac'>): string {
  return JSON.stringify([row.id, row.at, row.actor, row.action, row.target, row.details])
}

/**
 * Append-only, hash-chained audit trail. Each row's MAC covers the previous row's MAC and the row itself,
 * under a key from the key hierarchy, so editing, inserting or deleting a row in the middle breaks the
 * chain at that row, and a forger without the master key cannot rebuild it.
 */
export class AuditLog {
  private readonly insert
  private readonly last

  constructor(
    private readonly db: Db,
    private readonly keyring: Keyring,
  ) {
    this.insert = db.prepare(
      'INSERT INTO audit_log (id, at, actor, action, target, details, prev_mac, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    )
    this.last = db.prepare('SELECT id, mac FROM audit_log ORDER BY id DESC LIMIT 1')
  }

  private mac(prev: string, row: Omit<AuditRow, 'prev_mac' | 'mac'>): string {
    return createHmac('sha256', this.keyring.active('audit-mac').key)
      .update(prev)
      .update('\n')
      .update(canonical(row))
      .digest('hex')
  }

  /** Appends an entry. Runs inside the caller's transaction when there is one, so the action and its record commit together. */
  record(entry: AuditEntry): number {
    const write = () => {
      const prev = this.last.get() as { id: number; mac: string } | undefined
      const row = {
        id: (prev?.id ?? 0) + 1,
        at: new Date().toISOString(),
        actor: entry.actor,
        action: entry.action,
        target: entry.target ?? null,
        details: JSON.stringify(entry.details ?? {}),
      }
      const prevMac = prev?.mac ?? GENESIS
      this.insert.run(
        row.id,
        row.at,
        row.actor,
        row.action,
        row.target,
        row.details,
        prevMac,
        this.mac(prevMac, row),
      )
      return row.id
    }
    return this.db.inTransaction ? write() : this.db.transaction(write).immediate()
  }

  /** Walks the whole chain and reports the first row whose link or MAC does not hold. */
  verify(): VerifyResult {
    let prevMac = GENESIS
    let expectedId = 1
    let rows = 0
    for (const row of this.db
      .prepare('SELECT * FROM audit_log ORDER BY id')
      .iterate() as Iterable<AuditRow>) {
      rows++
      if (row.id !== expectedId) {
        return {
          ok: false,
          rows,
          brokenAt: row.id,
          reason: `row ${expectedId} is missing before row ${row.id}`,
        }
      }
      if (row.prev_mac !== prevMac) {
        return { ok: false, rows, brokenAt: row.id, reason: 'link to the previous row does not match' }
      }
      const expected = Buffer.from(this.mac(prevMac, row), 'hex')
      const actual = Buffer.from(row.mac, 'hex')
      if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
        return { ok: false, rows, brokenAt: row.id, reason: 'row content does not match its MAC (edited)' }
      }
      prevMac = row.mac
      expectedId++
    }
    return { ok: true, rows }
  }
}
