import { fsync, fsyncSync } from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { openDatabase } from './db'
import { Durability, INLINE_SYNC_MS } from './durability'

function setup() {
  const file = join(mkdtempSync(join(tmpdir(), 'ims-dur-')), 'db.sqlite')
  const db = openDatabase(file)
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
  const syncs: number[] = []
  let release: (() => void)[] = []
  const slowSync = (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
    syncs.push(fd)
    release.push(() => fsync(fd, cb))
  }
  const durability = new Durability(db, `${file}-wal`, slowSync, null)
  const releaseAll = () => {
    const r = release
    release = []
    for (const f of r) f()
  }
  return { db, durability, syncs, releaseAll }
}

describe('durability barrier', () => {
  it('runs in WAL with synchronous=NORMAL (the barrier supplies the fsync)', () => {
    const { db } = setup()
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.pragma('synchronous', { simple: true })).toBe(1)
  })

  it('fsyncs the WAL file, and callers during an fsync share the next one', async () => {
    const { db, durability, syncs, releaseAll } = setup()
    const before = durability.changes()
    db.prepare('INSERT INTO t (v) VALUES (?)').run('a')
    expect(durability.changes()).toBe(before + 1)
    let firstDone = false
    const first = durability.flush().then(() => (firstDone = true))
    // Written while the first fsync runs: must wait for a second one, shared by both late callers.
    db.prepare('INSERT INTO t (v) VALUES (?)').run('b')
    const second = durability.flush()
    const third = durability.flush()
    expect(second).toBe(third)
    expect(syncs).toHaveLength(1)
    releaseAll()
    await first
    expect(firstDone).toBe(true)
    await new Promise((r) => setImmediate(r))
    expect(syncs).toHaveLength(2) // the shared follow-up started only after the first finished
    releaseAll()
    await Promise.all([second, third])
    expect(syncs).toHaveLength(2)
  })

  it('callers with no commit since the running fsync began share it instead of queueing another', async () => {
    const { db, durability, syncs, releaseAll } = setup()
    db.prepare('INSERT INTO t (v) VALUES (?)').run('a')
    // As every AReq of one group commit does after the shared commit.
    const calls = [durability.flush(), durability.flush(), durability.flush()]
    expect(calls[1]).toBe(calls[0])
    expect(calls[2]).toBe(calls[0])
    expect(syncs).toHaveLength(1)
    releaseAll()
    await Promise.all(calls)
    await new Promise((r) => setImmediate(r))
    expect(syncs).toHaveLength(1)
    // Inside an open transaction an fsync covers nothing for sure: a later caller queues a fresh one.
    db.prepare('INSERT INTO t (v) VALUES (?)').run('b')
    let inside!: Promise<void>
    db.transaction(() => {
      inside = durability.flush()
    })()
    const after = durability.flush()
    expect(after).not.toBe(inside)
    releaseAll()
    await inside
    await new Promise((r) => setImmediate(r))
    expect(syncs).toHaveLength(3)
    releaseAll()
    await after
  })

  it('syncs on the event loop while syncs are quick, once per commit, and moves off it when they are slow', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ims-dur-')), 'db.sqlite')
    const db = openDatabase(file)
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
    const inline: number[] = []
    const offLoop: number[] = []
    let delayMs = 0
    // The clock the barrier times its syncs with is the test's: each inline sync takes exactly delayMs.
    vi.useFakeTimers({ toFake: ['performance'] })
    onTestFinished(() => void vi.useRealTimers())
    const durability = new Durability(
      db,
      `${file}-wal`,
      (fd, cb) => {
        offLoop.push(fd)
        fsync(fd, cb)
      },
      (fd) => {
        inline.push(fd)
        fsyncSync(fd)
        vi.advanceTimersByTime(delayMs) // a slow disk
      },
    )
    db.prepare('INSERT INTO t (v) VALUES (?)').run('a')
    await Promise.all([durability.flush(), durability.flush(), durability.flush()])
    expect(inline).toHaveLength(1) // the first caller synced; the others found nothing new
    expect(offLoop).toHaveLength(0)
    // The odd slow sync on a healthy disk keeps the syncs on the event loop.
    delayMs = 3 * INLINE_SYNC_MS
    db.prepare('INSERT INTO t (v) VALUES (?)').run('b')
    await durability.flush()
    delayMs = 0
    for (const v of ['c', 'd']) {
      db.prepare('INSERT INTO t (v) VALUES (?)').run(v)
      await durability.flush()
    }
    expect(inline).toHaveLength(4)
    expect(offLoop).toHaveLength(0)
    // Syncs that keep being slow move off it.
    delayMs = 3 * INLINE_SYNC_MS
    for (const v of ['e', 'f', 'g', 'h']) {
      db.prepare('INSERT INTO t (v) VALUES (?)').run(v)
      await durability.flush()
    }
    // The average of the inline syncs' times crosses the limit on the second of them.
    expect(inline).toHaveLength(6)
    expect(offLoop).toHaveLength(2)
  })

  it('resolves at once when nothing was ever written', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ims-dur-')), 'empty.sqlite')
    const db = openDatabase(file)
    await new Durability(db, `${file}-wal-missing`).flush()
  })
})
