import Database from 'better-sqlite3'
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runIms, spawnServer } from '../helpers/process'

const PASSWORD = 'correct-horse-battery-9'
let dataDir: string
const env = () => ({ IMS_DATA_DIR: dataDir })

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ims-proc-'))
  const init = await runIms(['init', '--admin', 'chief', '--password-stdin'], env(), `${PASSWORD}\n`)
  expect(init.stderr).toBe('')
  expect(init.code).toBe(0)
})
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

describe('the server as a process', () => {
  it('refuses a second server on the same data folder instead of sharing it', async () => {
    const first = await spawnServer(env())
    try {
      const second = await spawnServer(env()).catch((err: Error & { code?: number; output?: string }) => err)
      expect(second).toBeInstanceOf(Error)
      expect((second as { output?: string }).output).toMatch(/data folder .* is in use by another IMS server/)
      expect((second as { code?: number }).code).toBe(1)
      expect((await fetch(`${first.url}/health`)).status).toBe(200)
    } finally {
      first.proc.kill('SIGTERM')
      await first.exited
    }
  })

  it('refuses to start a folder restored without its key file, and makes no new key', async () => {
    const restored = mkdtempSync(join(tmpdir(), 'ims-restored-'))
    try {
      copyFileSync(join(dataDir, 'ims.db'), join(restored, 'ims.db'))
      const started = await spawnServer({ IMS_DATA_DIR: restored }).catch(
        (err: Error & { code?: number; output?: string }) => err,
      )
      if (!(started instanceof Error)) {
        started.proc.kill('SIGKILL') // it must not have started; never leave it running
        await started.exited
      }
      expect(started).toBeInstanceOf(Error)
      expect((started as { output?: string }).output).toMatch(
        /has a database but no master key .*restore the key file from your key backup/,
      )
      expect(existsSync(join(restored, 'keys', 'master.key'))).toBe(false)
    } finally {
      rmSync(restored, { recursive: true, force: true })
    }
  })

  it('loses no acknowledged write when SIGTERM lands in the middle of a burst', async () => {
    const server = await spawnServer(env())
    const acknowledged: string[] = []
    const attempts = Array.from({ length: 40 }, async () => {
      try {
        const res = await fetch(`${server.url}/api/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'chief', password: PASSWORD }),
        })
        if (res.status === 201) acknowledged.push(((await res.json()) as { token: string }).token)
      } catch {
        // refused after shutdown began: not acknowledged, so not counted
      }
    })
    while (acknowledged.length < 5) await new Promise((r) => setTimeout(r, 10))
    server.proc.kill('SIGTERM')
    await Promise.all(attempts)
    expect(await server.exited).toBe(0)
    expect(acknowledged.length).toBeGreaterThanOrEqual(5)

    const again = await spawnServer(env())
    try {
      for (const token of acknowledged) {
        const res = await fetch(`${again.url}/api/session`, { headers: { authorization: `Bearer ${token}` } })
        expect(res.status).toBe(200)
      }
    } finally {
      again.proc.kill('SIGTERM')
      await again.exited
    }
    const verify = await runIms(['audit', 'verify'], env())
    expect(verify.code).toBe(0)
  })

  it('ims audit verify names the first edited audit row', async () => {
    const before = await runIms(['audit', 'verify'], env())
    expect(before.stdout).toMatch(/audit log intact: \d+ rows/)
    const db = new Database(join(dataDir, 'ims.db'))
    db.prepare(`UPDATE audit_log SET actor = 'operator:nobody' WHERE id = 2`).run()
    db.close()
    const after = await runIms(['audit', 'verify'], env())
    expect(after.code).toBe(1)
    expect(after.stderr).toMatch(/BROKEN at row 2: row content does not match its MAC/)
  })

  it('ims audit verify reports the newest rows removed, and ims audit anchor resets the anchor on record', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ims-anchor-'))
    const own = { IMS_DATA_DIR: folder }
    try {
      expect(
        (await runIms(['init', '--admin', 'chief', '--password-stdin'], own, `${PASSWORD}\n`)).code,
      ).toBe(0)
      const intact = await runIms(['audit', 'verify'], own)
      expect(intact.stdout).toMatch(/audit log intact: 2 rows verified, anchored at #2/)
      const db = new Database(join(folder, 'ims.db'))
      db.prepare('DELETE FROM audit_log WHERE id = 2').run()
      db.close()
      const cut = await runIms(['audit', 'verify'], own)
      expect(cut.code).toBe(1)
      expect(cut.stderr).toMatch(/BROKEN at row 2: the log ends at #1 but was anchored at #2 /)
      expect((await runIms(['audit', 'anchor'], own)).code).toBe(2)
      const reset = await runIms(['audit', 'anchor', '--reason', 'restored a backup'], own)
      expect(reset.stderr).toBe('')
      expect(reset.stdout).toMatch(/audit log anchored at #2 .*the log ends at #1 but was anchored at #2/)
      expect((await runIms(['audit', 'verify'], own)).stdout).toMatch(
        /intact: 2 rows verified, anchored at #2/,
      )
      rmSync(join(folder, 'ims.db.audit-anchor'))
      const missing = await runIms(['audit', 'verify'], own)
      expect(missing.code).toBe(1)
      expect(missing.stderr).toMatch(/NOT VERIFIED: the log has 2 entries but no chain-head anchor/)
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })

  it('ims operator recover gives an admin a new password on the server machine, and no one else', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ims-recover-'))
    const own = { IMS_DATA_DIR: folder }
    try {
      expect(
        (await runIms(['init', '--admin', 'chief', '--password-stdin'], own, `${PASSWORD}\n`)).code,
      ).toBe(0)
      const unknown = await runIms(
        ['operator', 'recover', 'nobody', '--password-stdin'],
        own,
        `${PASSWORD}\n`,
      )
      expect(unknown.code).toBe(2)
      expect(unknown.stderr).toMatch(/no operator "nobody"/)
      const fresh = 'recovered-lantern-7741'
      const done = await runIms(
        ['operator', 'recover', 'chief', '--password-stdin', '--remove-second-factor'],
        own,
        `${fresh}\n`,
      )
      expect(done.stderr).toBe('')
      expect(done.stdout).toMatch(/Recovered admin "chief": new password, no second factor/)
      const server = await spawnServer(own)
      try {
        const signIn = (password: string) =>
          fetch(`${server.url}/api/session`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ username: 'chief', password }),
          })
        expect((await signIn(PASSWORD)).status).toBe(401)
        expect((await signIn(fresh)).status).toBe(201)
      } finally {
        server.proc.kill('SIGTERM')
        await server.exited
      }
      const db = new Database(join(folder, 'ims.db'))
      const row = db
        .prepare(`SELECT actor, details FROM audit_log WHERE action = 'operator.password.reset'`)
        .get() as { actor: string; details: string }
      db.close()
      expect(row.actor).toMatch(/^cli:/)
      expect(JSON.parse(row.details).approvedBy).toMatch(/^cli:.* \(on the server machine\)$/)
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })

  it('refuses to init twice and explains bad usage', async () => {
    const again = await runIms(['init', '--admin', 'other', '--password-stdin'], env(), `${PASSWORD}\n`)
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/already initialised/)
    const usage = await runIms(['init', '--bogus'], env())
    expect(usage.code).toBe(2)
    expect(usage.stderr).toMatch(/usage: ims init/)
    // A name sign-in would never accept (over 64 characters) is refused before anything is made.
    const fresh = mkdtempSync(join(tmpdir(), 'ims-username-'))
    try {
      const long = await runIms(
        ['init', '--admin', 'a'.repeat(65), '--password-stdin'],
        { IMS_DATA_DIR: fresh },
        `${PASSWORD}\n`,
      )
      expect(long.code).toBe(2)
      expect(long.stderr).toMatch(
        /the admin username: letters, digits, dot, underscore or dash, 2–64 characters/,
      )
      expect(existsSync(join(fresh, 'ims.db'))).toBe(false)
    } finally {
      rmSync(fresh, { recursive: true, force: true })
    }
  })
})
