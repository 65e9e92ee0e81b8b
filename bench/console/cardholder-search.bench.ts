/**
 * Customer-service search over 1,000,000 cardholders (one card each), measured as server time: the
 * repository call the API route makes (index search + hydration of up to 50 cardholders with their cards),
 * in a running server, for each search kind. Baseline: a plain indexed SQLite lookup of one row on the same
 * database. Target: every search under 50 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BenchResult } from '../run'
import { AuditLog } from '../../src-server/audit/audit-log'
import { createMasterKeyFile } from '../../src-server/crypto/master-key'
import { Keyring } from '../../src-server/crypto/keyring'
import { Vault } from '../../src-server/crypto/vault'
import { IssuerRepository } from '../../src-server/issuers/repository'
import { createLogger } from '../../src-server/log'
import { startServer } from '../../src-server/server'
import { databasePath } from '../../src-server/store/db'
import { migrate, openDatabase } from '../../src-server/store/db'
import { luhnComplete } from './cards'

const CARDHOLDERS = 1_000_000
/** Sealing is the slow part of seeding: this many cards get their own ciphertext, the rest share one. */
const SEALED = 10_000
const RUNS = 25
const FIRST = [
  'Ann',
  'Bob',
  'Carla',
  'David',
  'Erin',
  'Farid',
  'Grace',
  'Hugo',
  'Ines',
  'Jonas',
  'Kemal',
  'Lea',
]
const LAST = [
  'Smith',
  'Martin',
  'Garcia',
  'Müller',
  'Rossi',
  'Nowak',
  'Silva',
  'Kim',
  'Dubois',
  'Jansen',
  'Ivanova',
]

const pan = (n: number) => luhnComplete(`4${String(n).padStart(14, '0')}`)
const mobile = (n: number) => `+4477${String(n).padStart(8, '0')}`

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

function time(fn: () => unknown): number {
  fn() // warm statement caches and pages
  const samples: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now()
    fn()
    samples.push(performance.now() - start)
  }
  return median(samples)
}

/**
 * Bulk load before the server starts, as a migration tool would: no journal (a failed seed is simply
 * thrown away), secondary indexes dropped and rebuilt in one sorted pass each, PANs through the same vault
 * (same master key file the server then opens) so full-PAN search finds them by their lookup hash.
 */
function seed(dataDir: string): void {
  const masterKey = createMasterKeyFile(dataDir)
  const db = openDatabase(databasePath(dataDir))
  migrate(db)
  const keyring = new Keyring(db, masterKey)
  const vault = new Vault(keyring, db)
  const issuers = new IssuerRepository(db, new AuditLog(db, keyring))
  const issuer = issuers.createIssuer(
    { name: 'Bench Bank', acsReferenceNumber: 'B-1', branding: {} },
    'bench',
  )
  const range = issuers.createRange(
    {
      issuerId: issuer.id,
      brand: 'visa',
      startPrefix: '4',
      endPrefix: '4',
      production: false,
      authValue: {},
    },
    'bench',
  )
  db.pragma('journal_mode = OFF')
  db.pragma('synchronous = OFF')
  const indexes = db
    .prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('cardholders', 'cards') AND sql IS NOT NULL",
    )
    .all() as { name: string; sql: string }[]
  const insertHolder = db.prepare(
    `INSERT INTO cardholders (id, issuer_id, name, mobile, language, method, created_at, updated_at)
     VALUES (?, ?, ?, ?, 'en', 'sms-otp', ?, ?)`,
  )
  const insertCard = db.prepare(
    `INSERT INTO cards (cardholder_id, range_id, pan_ct, pan_lookup, pan_masked, last4, expiry, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, '3012', ?, ?)`,
  )
  const now = new Date().toISOString()
  // Search never decrypts: after the first SEALED cards the ciphertext is shared.
  let shared: Buffer | undefined
  db.transaction(() => {
    for (const index of indexes) db.exec(`DROP INDEX ${index.name}`)
    for (let n = 1; n <= CARDHOLDERS; n++) {
      const name = `${FIRST[n % FIRST.length]} ${LAST[Math.floor(n / FIRST.length) % LAST.length]} ${n}`
      insertHolder.run(n, issuer.id, name, mobile(n), now, now)
      const digits = pan(n)
      const ciphertext = n <= SEALED || !shared ? vault.sealPan(digits).ciphertext : shared
      shared ??= ciphertext
      const masked = `${digits.slice(0, 6)}******${digits.slice(-4)}`
      insertCard.run(n, range.id, ciphertext, vault.panLookup(digits), masked, digits.slice(-4), now, now)
    }
    for (const index of indexes) db.exec(index.sql)
  })()
  db.pragma('optimize')
  db.pragma('journal_mode = WAL')
  db.close()
}

export default {
  name: 'console cardholder search, 1M cardholders',
  async run(): Promise<BenchResult[]> {
    const dataDir = mkdtempSync(join(tmpdir(), 'ims-bench-search-'))
    try {
      const seedStart = performance.now()
      seed(dataDir)
      const seedSeconds = (performance.now() - seedStart) / 1000
      const srv = await startServer({
        env: { IMS_DATA_DIR: dataDir, IMS_PORT: '0' },
        log: createLogger('silent'),
        consoleRoot: null,
      })
      try {
        const { db, cardholders } = srv.services
        const baselineStmt = db.prepare('SELECT * FROM cardholders WHERE id = ?')
        const baseline = time(() => baselineStmt.get(CARDHOLDERS / 2))
        const probe = CARDHOLDERS - 12_345
        const searches: [string, () => unknown][] = [
          ['last four digits', () => cardholders.search({ last4: pan(probe).slice(-4), limit: 50 })],
          ['name prefix', () => cardholders.search({ name: 'grace sm', limit: 50 })],
          ['mobile number', () => cardholders.search({ mobile: mobile(probe), limit: 50 })],
          ['full PAN', () => cardholders.search({ pan: pan(probe), limit: 50 })],
        ]
        const found = {
          last4: cardholders.search({ last4: pan(probe).slice(-4), limit: 50 }).length,
          name: cardholders.search({ name: 'grace sm', limit: 50 }).length,
          pan: cardholders.search({ pan: pan(probe), limit: 50 })[0]?.id,
        }
        if (found.pan !== probe || found.last4 === 0 || found.name !== 50)
          throw new Error(`search found the wrong rows: ${JSON.stringify(found)}`)
        return searches.map(([name, fn], i) => ({
          name,
          value: time(fn),
          baseline,
          unit: 'ms (median server time)',
          ...(i === 0
            ? {
                note: `seeded ${CARDHOLDERS.toLocaleString('en-US')} cardholders in ${seedSeconds.toFixed(1)} s; baseline: SELECT * FROM cardholders WHERE id = ? on the same database; target < 50 ms; each search returns up to 50 cardholders with their cards`,
              }
            : {}),
        }))
      } finally {
        await srv.close()
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  },
}
