import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { enrolmentCsv, testPan } from '../helpers/cards'
import { runIms } from '../helpers/process'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'

let srv: TestServer
let token: string

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T
}

async function postCsv(csv: string, query = '') {
  return srv.api(`/api/enrolments${query}`, {
    method: 'POST',
    token,
    headers: { 'content-type': 'text/csv' },
    body: csv,
  })
}

async function waitForJob(id: number) {
  for (;;) {
    const job = await json<{ status: string; inserted: number; updated: number; skipped: number }>(
      await srv.api(`/api/enrolments/${id}`, { token }),
    )
    if (job.status !== 'importing') return job
    await new Promise((r) => setTimeout(r, 20))
  }
}

beforeAll(async () => {
  srv = await startTestServer()
  token = await srv.login(ADMIN.username, ADMIN.password)
  const issuer = await json<{ id: number }>(
    await srv.api('/api/issuers', {
      method: 'POST',
      token,
      json: { name: 'Demo Bank', acsReferenceNumber: 'ACSREF-1' },
    }),
  )
  for (const [brand, start, end] of [
    ['visa', '4', '4'],
    ['mastercard', '51', '55'],
  ]) {
    const res = await srv.api('/api/card-ranges', {
      method: 'POST',
      token,
      json: { issuerId: issuer.id, brand, startPrefix: start, endPrefix: end },
    })
    expect(res.status).toBe(201)
  }
})
afterAll(() => srv.stop())

describe('mass enrolment', () => {
  it('rejects a file with an invalid line, names each problem by line, and imports nothing', async () => {
    const csv = enrolmentCsv([
      [testPan('411111', 1), '2812', 'Ann Smith', '+447700900001', 'ann@example.com', 'en', 'sms-otp'],
      ['4111111111111112', '2812', 'Bad Luhn', '+447700900002', '', 'en', 'sms-otp'],
      [testPan('411111', 3), '13/28', 'Bad Expiry', '+447700900003', '', 'fr', 'sms-otp'],
      [testPan('411111', 4), '2812', 'No Mobile', '', '', 'en', 'sms-reply'],
      [testPan('371449', 5), '2812', 'No Range', '+447700900005', '', 'en', 'none'],
    ])
    const res = await postCsv(csv)
    expect(res.status).toBe(422)
    const body = await json<{ errors: { path: string; message: string }[] }>(res)
    expect(body.errors).toEqual([
      { path: 'line 3.pan', message: 'fails the Luhn check' },
      { path: 'line 4.expiry', message: expect.stringMatching(/YYMM/) },
      { path: 'line 5.mobile', message: 'required for the sms-reply method' },
      { path: 'line 6.pan', message: 'no active card range covers this card number' },
    ])
    const found = await json<{ items: unknown[] }>(
      await srv.api('/api/cardholders?last4=' + testPan('411111', 1).slice(-4), { token }),
    )
    expect(found.items).toEqual([])
  })

  it('reports broken CSV quoting by line and column without the card number it stopped at', async () => {
    const pan = testPan('411111', 7)
    const csv = `pan,expiry,name,mobile,email,language,method\n${pan}",2812,Quote,+447700900007,,en,sms-otp\n`
    const res = await postCsv(csv)
    expect(res.status).toBe(422)
    const text = await res.text()
    expect(text).toContain('line 2')
    expect(text).toContain('a quote in the middle of column 1')
    expect(text).not.toContain(pan)
    expect(srv.logText()).not.toContain(pan)
  })

  it('previews a file (masked) without importing it', async () => {
    const pan = testPan('520000', 1)
    const res = await postCsv(
      enrolmentCsv([[pan, '2701', 'Preview Only', '+33612345678', '', 'fr', 'sms-otp']]),
      '?dryRun=true',
    )
    const body = await json<{ valid: number; preview: { card: string }[] }>(res)
    expect(body.valid).toBe(1)
    expect(body.preview[0].card).toBe(`520000******${pan.slice(-4)}`)
    expect(JSON.stringify(body)).not.toContain(pan)
  })

  it('imports a valid file, then updates by PAN on re-import', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => [
      testPan('454545', i),
      '2912',
      `Holder ${i}`,
      `+4477009${String(i).padStart(5, '0')}`,
      '',
      'en',
      'sms-otp',
    ])
    const first = await postCsv(enrolmentCsv(rows))
    expect(first.status).toBe(202)
    expect(await waitForJob((await json<{ id: number }>(first)).id)).toMatchObject({
      status: 'done',
      inserted: 25,
      updated: 0,
    })

    rows[3][3] = '+4915112345678'
    const second = await postCsv(enrolmentCsv(rows))
    expect(await waitForJob((await json<{ id: number }>(second)).id)).toMatchObject({
      status: 'done',
      inserted: 0,
      updated: 25,
    })
    const found = await json<{ items: { mobile: string; cards: { panMasked: string }[] }[] }>(
      await srv.api(`/api/cardholders?pan=${rows[3][0]}`, { token }),
    )
    expect(found.items).toHaveLength(1)
    expect(found.items[0].mobile).toBe('+4915112345678')
    expect(found.items[0].cards[0].panMasked).toBe(`454545******${rows[3][0].slice(-4)}`)
  })

  it('imports only the valid lines with skipInvalid and counts the rest by line, not by problem', async () => {
    const csv = enrolmentCsv([
      [testPan('499999', 1), '3001', 'Good One', '+447700911111', '', 'de', 'sms-otp'],
      // Two problems on one line (expiry and mobile): one invalid line.
      [testPan('499999', 2), 'never', 'Bad One', 'not-a-number', '', 'de', 'sms-otp'],
    ])
    const dry = await json<{ valid: number; invalid: number; errorCount: number }>(
      await postCsv(csv, '?dryRun=true'),
    )
    expect(dry).toMatchObject({ valid: 1, invalid: 1, errorCount: 2 })
    const res = await postCsv(csv, '?skipInvalid=true')
    expect(res.status).toBe(202)
    const job = await waitForJob((await json<{ id: number }>(res)).id)
    expect(job).toMatchObject({ status: 'done', inserted: 1, skipped: 1 })
  })

  it('finds cardholders by full PAN, last four, name and mobile, never showing the PAN', async () => {
    const pan = testPan('454545', 7)
    for (const query of [
      `pan=${pan}`,
      `last4=${pan.slice(-4)}`,
      'name=holder%207',
      `mobile=%2B447700900007`,
    ]) {
      const res = await srv.api(`/api/cardholders?${query}`, { token })
      const text = await res.text()
      expect(res.status).toBe(200)
      expect(text).not.toContain(pan)
      const body = JSON.parse(text) as { items: { name: string }[] }
      expect(body.items.map((i) => i.name)).toContain('Holder 7')
    }
  })

  it('pages a name search in name order without repeating or skipping anyone', async () => {
    const seen: string[] = []
    let after: number | undefined
    for (;;) {
      const page = await json<{ items: { id: number; name: string }[]; nextAfter?: number }>(
        await srv.api(`/api/cardholders?name=holder&limit=4${after ? `&after=${after}` : ''}`, { token }),
      )
      seen.push(...page.items.map((i) => i.name))
      if (page.nextAfter === undefined) break
      after = page.nextAfter
    }
    // NOCASE order is byte order here (same case throughout): Holder 0, Holder 1, Holder 10, …
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `Holder ${i}`).sort())
    expect(new Set(seen).size).toBe(25)
    // 25 in pages of 5: the fifth page is the last, and says so (no empty sixth page to click into).
    let pages = 0
    let from: number | undefined
    for (;;) {
      const query = `name=holder&limit=5${from ? `&after=${from}` : ''}`
      const page: { items: unknown[]; nextAfter?: number } = await json(
        await srv.api(`/api/cardholders?${query}`, { token }),
      )
      pages++
      expect(page.items).toHaveLength(5)
      if (page.nextAfter === undefined) break
      from = page.nextAfter
    }
    expect(pages).toBe(5)
  })

  it('changes a cardholder’s status with a reason and audits it', async () => {
    const found = await json<{ items: { id: number }[] }>(
      await srv.api(`/api/cardholders?pan=${testPan('454545', 8)}`, { token }),
    )
    const id = found.items[0].id
    const noReason = await srv.api(`/api/cardholders/${id}`, {
      method: 'PATCH',
      token,
      json: { status: 'blocked' },
    })
    expect(noReason.status).toBe(400)
    const res = await srv.api(`/api/cardholders/${id}`, {
      method: 'PATCH',
      token,
      json: { status: 'blocked', reason: 'card reported lost by phone' },
    })
    expect(await json<{ status: string; statusReason: string }>(res)).toMatchObject({
      status: 'blocked',
      statusReason: 'card reported lost by phone',
    })
    const audit = await json<{ items: { action: string; target: string }[] }>(
      await srv.api('/api/audit?action=cardholder.update', { token }),
    )
    expect(audit.items[0]).toMatchObject({ action: 'cardholder.update', target: `cardholder:${id}` })
  })
})

describe('ims enrol', () => {
  it('resumes a run that was killed part way, ending with every card enrolled once', async () => {
    await srv.close() // the CLI works on the same data folder; stop the server to own it alone
    const rows = Array.from({ length: 30_000 }, (_, i) => [
      testPan('4000', i),
      '3012',
      `Bulk ${i}`,
      '+447700123456',
      '',
      'en',
      'sms-otp',
    ])
    const file = join(srv.dataDir, 'bulk.csv')
    writeFileSync(file, enrolmentCsv(rows))
    const env = { IMS_DATA_DIR: srv.dataDir }
    const { spawn } = await import('node:child_process')
    const { REPO_ROOT } = await import('../helpers/process')
    const child = spawn(process.execPath, ['bin/ims.js', 'enrol', file], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
    })
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        if (/importing… [1-9]\d*\//.test(chunk.toString())) {
          child.kill('SIGKILL')
          resolve()
        }
      })
    })
    await new Promise((r) => child.once('exit', r))
    const resumed = await runIms(['enrol', file], env)
    expect(resumed.stderr).toMatch(/resuming run \d+ after line [1-9]\d* of 30000/)
    expect(resumed.code).toBe(0)
    const Database = (await import('better-sqlite3')).default
    const db = new Database(join(srv.dataDir, 'ims.db'), { readonly: true })
    expect(
      db
        .prepare(
          `SELECT count(*) FROM cards c JOIN cardholders h ON h.id = c.cardholder_id WHERE h.name LIKE 'Bulk %'`,
        )
        .pluck()
        .get(),
    ).toBe(30_000)
    db.close()
  }, 120_000)
})
