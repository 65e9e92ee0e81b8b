import { describe, expect, it, vi } from 'vitest'
import { inSavepoint, isolate, openDatabase } from './db'
import { BUSY_WITHIN_MS, GATHER_MS, GroupCommit, HOLD_MAX_MS } from './group-commit'

function setup() {
  const db = openDatabase(':memory:')
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)')
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
  const values = () => db.prepare('SELECT v FROM t ORDER BY id').pluck().all()
  return { db, insert, values }
}

describe('inSavepoint', () => {
  it('is a transaction of its own outside one: committed, or undone whole on a throw', () => {
    const { db, insert, values } = setup()
    inSavepoint(db, () => insert.run('a'))
    expect(db.inTransaction).toBe(false)
    expect(() =>
      inSavepoint(db, () => {
        insert.run('b')
        throw new Error('no')
      }),
    ).toThrow('no')
    expect(db.inTransaction).toBe(false)
    expect(values()).toEqual(['a'])
  })

  it("inside a transaction undoes only its own work, nested ones included, and leaves the caller's", () => {
    const { db, insert, values } = setup()
    db.transaction(() => {
      insert.run('kept')
      expect(() =>
        inSavepoint(db, () => {
          insert.run('undone')
          inSavepoint(db, () => insert.run('undone too'))
          throw new Error('observer failed')
        }),
      ).toThrow('observer failed')
      inSavepoint(db, () => insert.run('after'))
    })()
    expect(values()).toEqual(['kept', 'after'])
  })
})

describe('GroupCommit', () => {
  it('commits the writes of one event-loop turn together; a failing one is rolled back alone and rejected', async () => {
    const { db, insert, values } = setup()
    const commits = new GroupCommit(db)
    const results = await Promise.allSettled([
      commits.run(() => insert.run('one')),
      commits.run(() => {
        insert.run('half')
        db.prepare('INSERT INTO t (v) VALUES (NULL)').run()
      }),
      commits.run(() => insert.run('three')),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(values()).toEqual(['one', 'three'])
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'SQLITE_CONSTRAINT_NOTNULL' } })
    expect(db.inTransaction).toBe(false)
    // A later turn is a new batch.
    await commits.run(() => insert.run('four'))
    expect(values()).toEqual(['one', 'three', 'four'])
  })

  it('runs a batch once when nothing fails; after a failure, again with each item isolated', async () => {
    const { db, insert, values } = setup()
    const commits = new GroupCommit(db)
    const runs = [0, 0, 0]
    const observed: string[] = []
    const item =
      (i: number, fail = false) =>
      () => {
        runs[i]++
        insert.run(`item ${i}`)
        // An observer inside an item, isolated the same way (as AuthenticationEvents does).
        isolate(
          db,
          () => {
            insert.run(`observer ${i}`)
            if (fail) throw new Error(`observer ${i} failed`)
          },
          (err) => observed.push((err as Error).message),
        )
      }
    await Promise.all([commits.run(item(0)), commits.run(item(1)), commits.run(item(2))])
    expect(runs).toEqual([1, 1, 1])
    expect(observed).toEqual([])
    runs.fill(0)
    db.exec('DELETE FROM t')
    // A failing observer: the batch is rolled back and run again carefully; only the observer's row is lost.
    const results = await Promise.allSettled([
      commits.run(item(0)),
      commits.run(item(1, true)),
      commits.run(item(2)),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled'])
    expect(runs).toEqual([2, 2, 1])
    expect(observed).toEqual(['observer 1 failed'])
    expect(values()).toEqual(['item 0', 'observer 0', 'item 1', 'item 2', 'observer 2'])
    expect(db.inTransaction).toBe(false)
  })

  it('commits at the end of the turn when idle, and gathers the writes of the next millisecond when busy', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] })
    try {
      const { db, insert, values } = setup()
      const commits = new GroupCommit(db)
      const transactions = vi.spyOn(db, 'transaction')
      // Idle: committed at the end of the turn, no timer involved.
      await commits.run(() => insert.run('idle'))
      expect(transactions).toHaveBeenCalledTimes(1)
      // Right after a commit: writes of the following turns wait for the gathering timer and share a commit.
      let done = 0
      const turns: Promise<void>[] = []
      for (let i = 0; i < 3; i++) {
        turns.push(commits.run(() => insert.run(`busy ${i}`)).then(() => void done++))
        await new Promise((r) => setImmediate(r))
      }
      expect(done).toBe(0)
      await vi.advanceTimersByTimeAsync(GATHER_MS)
      await Promise.all(turns)
      expect(transactions).toHaveBeenCalledTimes(2)
      expect(values()).toEqual(['idle', 'busy 0', 'busy 1', 'busy 2'])
      // Quiet for a while: idle again.
      vi.advanceTimersByTime(2 * BUSY_WITHIN_MS)
      await commits.run(() => insert.run('idle again'))
      expect(transactions).toHaveBeenCalledTimes(3)
    } finally {
      vi.useRealTimers()
    }
  })

  it('holds commits until the promise it was given settles, or HOLD_MAX_MS at most, and then commits what queued', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] })
    try {
      const { db, insert, values } = setup()
      const commits = new GroupCommit(db)
      let release!: () => void
      commits.hold(new Promise<void>((resolve) => (release = resolve)))
      let done = 0
      const queued = [commits.run(() => insert.run('a')), commits.run(() => insert.run('b'))]
      for (const q of queued) void q.then(() => done++)
      await vi.advanceTimersByTimeAsync(HOLD_MAX_MS / 2)
      expect(done).toBe(0)
      expect(values()).toEqual([])
      release()
      await Promise.all(queued)
      expect(values()).toEqual(['a', 'b'])

      // A hold whose promise never settles ends by itself.
      commits.hold(new Promise(() => {}))
      const late = commits.run(() => insert.run('c'))
      await vi.advanceTimersByTimeAsync(HOLD_MAX_MS - 1)
      expect(values()).toEqual(['a', 'b'])
      await vi.advanceTimersByTimeAsync(1)
      await late
      expect(values()).toEqual(['a', 'b', 'c'])

      // A hold replaced while commits wait: they wait for the newer one; a rejected promise releases as well.
      let fail!: (err: Error) => void
      commits.hold(new Promise<void>((resolve) => (release = resolve)))
      const waiting = commits.run(() => insert.run('d'))
      commits.hold(new Promise<void>((_, reject) => (fail = reject)))
      release()
      await vi.advanceTimersByTimeAsync(1)
      expect(values()).toEqual(['a', 'b', 'c'])
      fail(new Error('checkpoint failed'))
      await waiting
      expect(values()).toEqual(['a', 'b', 'c', 'd'])
    } finally {
      vi.useRealTimers()
    }
  })
})
