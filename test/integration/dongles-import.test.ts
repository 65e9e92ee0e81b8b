import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hotp, totp } from '../../src-server/otp/oath'
import { exportPskc } from '../../src-server/dongles/pskc/export'
import { PART_BYTES } from '../../src-server/dongles/pskc/parallel'
import { sampleSeeds } from '../../src-server/dongles/pskc/seeds.fixture'
import { runIms } from '../helpers/process'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'
import { cardholders, fixture, importFile, inventoryCount, json } from './dongles-helpers'

const RFC_SECRET = '3132333435363738393031323334353637383930'
const RFC_KEY = '12345678901234567890123456789012'
let srv: TestServer
let token: string
let holders: number[]
const work = mkdtempSync(join(tmpdir(), 'dongle-import-'))

beforeAll(async () => {
  srv = await startTestServer()
  token = await srv.login(ADMIN.username, ADMIN.password)
  holders = await cardholders(srv, token, 3)
})
afterAll(async () => {
  await srv.stop()
  rmSync(work, { recursive: true, force: true })
})

const post = (path: string, body: unknown) => srv.api(path, { method: 'POST', token, json: body })

describe('seed import through the API', () => {
  it('asks for the key of RFC 6030 Figure 6 and imports nothing without it', async () => {
    const { job } = await importFile(srv, token, 'figure6.pskcxml', fixture('rfc6030-figure6.pskcxml'))
    expect(job.status).toBe('rejected')
    expect(job.errors[0]).toMatchObject({
      element: 'EncryptionKey',
      message: expect.stringMatching(/pre-shared key/),
    })
    expect(await inventoryCount(srv, token)).toBe(0)
  })

  it('imports RFC 6030 Figure 6 with its pre-shared key: the token verifies the RFC 4226 codes', async () => {
    const { job } = await importFile(srv, token, 'figure6.pskcxml', fixture('rfc6030-figure6.pskcxml'), {
      key: RFC_KEY,
      batch: 'RFC figure 6',
    })
    expect(job).toMatchObject({ status: 'done', inserted: 1, percent: 100, errors: [] })
    const t = await json<Record<string, unknown>>(await srv.api('/api/dongles/tokens/987654321', { token }))
    expect(t).toMatchObject({
      serial: '987654321',
      kind: 'hotp',
      digits: 8,
      counter: 0,
      state: 'in-stock',
      batch: 'RFC figure 6',
    })
    expect(JSON.stringify(t)).not.toContain(RFC_SECRET)
    // The stored seed is the RFC secret: counter 0 and 1 codes of RFC 4226 (8 digits) verify.
    const secret = Buffer.from(RFC_SECRET, 'hex')
    for (const c of [0, 1]) {
      const code = hotp(secret, c, { algorithm: 'SHA1', digits: 8 })
      expect(await json(await post('/api/dongles/tokens/987654321/test', { code }))).toEqual({ ok: true })
    }
  })

  it('refuses Figure 7 as a duplicate of the token already in the inventory, naming its serial', async () => {
    const before = await inventoryCount(srv, token)
    const { job } = await importFile(srv, token, 'figure7.pskcxml', fixture('rfc6030-figure7.pskcxml'), {
      password: 'qwerty',
    })
    expect(job.status).toBe('rejected')
    expect(job.errors).toEqual([{ message: 'serial 987654321 is already in the inventory' }])
    expect(await inventoryCount(srv, token)).toBe(before)
  })

  it('refuses Figure 7 with a wrong password, naming the element', async () => {
    const { job } = await importFile(srv, token, 'figure7.pskcxml', fixture('rfc6030-figure7.pskcxml'), {
      password: 'wrong',
    })
    expect(job.status).toBe('rejected')
    expect(job.errors[0].element).toMatch(/MACMethod|ValueMAC/)
  })

  it('never writes the password or key to the log or the audit trail', async () => {
    expect(srv.logText()).not.toContain('qwerty')
    expect(srv.logText()).not.toContain(RFC_KEY)
    const audit = JSON.stringify(srv.services.db.prepare('SELECT * FROM audit_log').all())
    expect(audit).not.toContain('qwerty')
    expect(audit).not.toContain(RFC_KEY)
    expect(audit).toContain('dongle.import.done')
  })

  describe('hostile or broken PSKC: a clear error and the inventory unchanged', () => {
    const fig6 = fixture('rfc6030-figure6.pskcxml').toString('utf8')
    const good = (i: number) =>
      `<KeyPackage><DeviceInfo><SerialNo>OK${i}</SerialNo></DeviceInfo><Key Id="k${i}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp"><Data><Secret><PlainValue>${randomBytes(20).toString('base64')}</PlainValue></Secret></Data></Key></KeyPackage>`
    const cases: [string, string, RegExp][] = [
      [
        'an external entity (XXE)',
        `<?xml version="1.0"?><!DOCTYPE KeyContainer [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><KeyContainer Version="1.0">${good(1)}</KeyContainer>`,
        /DOCTYPE/,
      ],
      [
        'a billion-laughs bomb',
        `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><KeyContainer Version="1.0">&lol2;</KeyContainer>`,
        /DOCTYPE/,
      ],
      ['a truncated file', fig6.slice(0, Math.floor(fig6.length * 0.7)), /./],
      ['a wrong root element', '<Foo Version="1.0"></Foo>', /root element/],
      [
        'a tampered ciphertext (MAC mismatch)',
        fig6.replace('AAECAwQFBgcICQoLDA0OD+cI', 'AAECAwQFBgcICQoLDA0OD+cJ'),
        /MAC mismatch/,
      ],
    ]
    for (const [what, xml, message] of cases) {
      it(`refuses ${what}`, async () => {
        const before = await inventoryCount(srv, token)
        const { job } = await importFile(srv, token, 'hostile.pskcxml', xml, { key: RFC_KEY })
        expect(job.status).toBe('rejected')
        expect(job.errors.length).toBeGreaterThan(0)
        expect(job.errors.map((e) => e.message).join(' ')).toMatch(message)
        expect(await inventoryCount(srv, token)).toBe(before)
      })
    }

    it('imports nothing from a file whose last entry is bad, and names that entry and its line', async () => {
      const before = await inventoryCount(srv, token)
      const xml = `<KeyContainer Version="1.0">\n${good(1)}\n${good(2)}\n${good(3).replace('<PlainValue>', '<PlainValue>!')}\n</KeyContainer>`
      const { job } = await importFile(srv, token, 'bad-last.pskcxml', xml)
      expect(job.status).toBe('rejected')
      expect(job.errors).toEqual([
        { line: 4, element: 'KeyPackage #3/Key/Data/Secret/PlainValue', message: 'not valid base64' },
      ])
      expect(await inventoryCount(srv, token)).toBe(before)
    })
  })

  it('imports OATH CSV and YubiKey CSV, with the format detected, and names a bad line', async () => {
    const hex = () => randomBytes(20).toString('hex')
    const oath = await importFile(
      srv,
      token,
      'tokens.csv',
      `# vendor file\nCSV001,${hex()},hotp,6\nCSV002,${hex()},totp,8,60\n`,
    )
    expect(oath.job).toMatchObject({ status: 'done', inserted: 2 })
    const yubi = await importFile(
      srv,
      token,
      'yubikey.csv',
      `OATH-HOTP,2024-01-01T10:00:00,1,cccc00001111,,${hex()},,,0,0,0,6,0,0,0,0,0,0\n`,
    )
    expect(yubi.job).toMatchObject({ status: 'done', inserted: 1 })
    const bad = await importFile(srv, token, 'bad.csv', `CSV003,${hex()},hotp,6\nCSV004,zz,hotp,6\n`)
    expect(bad.job.status).toBe('rejected')
    expect(bad.job.errors).toEqual(
      [{ line: 2, element: 'line 2', message: 'key is not an even-length hex string' }].map(
        ({ line, message }) => expect.objectContaining({ line, message }),
      ),
    )
    expect(
      (
        await json<{ items: { serial: string; period: number }[] }>(
          await srv.api('/api/dongles?serial=CSV', { token }),
        )
      ).items.map((t) => [t.serial, t.period]),
    ).toEqual([
      ['CSV001', 30],
      ['CSV002', 60],
    ])
  })

  it('imports a large PSKC file whose parallel read has to start again in one piece, every token once', async () => {
    const list = sampleSeeds(5000, 'LG')
    const xml = exportPskc(list, { password: 'large-file-password', iterations: 1000 })
    // From the third part on, each KeyPackage ends with a comment that looks like a KeyPackage start tag: the
    // workers read (and the job stages) two parts, over 2,000 seeds, then a cut falls inside a comment and the
    // file is read again in one piece. What the first read staged must not be stored twice.
    const decoyed = xml.replace(/<\/pskc:KeyPackage>/g, (close, at: number) =>
      at > 1.5 * PART_BYTES ? `<!-- <pskc:KeyPackage> -->${close}` : close,
    )
    const secondCut = decoyed.indexOf('<pskc:KeyPackage>', decoyed.indexOf('<pskc:KeyPackage') + PART_BYTES)
    expect(decoyed.slice(0, secondCut).split('</pskc:KeyPackage>').length - 1).toBeGreaterThan(2000)
    expect(decoyed.indexOf('<!-- <pskc:KeyPackage>', secondCut + PART_BYTES)).toBeLessThan(
      decoyed.indexOf('<pskc:KeyPackage>', secondCut + PART_BYTES),
    )
    const before = await inventoryCount(srv, token)
    const { job } = await importFile(srv, token, 'large.pskcxml', decoyed, {
      password: 'large-file-password',
    })
    expect(job).toMatchObject({ status: 'done', inserted: 5000, errors: [] })
    expect(await inventoryCount(srv, token)).toBe(before + 5000)
    // The stored seeds are the file's: a code of the last HOTP token verifies.
    const last = list[4998]
    const code = hotp(last.secret, last.counter, last)
    expect(await json(await post(`/api/dongles/tokens/${last.serial}/test`, { code }))).toEqual({ ok: true })
  })

  it('refuses an upload that is not multipart, and a password together with a key', async () => {
    const raw = await srv.api('/api/dongles/imports', {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/xml' },
      body: '<x/>',
    })
    expect(raw.status).toBe(415)
    const both = await importFile(srv, token, 'x.pskcxml', '<x/>', { password: 'a', key: RFC_KEY })
    expect(both.status).toBe(400)
  })

  it('exports the assigned tokens as a PSKC file python3-pskc decrypts to the stored secrets', async () => {
    expect((await post('/api/dongles/tokens/987654321/assign', { cardholderId: holders[0] })).status).toBe(
      200,
    )
    // Dual control: a second operator with dongles.manage approves with their own credentials.
    const operator = (username: string, role: string) =>
      post('/api/operators', { username, displayName: username, role, password: 'second-person-7731' })
    expect((await operator('bench2', 'bench')).status).toBe(201)
    expect((await operator('agent2', 'agent')).status).toBe(201)
    const approver = (username: string, password = 'second-person-7731') => ({ username, password })
    const password = 'backup-password-42'
    const short = await post('/api/dongles/exports', { password: 'short', approver: approver('bench2') })
    expect(short.status).toBe(400)
    expect((await post('/api/dongles/exports', { password })).status).toBe(400)
    for (const [who, detail] of [
      [approver(ADMIN.username, ADMIN.password), 'must be another operator'],
      [approver('bench2', 'not-the-password-1'), 'could not be verified'],
      [approver('agent2'), 'cannot approve this (dongles.manage)'],
    ] as const) {
      const refused = await post('/api/dongles/exports', { password, approver: who })
      expect(refused.status).toBe(403)
      expect(((await refused.json()) as { detail: string }).detail).toContain(detail)
    }
    const res = await post('/api/dongles/exports', { password, approver: approver('bench2') })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="dongles-.*\.pskcxml"/)
    const file = join(work, 'backup.pskcxml')
    writeFileSync(file, Buffer.from(await res.arrayBuffer()))
    expect(readFileSync(file, 'utf8')).not.toContain(Buffer.from(RFC_SECRET, 'hex').toString('base64'))
    const csv = execFileSync(
      'pskc2csv',
      ['-p', 'backup-password-42', '-c', 'serial,secret,counter,response_length,key_userid', file],
      {
        encoding: 'utf8',
      },
    )
    // The stored counter moved to 2 with the two codes tested above.
    expect(csv.trim().split(/\r?\n/).slice(1)).toEqual([`987654321,${RFC_SECRET},2,8,${holders[0]}`])
    const audit = srv.services.db
      .prepare(`SELECT details FROM audit_log WHERE action = 'dongle.export'`)
      .pluck()
      .all()
    expect(audit).toEqual([JSON.stringify({ tokens: 1, format: 'pskc', approvedBy: 'operator:bench2' })])
  })
})

describe('ims dongle import / export', () => {
  const env = () => ({ IMS_DATA_DIR: srv.dataDir })

  it('imports a password-protected PSKC file with progress on stderr, and refuses it the second time', async () => {
    const seeds = Array.from({ length: 5 }, (_, i) => ({
      serial: `CLI${i}`,
      kind: 'hotp' as const,
      secret: randomBytes(20),
      algorithm: 'SHA1' as const,
      digits: 6,
      counter: 0,
      period: 30,
    }))
    const file = join(work, 'cli.pskcxml')
    writeFileSync(file, exportPskc(seeds, { password: 'cli-password', iterations: 1000 }))
    const first = await runIms(['dongle', 'import', file, '--password-stdin'], env(), 'cli-password\n')
    expect(first.stderr).toMatch(/reading…|importing…/)
    expect(first.stdout).toMatch(/5 token\(s\) added/)
    expect(first.code).toBe(0)
    const again = await runIms(['dongle', 'import', file, '--password', 'cli-password'], env())
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('serial CLI0 is already in the inventory')
    expect(again.stderr).toContain('nothing imported')
    const wrong = await runIms(['dongle', 'import', file, '--password', 'nope'], env())
    expect(wrong.code).toBe(1)
    // A wrong password derives a wrong key: the MAC key's CBC padding almost always fails to decrypt
    // (MACMethod), but about 1 time in 256 it happens to be valid, and the garbage MAC key then fails every
    // value's MAC check instead. Either way the file is refused and nothing is imported.
    expect(wrong.stderr).toMatch(
      /error: line \d+, (MACMethod|KeyPackage #1\/Key\/Data\/Secret\/ValueMAC: MAC mismatch)/,
    )
    expect(wrong.stderr).toContain('nothing imported')
  })

  it('exports with the CLI (pskc2csv reads it back)', async () => {
    const file = join(work, 'cli-backup.pskcxml')
    const r = await runIms(['dongle', 'export', file, '--password-stdin'], env(), 'cli-backup-password\n')
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/1 assigned token\(s\) written/)
    const csv = execFileSync('pskc2csv', ['-p', 'cli-backup-password', '-c', 'serial,secret', file], {
      encoding: 'utf8',
    })
    expect(csv).toContain(`987654321,${RFC_SECRET}`)
  })
})

describe('TOTP drift through import and backup', () => {
  it('stores a PSKC TimeDrift: a code 4 steps ahead verifies at once, and the backup carries the drift', async () => {
    const { job } = await importFile(srv, token, 'drift.pskcxml', fixture('pskc-totp-drift.pskcxml'))
    expect(job).toMatchObject({ status: 'done', inserted: 1, errors: [] })
    const view = async () =>
      json<{ driftSteps: number }>(await srv.api('/api/dongles/tokens/DRIFT0001', { token }))
    expect(await view()).toMatchObject({ kind: 'totp', driftSteps: 4 })
    // The token's clock is 4 steps ahead of ours: beyond the ±2-step window, unless the drift was kept.
    const secret = Buffer.from(RFC_SECRET, 'hex')
    const code = totp(secret, Date.now() / 1000 + 4 * 30, { algorithm: 'SHA1', digits: 6, period: 30, t0: 0 })
    expect(await json(await post('/api/dongles/tokens/DRIFT0001/test', { code }))).toEqual({ ok: true })

    expect((await post('/api/dongles/tokens/DRIFT0001/assign', { cardholderId: holders[1] })).status).toBe(
      200,
    )
    const file = join(work, 'drift-backup.pskcxml')
    const r = await runIms(
      ['dongle', 'export', file, '--password-stdin'],
      { IMS_DATA_DIR: srv.dataDir },
      'drift-backup-pw\n',
    )
    expect(r.code).toBe(0)
    const csv = execFileSync('pskc2csv', ['-p', 'drift-backup-pw', '-c', 'serial,time_drift', file], {
      encoding: 'utf8',
    })
    // What the verification above left (4, or 3 if a time step ended between computing and checking the code).
    expect(csv).toContain(`DRIFT0001,${(await view()).driftSteps}`)
    expect((await view()).driftSteps).toBeGreaterThanOrEqual(3)
  })
})
