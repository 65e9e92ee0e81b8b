import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Checkpointer, WRITER_AUTOCHECKPOINT_PAGES } from './checkpointer'
import { openDatabase } from './db'
import { ReadPool } from './read-pool'

const dirs: string[] = []
const pools: ReadPool[] = []
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'ims-checkpoint-'))
  dirs.push(dir)
  const file = join(dir, 'ims.db')
  const db = openDatabase(file)
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)')
  const errors: Error[] = []
  const pool = new ReadPool(file, 1)
  pools.push(pool)
  const checkpointer = new Checkpointer(
    db,
    () => pool.checkpoint(),
    (err) => errors.push(err),
  )
  const insert = db.prepare('INSERT INTO t (body) VALUES (randomblob(3000))')
  return { db, file, checkpointer, insert, errors }
}

describe('Checkpointer', () => {
  it('copies every committed frame into the database file from a read-pool worker, and the writer then starts the WAL over', async () => {
    const { db, file, checkpointer, insert, errors } = setup()
    db.transaction(() => {
      for (let i = 0; i < 500; i++) insert.run()
    })()
    const r = await checkpointer.checkpoint()
    expect(r.busy).toBe(0)
    expect(r.log).toBeGreaterThan(500)
    expect(r.checkpointed).toBe(r.log)
    // A fully copied log is started over by the next write instead of growing.
    const walBefore = statSync(`${file}-wal`).size
    insert.run()
    const again = await checkpointer.checkpoint()
    expect(again.log).toBeLessThan(10)
    expect(statSync(`${file}-wal`).size).toBe(walBefore)
    // A second connection reads the rows (from the database file now, not the log).
    const reader = openDatabase(file, { readonly: true })
    expect(reader.prepare('SELECT count(*) FROM t').pluck().get()).toBe(501)
    reader.close()
    await checkpointer.stop()
    db.close()
    expect(errors).toEqual([])
  })

  it('keeps the WAL bounded under writes that never pause (the writer finishes what the worker could not)', async () => {
    const { db, file, checkpointer, insert } = setup()
    checkpointer.start()
    const pageSize = db.pragma('page_size', { simple: true }) as number
    let largest = 0
    // ~40,000 pages in small transactions while the worker's timed checkpoints run alongside.
    for (let batch = 0; batch < 400; batch++) {
      db.transaction(() => {
        for (let i = 0; i < 100; i++) insert.run()
      })()
      largest = Math.max(largest, statSync(`${file}-wal`).size)
      await new Promise((r) => setImmediate(r))
    }
    // The backstop may find the worker mid-checkpoint and retry at a later commit: twice its threshold is
    // plenty (without it this WAL passes 160 MB).
    expect(largest).toBeLessThan(2 * WRITER_AUTOCHECKPOINT_PAGES * (pageSize + 24))
    await checkpointer.stop()
    db.close()
  })
})
