import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { Keyring } from '../crypto/keyring'
import { migrate, openDatabase } from '../store/db'
import { AuditLog } from './audit-log'

function setup() {
  const db = openDatabase(':memory:')
  migrate(db)
  const master = randomBytes(32)
  const audit = new AuditLog(db, new Keyring(db, master))
  for (let i = 0; i < 5; i++)
    audit.record({ actor: 'operator:a', action: 'test.act', target: `t${i}`, details: { i } })
  return { db, audit, master }
}

describe('audit log', () => {
  it('verifies an untouched chain', () => {
    expect(setup().audit.verify()).toEqual({ ok: true, rows: 5 })
  })

  it('finds an edited row', () => {
    const { db, audit } = setup()
    db.prepare(`UPDATE audit_log SET details = '{"i":99}' WHERE id = 3`).run()
    expect(audit.verify()).toMatchObject({ ok: false, brokenAt: 3 })
  })

  it('finds a deleted row', () => {
    const { db, audit } = setup()
    db.prepare('DELETE FROM audit_log WHERE id = 2').run()
    expect(audit.verify()).toMatchObject({ ok: false, brokenAt: 3, reason: expect.stringMatching(/missing/) })
  })

  it('finds a row rebuilt by someone without the key', () => {
    const { db } = setup()
    // A forger recomputes the MACs with a key of their own: the real key rejects the chain at once.
    const forged = new AuditLog(db, new Keyring(db, randomBytes(32)))
    expect(() => forged.verify()).toThrow() // cannot even unwrap the audit key
  })

  it('records inside the caller’s transaction so action and record commit together', () => {
    const { db, audit } = setup()
    expect(() =>
      db.transaction(() => {
        audit.record({ actor: 'system', action: 'will.roll.back' })
        throw new Error('abort')
      })(),
    ).toThrow('abort')
    expect(audit.verify()).toEqual({ ok: true, rows: 5 })
  })
})
