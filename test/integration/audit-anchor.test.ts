import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'

let srv: TestServer
let token: string

beforeAll(async () => {
  srv = await startTestServer()
  token = await srv.login(ADMIN.username, ADMIN.password)
})
afterAll(() => srv.stop())

const verify = async () =>
  (await (await srv.api('/api/audit/verify', { method: 'POST', token })).json()) as Record<string, unknown>

describe('POST /api/audit/verify and the chain-head anchor', () => {
  it('reports the newest entries removed behind the server’s back, and keeps reporting it', async () => {
    expect(await verify()).toMatchObject({ ok: true })
    await srv.services.audit.anchored()
    const rows = srv.services.db.prepare('SELECT max(id) FROM audit_log').pluck().get() as number
    // Someone with the database file and the sqlite3 shell erases their last two actions.
    const db = new Database(join(srv.dataDir, 'ims.db'))
    db.prepare('DELETE FROM audit_log WHERE id > ?').run(rows - 2)
    db.close()
    const cut = {
      ok: false,
      problem: 'truncated',
      brokenAt: rows - 1,
      reason: expect.stringContaining(`the log ends at #${rows - 2} but was anchored at #${rows}`),
    }
    expect(await verify()).toMatchObject(cut)
    // Each verification appends an entry of its own; growing the log back past the cut does not paper over it.
    expect(await verify()).toMatchObject({ ok: false, problem: 'truncated', brokenAt: rows })
    await srv.services.audit.anchored()
    expect(await verify()).toMatchObject({
      ok: false,
      problem: 'replaced',
      brokenAt: rows,
      reason: expect.stringContaining(`entry #${rows} is not the one anchored`),
    })
  })
})
