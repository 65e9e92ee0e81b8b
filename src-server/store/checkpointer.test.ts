import { execFileSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  Checkpointer,
  IDLE_EVERY_MS,
  PASSIVE_EVERY_MS,
  RESTART_PAGES,
  WRITER_AUTOCHECKPOINT_PAGES,
} from './checkpointer'
import { openDatabase } from './db'
import { ReadPool, type CheckpointResult } from './read-pool'

const dirs: string[] = []
const pools: ReadPool[] = []
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function setup(options: { databaseFd?: number; neverRestart?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ims-checkpoint-'))
  dirs.push(dir)
  const file = join(dir, 'ims.db')
  const db = openDatabase(file)
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)')
  const errors: Error[] = []
  const pool = new ReadPool(file, 1)
  pools.push(pool)
  const holds: Promise<unknown>[] = []
  const checkpointer = new Checkpointer(db, {
    worker: options.neverRestart
      ? { checkpoint: (mode, fd) => pool.checkpoint(mode, fd), checkpointerIdle: () => false }
      : pool,
    databaseFd: options.databaseFd,
    holdCommits: (until) => holds.push(until),
    onError: (err) => errors.push(err),
  })
  const insert = db.prepare('INSERT INTO t (body) VALUES (randomblob(3000))')
  return { db, file, checkpointer, insert, errors, holds }
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

  it('checkpoints every PASSIVE_EVERY_MS while the server writes, and every IDLE_EVERY_MS while it does not', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
    const db = openDatabase(':memory:')
    try {
      db.exec('CREATE TABLE t (x INTEGER)')
      const insert = db.prepare('INSERT INTO t (x) VALUES (1)')
      let checkpoints = 0
      const checkpointer = new Checkpointer(db, {
        worker: {
          checkpoint: () => Promise.resolve({ busy: 0, log: ++checkpoints, checkpointed: checkpoints }),
          checkpointerIdle: () => true,
        },
        onError: (err) => expect.fail(err.message),
      })
      checkpointer.start()
      // Idle for a second: the first tick, then one every IDLE_EVERY_MS.
      await vi.advanceTimersByTimeAsync(1000)
      expect(checkpoints).toBe(1 + Math.floor((1000 - PASSIVE_EVERY_MS - 1) / IDLE_EVERY_MS))
      // A row every 5 ms for a second: a checkpoint at every tick.
      checkpoints = 0
      for (let i = 0; i < 200; i++) {
        insert.run()
        await vi.advanceTimersByTimeAsync(5)
      }
      expect(checkpoints).toBe(1000 / PASSIVE_EVERY_MS)
      // Idle again: none until IDLE_EVERY_MS after the last.
      checkpoints = 0
      await vi.advanceTimersByTimeAsync(IDLE_EVERY_MS - PASSIVE_EVERY_MS)
      expect(checkpoints).toBe(0)
      await vi.advanceTimersByTimeAsync(PASSIVE_EVERY_MS)
      expect(checkpoints).toBe(1)
      await checkpointer.stop()
    } finally {
      vi.useRealTimers()
      db.close()
    }
  })

  it('restarts a log past RESTART_PAGES once, holding the commits meanwhile; not without a way to hold them', async () => {
    const { db, checkpointer, insert, holds } = setup()
    db.transaction(() => {
      for (let i = 0; i < RESTART_PAGES + 100; i++) insert.run()
    })()
    expect(await checkpointer.checkpoint()).toMatchObject({ busy: 0 })
    expect(holds).toHaveLength(1)
    // Nothing written since: the log is as long as it was, and there is nothing to restart.
    await checkpointer.checkpoint()
    expect(holds).toHaveLength(1)
    // A CLI command's checkpointer holds no commits, so it never restarts the log.
    const cli = new Checkpointer(db, { worker: pools[0], onError: (err) => expect.fail(err.message) })
    insert.run()
    db.transaction(() => {
      for (let i = 0; i < RESTART_PAGES; i++) insert.run()
    })()
    const passive = await cli.checkpoint()
    expect(passive.log).toBeGreaterThan(RESTART_PAGES)
    expect(holds).toHaveLength(1)
    db.close()
  })

  it('restarts a long log under writes that never pause, holding the commits meanwhile', async () => {
    const { db, file, checkpointer, insert, holds } = setup()
    checkpointer.start()
    const pageSize = db.pragma('page_size', { simple: true }) as number
    let largest = 0
    // ~40,000 pages in small transactions while the worker's timed checkpoints run alongside; every write
    // waits for the holds the checkpointer asked for, as the group commit does.
    for (let batch = 0; batch < 400; batch++) {
      await Promise.all(holds)
      db.transaction(() => {
        for (let i = 0; i < 100; i++) insert.run()
      })()
      largest = Math.max(largest, statSync(`${file}-wal`).size)
      await new Promise((r) => setTimeout(r, 1))
    }
    // Restarted by the worker: the writer's backstop, which would run on the event loop, never came near.
    expect(holds.length).toBeGreaterThan(0)
    expect(
      ((await Promise.all(holds)) as CheckpointResult[]).filter((r) => r.checkpointed === r.log).length,
    ).toBeGreaterThan(0)
    expect(largest).toBeLessThan(WRITER_AUTOCHECKPOINT_PAGES * (pageSize + 24))
    expect(largest).toBeGreaterThanOrEqual(RESTART_PAGES * (pageSize + 24))
    await checkpointer.stop()
    db.close()
  })

  it('keeps the WAL bounded under writes that never pause, should the worker never restart it (the backstop)', async () => {
    const { db, file, checkpointer, insert } = setup({ neverRestart: true })
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

  // mkfifo, and fdatasync refusing a FIFO, are Linux's.
  it.skipIf(process.platform !== 'linux')(
    "syncs the database file after a checkpoint that copied pages, and only then (SQLite syncs it only at the log's end); a failing sync is reported",
    async () => {
      // A descriptor fdatasync refuses (EINVAL on a FIFO) shows when the worker syncs.
      const fifo = join(mkdtempSync(join(tmpdir(), 'ims-fifo-')), 'db')
      dirs.push(dirname(fifo))
      execFileSync('mkfifo', [fifo])
      const fd = openSync(fifo, 'r+')
      try {
        const { db, checkpointer, insert, errors } = setup({ databaseFd: fd })
        db.transaction(() => {
          for (let i = 0; i < 50; i++) insert.run()
        })()
        // The checkpoint itself worked: its pages are in the file, only the sync failed.
        expect(await checkpointer.checkpoint()).toMatchObject({
          busy: 0,
          syncError: expect.stringMatching(/EINVAL/),
        })
        expect(errors.map((e) => e.message)).toEqual([
          expect.stringMatching(/^syncing the database file failed: .*EINVAL/),
        ])
        // Nothing copied since: no sync.
        expect((await checkpointer.checkpoint()).syncError).toBeUndefined()
        insert.run()
        expect((await checkpointer.checkpoint()).syncError).toMatch(/EINVAL/)
        expect(errors).toHaveLength(2)
        await checkpointer.stop()
        db.close()
      } finally {
        closeSync(fd)
      }
    },
  )
})
