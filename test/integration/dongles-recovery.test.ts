import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { restart } from './acs-lab'
import { importFile } from './dongles-helpers'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'

let srv: TestServer
beforeAll(async () => {
  srv = await startTestServer()
})
afterAll(async () => {
  await srv.stop()
  rmSync(srv.dataDir, { recursive: true, force: true }) // the restarted server's stop leaves it
})

describe('imports interrupted by a server stop', () => {
  it('are settled when the server starts again: done when the inventory copy had committed, failed otherwise', async () => {
    const token = await srv.login(ADMIN.username, ADMIN.password)
    const hex = () => randomBytes(20).toString('hex')
    const csv = `REC001,${hex()},hotp,6\nREC002,${hex()},totp,8,60\n`
    const { job: stored } = await importFile(srv, token, 'tokens.csv', csv)
    expect(stored).toMatchObject({ status: 'done', inserted: 2 })
    const { db } = srv.services
    // As a stop leaves them: one import whose one-transaction copy committed but whose final update did not,
    // one stopped while parsing.
    db.prepare(
      `UPDATE dongle_imports SET status = 'importing', finished_at = NULL, inserted = 0 WHERE id = ?`,
    ).run(stored.id)
    const parsing = Number(
      db
        .prepare(
          `INSERT INTO dongle_imports (source, format, status, bytes_total, created_by, created_at)
           VALUES ('big.pskcxml', 'pskc', 'parsing', 1000, 'admin', ?)`,
        )
        .run(Date.now()).lastInsertRowid,
    )
    srv = await restart(srv)
    const { importer } = srv.services.dongles
    expect(importer.job(stored.id)).toMatchObject({ status: 'done', inserted: stored.inserted })
    expect(importer.job(parsing)).toMatchObject({
      status: 'failed',
      errors: [{ message: expect.stringMatching(/nothing from it was stored/) }],
    })
    // Recorded once: a further start finds nothing left to settle.
    expect(importer.recoverInterrupted()).toBe(0)
  })
})
