import Database from 'better-sqlite3'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { systemFailure } from './system-failure'

/** What `work` throws. */
function thrown(work: () => unknown): unknown {
  try {
    work()
  } catch (err) {
    return err
  }
  throw new Error('expected a throw')
}

const PERMANENT = { code: '404', detail: 'ACS storage' }
const TRANSIENT = { code: '403', detail: 'ACS processing' }

describe('systemFailure', () => {
  it('answers 404 for the errors better-sqlite3 throws from a database that stays unusable', () => {
    const readOnly = new Database(':memory:')
    readOnly.exec('CREATE TABLE t (x)')
    readOnly.pragma('query_only = ON')
    const write = thrown(() => readOnly.prepare('INSERT INTO t VALUES (1)').run())
    expect(write).toMatchObject({ name: 'SqliteError', code: 'SQLITE_READONLY' })
    expect(systemFailure(write)).toEqual(PERMANENT)
    readOnly.close()

    const file = join(mkdtempSync(join(tmpdir(), 'ims-failure-')), 'garbage.db')
    writeFileSync(file, 'x'.repeat(4096))
    const garbage = new Database(file)
    const notADb = thrown(() => garbage.prepare('SELECT * FROM sqlite_master').all())
    garbage.close()
    expect(notADb).toMatchObject({ code: 'SQLITE_NOTADB' })
    expect(systemFailure(notADb)).toEqual(PERMANENT)
  })

  it('answers 404 for the lasting SQLite codes, extended codes included', () => {
    for (const code of [
      'SQLITE_CORRUPT',
      'SQLITE_CORRUPT_INDEX',
      'SQLITE_NOTADB',
      'SQLITE_CANTOPEN',
      'SQLITE_READONLY',
      'SQLITE_READONLY_DBMOVED',
      'SQLITE_IOERR',
      'SQLITE_IOERR_FSYNC',
      'SQLITE_IOERR_WRITE',
      'SQLITE_FULL',
    ])
      expect(systemFailure(Object.assign(new Error(code), { code })), code).toEqual(PERMANENT)
  })

  it('answers 404 for a file system fault (a failed fsync of the WAL)', () => {
    for (const code of ['EIO', 'ENOSPC', 'EROFS', 'EDQUOT'])
      expect(systemFailure(Object.assign(new Error(`${code}: fdatasync`), { code })), code).toEqual(PERMANENT)
  })

  it('answers 403 for a busy or locked database, which passes', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ims-failure-')), 'busy.db')
    const holder = new Database(file)
    holder.exec('CREATE TABLE t (x)')
    const other = new Database(file, { timeout: 0 })
    holder.exec('BEGIN IMMEDIATE')
    const busy = thrown(() => other.prepare('INSERT INTO t VALUES (1)').run())
    holder.exec('ROLLBACK')
    other.close()
    holder.close()
    expect(busy).toMatchObject({ code: 'SQLITE_BUSY' })
    expect(systemFailure(busy)).toEqual(TRANSIENT)
    for (const code of ['SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED', 'SQLITE_LOCKED_SHAREDCACHE'])
      expect(systemFailure(Object.assign(new Error(code), { code })), code).toEqual(TRANSIENT)
  })

  it('answers 403 for anything not known to last', () => {
    // Look-alikes of lasting codes are not taken for them.
    for (const code of [
      'SQLITE_CONSTRAINT_UNIQUE',
      'SQLITE_NOMEM',
      'SQLITE_FULLX',
      'EMFILE',
      'ECONNRESET',
      42,
    ])
      expect(systemFailure(Object.assign(new Error('x'), { code })), String(code)).toEqual(TRANSIENT)
    for (const err of [new TypeError('x is undefined'), 'a string', null, undefined])
      expect(systemFailure(err)).toEqual(TRANSIENT)
  })
})
