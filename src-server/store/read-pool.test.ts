import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase } from './db'
import { ReadPool } from './read-pool'

let pool: ReadPool | undefined
afterEach(async () => {
  await pool?.close()
  pool = undefined
})

describe('read pool', () => {
  it('runs long reads in worker threads while the main thread keeps working', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ims-rp-')), 'db.sqlite')
    const db = openDatabase(file)
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)')
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    db.transaction(() => {
      for (let i = 0; i < 200_000; i++) insert.run(i % 97)
    })()
    pool = new ReadPool(file, 2)
    // A deliberately heavy self-join aggregate: seconds on one thread if it ran here.
    const heavy = pool.all<{ n: number }>(
      'SELECT count(*) AS n FROM t a JOIN t b ON a.v = b.v WHERE a.id < 3000 AND b.id < 3000',
    )
    let ticks = 0
    const ticker = setInterval(() => ticks++, 1)
    const [rows] = await Promise.all([heavy])
    clearInterval(ticker)
    expect(rows[0].n).toBeGreaterThan(0)
    expect(ticks).toBeGreaterThan(0) // the event loop ran while the query did
    expect(await pool.all('SELECT v FROM t WHERE id = ?', [5])).toEqual([{ v: 4 }])
    await expect(pool.all('SELECT nope FROM t')).rejects.toThrow(/no such column/)
    await expect(pool.all('DELETE FROM t RETURNING id')).rejects.toThrow(
      /readonly|read-only|attempt to write/i,
    )
    db.close()
  })

  it('keeps a process alive while a read or checkpoint is in flight, and lets it exit when idle', () => {
    // The workers are unref'd so an idle pool never holds a CLI open; but a process whose only pending work
    // is a pool request must not end with it unanswered (Node exits 13 on the unsettled top-level await).
    const dir = mkdtempSync(join(tmpdir(), 'ims-rp-'))
    const script = join(dir, 'await-read.mts')
    writeFileSync(
      script,
      `import { ReadPool } from ${JSON.stringify(resolve('src-server/store/read-pool.ts'))}
import { openDatabase } from ${JSON.stringify(resolve('src-server/store/db.ts'))}
const file = ${JSON.stringify(join(dir, 'db.sqlite'))}
openDatabase(file).exec('CREATE TABLE t (v)')
const pool = new ReadPool(file, 1)
const [{ n }] = await pool.all('WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300000) SELECT count(*) AS n FROM c')
const cp = await pool.checkpoint()
console.log(n, typeof cp.busy)
`,
    )
    const out = execFileSync(process.execPath, ['--import', 'tsx', script], {
      encoding: 'utf8',
      timeout: 60_000, // an idle pool that held the process open would hang here
    })
    expect(out.trim()).toBe('300000 number')
  })
})
