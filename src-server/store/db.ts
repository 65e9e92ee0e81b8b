import Database from 'better-sqlite3'
import { chmodSync, existsSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { MIGRATIONS, type Migration } from './migrations'

export type Db = Database.Database

/** The suite's database in a data folder. */
export function databasePath(dataDir: string): string {
  return join(dataDir, 'ims.db')
}

/**
 * Opens the suite's database with the pragmas the whole server relies on.
 *
 * WAL + synchronous=NORMAL: a commit reaches the OS, not the disk. The database holds the authentication
 * ledger and the audit chain, and an acknowledged result must survive a power cut, so the server never
 * acknowledges a write before `Durability.flush()` has synced the WAL (store/durability.ts): the same disk
 * sync FULL would do inside the commit, but never long on the event loop and shared by concurrent writers. See
 * docs/architecture.md.
 */
export function openDatabase(file: string, options: { readonly?: boolean } = {}): Db {
  if (!options.readonly && file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  const isNew = file !== ':memory:' && !existsSync(file)
  const db = new Database(file, {
    readonly: options.readonly ?? false,
    fileMustExist: options.readonly ?? false,
  })
  // Holds encrypted PANs and the audit chain: owner-only, like the key file (SQLite gives -wal/-shm the same mode).
  if (isNew && process.platform !== 'win32') chmodSync(file, 0o600)
  if (!options.readonly) db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  db.pragma('temp_store = MEMORY')
  // 16 MB of page cache: the AReq path's hot pages (card lookup, the right edge of the ledger's indexes,
  // today's statistics) take a few MB; colder pages come from the operating system's file cache.
  db.pragma('cache_size = -16384')
  // No memory-mapped I/O: mapped pages count as the server's resident memory, so a ledger of millions of
  // authentications would grow the process by every page it ever touched. Reads go through the bounded page
  // cache above and the operating system's file cache instead.
  db.pragma('mmap_size = 0')
  return db
}

/** Rows a connection has changed (inserted, updated, deleted) since it opened: moved means it wrote. */
export function changeCounter(db: Db): () => number {
  const totalChanges = db.prepare('SELECT total_changes()').pluck()
  return () => totalChanges.get() as number
}

/**
 * Prepares each SQL text once per connection and hands back the same statement afterwards: re-preparing costs
 * about 3x a lookup (desktop-stack.md §10), and hot paths (the SMS outbox, the AReq path) run the same few
 * statements thousands of times. A statement's mode (pluck, raw) sticks to it, so use one SQL text one way.
 */
export function statementCache(db: Db): (sql: string) => Database.Statement {
  const cache = new Map<string, Database.Statement>()
  return (sql) => {
    let stmt = cache.get(sql)
    if (!stmt) cache.set(sql, (stmt = db.prepare(sql)))
    return stmt
  }
}

const savepoints = new WeakMap<Db, Record<'open' | 'release' | 'rollback', Database.Statement>>()

/**
 * Runs `work` in a savepoint: inside the caller's transaction a failure undoes `work` alone; outside one it
 * is a transaction of its own. The same as calling `db.transaction(work)()`, which however builds four
 * wrapper functions each time it is called: the hot paths (one savepoint per AReq in a group commit, one
 * per authentication observer) spent 4% of an AReq's CPU there.
 */
export function inSavepoint<T>(db: Db, work: () => T): T {
  let sql = savepoints.get(db)
  if (!sql) {
    sql = {
      open: db.prepare('SAVEPOINT ims_work'),
      release: db.prepare('RELEASE ims_work'),
      rollback: db.prepare('ROLLBACK TO ims_work'),
    }
    savepoints.set(db, sql)
  }
  sql.open.run()
  try {
    const result = work()
    sql.release.run()
    return result
  } catch (err) {
    // SQLite may already have rolled the whole transaction back (a full disk, an I/O error).
    if (db.inTransaction) {
      sql.rollback.run()
      sql.release.run()
    }
    throw err
  }
}

/** Set while `optimistically` runs: `isolate` then opens no savepoint. */
let optimistic = false

/**
 * Runs `work` so that its failure undoes its own writes only and goes to `onFailure` rather than to the
 * caller (a group commit's items, the authentication observers). Normally a savepoint (`inSavepoint`); inside
 * `optimistically` none is opened, and a failure aborts the optimistic run instead.
 */
export function isolate(db: Db, work: () => void, onFailure: (err: unknown) => void): void {
  if (optimistic) return work()
  try {
    inSavepoint(db, work)
  } catch (err) {
    onFailure(err)
  }
}

/**
 * Runs `run` (which opens its own transaction) with `isolate` opening no savepoints, and says whether it
 * went through. When anything in it threw, its transaction is rolled back whole and the caller runs it again
 * the careful way, each isolated part in its savepoint, so a failure still undoes only its own part.
 *
 * Why: a savepoint copies every database page its work first touches to the statement journal, in case it
 * rolls back; with a savepoint per AReq and per observer that was 4% of a frictionless AReq's CPU, spent for
 * a failure that hardly ever comes. The price is paid on that failure: the parts that ran before it run
 * twice, so they must be safe to repeat once their writes are rolled back (in-memory notifications they
 * sent, such as the SMS outbox's events, may repeat).
 */
export function optimistically(run: () => void): boolean {
  optimistic = true
  try {
    run()
    return true
  } catch {
    return false
  } finally {
    optimistic = false
  }
}

/** Applies every migration not yet recorded, each in its own transaction, in id order. */
export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): string[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    id TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL
  ) STRICT`)
  const applied = new Set(db.prepare('SELECT id FROM schema_migrations').pluck().all() as string[])
  const ids = migrations.map((m) => m.id)
  if (new Set(ids).size !== ids.length) throw new Error('duplicate migration id')
  const sorted = [...migrations].sort((a, b) => a.id.localeCompare(b.id))
  const record = db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)')
  const done: string[] = []
  for (const m of sorted) {
    if (applied.has(m.id)) continue
    db.transaction(() => {
      db.exec(m.sql)
      record.run(m.id, new Date().toISOString())
    })()
    done.push(m.id)
  }
  return done
}
