import Database from 'better-sqlite3'
import { randomBytes } from 'node:crypto'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Keyring } from '../crypto/keyring'
import { migrate, openDatabase, type Db } from '../store/db'
import { anchorPathFor } from './anchor'
import { AuditLog } from './audit-log'

let dir: string
let file: string
let anchorFile: string
const master = randomBytes(32)
const open: Db[] = []

/** The log as a (new) server process would build it over the database file. */
function openLog(key = master) {
  const db = openDatabase(file)
  open.push(db)
  migrate(db)
  return { db, audit: new AuditLog(db, new Keyring(db, key)) }
}

async function append(audit: AuditLog, n: number) {
  for (let i = 0; i < n; i++) audit.record({ actor: 'operator:a', action: 'test.act', details: { i } })
  await audit.anchored()
}

/** Someone with write access to the database file and the sqlite3 shell, nothing else. */
function tamper(sql: string) {
  const db = new Database(file)
  db.exec(sql)
  db.close()
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ims-anchor-'))
  file = join(dir, 'ims.db')
  anchorFile = anchorPathFor(file)
})
afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('audit chain-head anchor', () => {
  it('names rows only once they are on disk (the durability barrier), never ahead of them', async () => {
    const db = openDatabase(file)
    open.push(db)
    migrate(db)
    let synced!: () => void
    const barrier = new Promise<void>((resolve) => (synced = resolve))
    const audit = new AuditLog(db, new Keyring(db, master), { durable: () => barrier })
    audit.record({ actor: 'operator:a', action: 'test.act' })
    const done = audit.anchored()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(() => statSync(anchorFile)).toThrow() // committed, not yet synced: no anchor yet
    synced()
    await done
    expect(JSON.parse(readFileSync(anchorFile, 'utf8'))).toMatchObject({ seq: 1 })
  })

  it('verifies a log in normal use, and the anchor follows its end', async () => {
    const { audit } = openLog()
    await append(audit, 5)
    expect(audit.verify()).toEqual({ ok: true, rows: 5, anchoredAt: 5 })
    expect(JSON.parse(readFileSync(anchorFile, 'utf8'))).toMatchObject({ v: 1, seq: 5 })
    if (process.platform !== 'win32') expect(statSync(anchorFile).mode & 0o777).toBe(0o600)
    // A later process (a restart) goes on from the anchor the earlier one left.
    const again = openLog().audit
    await append(again, 2)
    expect(again.verify()).toEqual({ ok: true, rows: 7, anchoredAt: 7 })
  })

  it('coalesces: a burst of appends in one turn writes the anchor once, after the commit', async () => {
    const { db, audit } = openLog()
    await append(audit, 1)
    const write = vi.spyOn(audit.anchor!, 'write')
    db.transaction(() => {
      for (let i = 0; i < 50; i++) audit.record({ actor: 'system', action: 'burst', details: { i } })
    })()
    for (let i = 0; i < 50; i++) audit.record({ actor: 'system', action: 'burst.own-transaction' })
    await audit.anchored()
    expect(write).toHaveBeenCalledTimes(1)
    expect(write.mock.calls[0][0]).toMatchObject({ seq: 101 })
  })

  it('does not anchor rows that rolled back', async () => {
    const { db, audit } = openLog()
    await append(audit, 3)
    const write = vi.spyOn(audit.anchor!, 'write')
    expect(() =>
      db.transaction(() => {
        audit.record({ actor: 'system', action: 'will.roll.back' })
        throw new Error('abort')
      })(),
    ).toThrow('abort')
    await audit.anchored()
    expect(write).not.toHaveBeenCalled()
    expect(audit.verify()).toEqual({ ok: true, rows: 3, anchoredAt: 3 })
  })

  it('reports the newest rows deleted with plain SQL', async () => {
    const { audit } = openLog()
    await append(audit, 6)
    tamper('DELETE FROM audit_log WHERE id > 4')
    expect(openLog().audit.verify()).toEqual({
      ok: false,
      rows: 4,
      problem: 'truncated',
      brokenAt: 5,
      reason: expect.stringMatching(
        /^the log ends at #4 but was anchored at #6 \(.+\): entries were removed/,
      ),
    })
    tamper('DELETE FROM audit_log')
    expect(audit.verify()).toMatchObject({ ok: false, rows: 0, problem: 'truncated', brokenAt: 1 })
  })

  it('reports an end cut back and rebuilt by later appends, and keeps the evidence', async () => {
    const { audit } = openLog()
    await append(audit, 6)
    const evidence = readFileSync(anchorFile, 'utf8')
    tamper('DELETE FROM audit_log WHERE id > 3')
    // The server goes on appending: a consistent, valid chain as long as before (and then longer).
    await append(audit, 3)
    expect(audit.verify()).toMatchObject({
      ok: false,
      rows: 6,
      problem: 'replaced',
      brokenAt: 6,
      reason: expect.stringMatching(/entry #6 is not the one anchored/),
    })
    await append(audit, 2)
    expect(audit.verify()).toMatchObject({ ok: false, rows: 8, problem: 'replaced' })
    // Shorter than before is reported as such, too.
    tamper('DELETE FROM audit_log WHERE id > 3')
    await append(audit, 1)
    expect(audit.verify()).toMatchObject({ ok: false, rows: 4, problem: 'truncated' })
    // The appends did not move the anchor over the cut.
    expect(readFileSync(anchorFile, 'utf8')).toBe(evidence)
  })

  it('reports an edited, forged or foreign anchor', async () => {
    const { audit } = openLog()
    await append(audit, 5)
    const genuine = JSON.parse(readFileSync(anchorFile, 'utf8')) as Record<string, unknown>
    // Moved back to hide a cut: the HMAC no longer holds.
    writeFileSync(anchorFile, JSON.stringify({ ...genuine, seq: 3 }))
    tamper('DELETE FROM audit_log WHERE id > 3')
    expect(audit.verify()).toMatchObject({
      ok: false,
      problem: 'anchor-invalid',
      reason: expect.stringMatching(/anchor .* is not genuine: its HMAC does not match/),
    })
    expect(audit.verify()).not.toHaveProperty('brokenAt')
    writeFileSync(anchorFile, 'garbage')
    expect(audit.verify()).toMatchObject({ ok: false, problem: 'anchor-invalid' })
    // An anchor another installation (another master key) wrote for a log of the same length.
    const other = join(dir, 'other')
    const otherDb = openDatabase(join(other, 'ims.db'))
    open.push(otherDb)
    migrate(otherDb)
    await append(new AuditLog(otherDb, new Keyring(otherDb, randomBytes(32))), 3)
    copyFileSync(anchorPathFor(join(other, 'ims.db')), anchorFile)
    expect(audit.verify()).toMatchObject({ ok: false, problem: 'anchor-invalid' })
  })

  it('does not call a crash between commit and anchor write tampering', async () => {
    const { db, audit } = openLog()
    await append(audit, 4)
    const before = readFileSync(anchorFile)
    // One commit of three rows whose anchor write never happened (the process died in between).
    db.transaction(() => {
      for (let i = 0; i < 3; i++) audit.record({ actor: 'system', action: 'last.commit' })
    })()
    await audit.anchored()
    writeFileSync(anchorFile, before)
    const restarted = openLog().audit
    expect(restarted.verify()).toEqual({ ok: true, rows: 7, anchoredAt: 4 })
    // Rows appended through a log that keeps no anchor (the lower-level path) lag the same way.
    const unanchored = new AuditLog(db, new Keyring(db, master), { anchorFile: null })
    unanchored.record({ actor: 'system', action: 'no.anchor' })
    expect(restarted.verify()).toEqual({ ok: true, rows: 8, anchoredAt: 4 })
    // The next append catches the anchor up.
    await append(restarted, 1)
    expect(restarted.verify()).toEqual({ ok: true, rows: 9, anchoredAt: 9 })
  })

  it('reports a missing anchor without crashing, and no append quietly replaces it', async () => {
    const { audit } = openLog()
    expect(audit.verify()).toEqual({ ok: true, rows: 0 })
    await append(audit, 3)
    unlinkSync(anchorFile)
    const expected = {
      ok: false,
      rows: 3,
      problem: 'anchor-missing',
      reason: expect.stringMatching(
        /has 3 entries but no chain-head anchor .*installation from before anchoring, or after restoring a database without its anchor file.*ims audit anchor/,
      ),
    }
    expect(audit.verify()).toEqual(expected)
    // Not even by the log that began the chain, once it has anchored it.
    await append(audit, 1)
    expect(audit.verify()).toEqual({ ...expected, rows: 4, reason: expect.any(String) })
    // A server started on such a database goes on working, and the report stays until someone re-anchors.
    const restarted = openLog().audit
    await append(restarted, 1)
    expect(restarted.verify()).toEqual({ ...expected, rows: 5, reason: expect.any(String) })
  })

  it('re-anchors on an operator’s word, as an audit entry of its own', async () => {
    const { db, audit } = openLog()
    await append(audit, 5)
    tamper('DELETE FROM audit_log WHERE id > 2')
    const { seq, before } = await audit.reanchor('cli:ops', 'restored the backup of 1 May')
    expect(seq).toBe(3)
    expect(before).toMatchObject({ ok: false, problem: 'truncated' })
    expect(audit.verify()).toEqual({ ok: true, rows: 3, anchoredAt: 3 })
    const entry = db.prepare('SELECT actor, action, details FROM audit_log WHERE id = 3').get() as {
      actor: string
      action: string
      details: string
    }
    expect(entry).toMatchObject({ actor: 'cli:ops', action: 'audit.anchor.reset' })
    expect(JSON.parse(entry.details)).toEqual({
      reason: 'restored the backup of 1 May',
      rows: 2,
      found: 'truncated',
      anchoredAt: 5,
    })
    // And from there on the anchor follows the log again.
    await append(audit, 2)
    expect(audit.verify()).toEqual({ ok: true, rows: 5, anchoredAt: 5 })
  })

  it('keeps no anchor for an in-memory database', () => {
    const db = openDatabase(':memory:')
    open.push(db)
    migrate(db)
    const audit = new AuditLog(db, new Keyring(db, master))
    expect(audit.anchor).toBeNull()
    audit.record({ actor: 'system', action: 'x' })
    expect(audit.verify()).toEqual({ ok: true, rows: 1 })
  })
})
