import { describe, expect, it } from 'vitest'
import { inSavepoint, openDatabase } from './db'
import { GroupCommit } from './group-commit'

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
    expect(db.inTransaction).toBe(false)
    // A later turn is a new batch.
    await commits.run(() => insert.run('four'))
    expect(values()).toEqual(['one', 'three', 'four'])
  })
})
