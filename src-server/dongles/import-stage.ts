import type { Vault } from '../crypto/vault'
import type { Db } from '../store/db'
import type { SeedRecord } from './import-report'

/** Staged rows per INSERT: one statement call per row costs as much as the row's own work in the temp table. */
const ROWS_PER_INSERT = 64
const COLUMNS =
  'serial, manufacturer, model, kind, algorithm, digits, period, counter, drift_steps, seed_sealed'
const COLUMN_COUNT = COLUMNS.split(',').length

/**
 * The tokens of one import on their way into the inventory. While the file is still being read, accepted seeds
 * are sealed (AES-GCM under the `secret-enc` data key, AAD = serial) and staged in a TEMP table: it lives in
 * memory on this connection only, so staging takes no lock on the database and nobody else sees it. When the
 * whole file has passed, `commit` copies the staged rows into `dongles` with one INSERT … SELECT in one
 * transaction, so SQLite does the copy natively (no per-row call from JavaScript) and the import lands whole or
 * not at all, even if the process dies half-way. `drop` removes the stage in every case.
 */
export class ImportStage {
  private readonly table: string
  private readonly insertMany
  private readonly insertOne
  private staged = 0

  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly importId: number,
  ) {
    this.table = `temp.dongle_import_${importId}`
    db.exec(`CREATE TEMP TABLE dongle_import_${importId} (
      serial TEXT NOT NULL, manufacturer TEXT, model TEXT, kind TEXT NOT NULL, algorithm TEXT NOT NULL,
      digits INTEGER NOT NULL, period INTEGER NOT NULL, counter INTEGER NOT NULL, drift_steps INTEGER NOT NULL,
      seed_sealed BLOB NOT NULL)`)
    const row = `(${Array<string>(COLUMN_COUNT).fill('?').join(', ')})`
    this.insertMany = db.prepare(
      `INSERT INTO ${this.table} (${COLUMNS}) VALUES ${Array<string>(ROWS_PER_INSERT).fill(row).join(', ')}`,
    )
    this.insertOne = db.prepare(`INSERT INTO ${this.table} (${COLUMNS}) VALUES ${row}`)
  }

  /** Seeds staged so far. */
  get size(): number {
    return this.staged
  }

  /**
   * Seals and stages seeds, zeroing their plaintext secrets. `start` is the position of the first of them in
   * the file's accepted seeds: anything staged from there on (a read that started again) is replaced.
   */
  add(seeds: readonly SeedRecord[], start = this.staged): void {
    // One parameter array, refilled for each statement (binding copies the values).
    const params: unknown[] = []
    const put = (s: SeedRecord, at: number) => {
      const sealed = this.vault.seal('secret-enc', s.secret, s.serial)
      s.secret.fill(0)
      params[at] = s.serial
      params[at + 1] = s.manufacturer ?? null
      params[at + 2] = s.model ?? null
      params[at + 3] = s.kind
      params[at + 4] = s.algorithm
      params[at + 5] = s.digits
      params[at + 6] = s.period
      params[at + 7] = s.counter
      params[at + 8] = s.driftSteps ?? 0 // the file's TimeDrift: a drifted token verifies from its first code
      params[at + 9] = sealed
    }
    this.db.transaction(() => {
      // Staged rows are numbered 1, 2, … in file order: rowid = position + 1.
      if (start < this.staged) this.db.prepare(`DELETE FROM ${this.table} WHERE rowid > ?`).run(start)
      let i = 0
      for (; i + ROWS_PER_INSERT <= seeds.length; i += ROWS_PER_INSERT) {
        for (let j = 0; j < ROWS_PER_INSERT; j++) put(seeds[i + j], j * COLUMN_COUNT)
        this.insertMany.run(params)
      }
      params.length = COLUMN_COUNT
      for (; i < seeds.length; i++) {
        put(seeds[i], 0)
        this.insertOne.run(params)
      }
    })()
    this.staged = start + seeds.length
  }

  /**
   * Adds every staged token to the inventory, in stock, in one transaction; returns how many. A serial already
   * in the inventory aborts it (SQLITE_CONSTRAINT_UNIQUE): {@link duplicates} then names them.
   */
  commit(batch: string | null): number {
    const now = Date.now()
    const copy = this.db.prepare(
      `INSERT INTO dongles (${COLUMNS}, fail_count, state, batch, import_id, created_at, updated_at)
       SELECT ${COLUMNS}, 0, 'in-stock', ?, ?, ?, ? FROM ${this.table} ORDER BY rowid`,
    )
    return this.db.transaction(() => copy.run(batch, this.importId, now, now).changes)()
  }

  /** Staged serials that are already in the inventory, in file order. */
  duplicates(): string[] {
    return this.db
      .prepare(
        `SELECT serial FROM ${this.table} WHERE serial IN (SELECT serial FROM main.dongles) ORDER BY rowid`,
      )
      .pluck()
      .all() as string[]
  }

  drop(): void {
    this.db.exec(`DROP TABLE IF EXISTS ${this.table}`)
  }
}
