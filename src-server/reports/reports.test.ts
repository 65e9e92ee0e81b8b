import { inflateSync } from 'node:zlib'
import { parse } from 'csv-parse/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { enrolmentCsv, testPan } from '../../test/helpers/cards'
import { ADMIN, startTestServer, type TestServer } from '../../test/helpers/server'
import { localDay } from './service'

let srv: TestServer
let token: string
const today = localDay(new Date())

async function json<T>(res: Response): Promise<T> {
  expect(res.headers.get('content-type')).toMatch(/json/)
  return (await res.json()) as T
}

async function importCsv(csv: string, source: string): Promise<number> {
  const res = await srv.api(`/api/enrolments?source=${encodeURIComponent(source)}`, {
    method: 'POST',
    token,
    headers: { 'content-type': 'text/csv' },
    body: csv,
  })
  return res.status
}

/** The text drawn in a pdfkit PDF: its content streams are deflated and draw WinAnsi hex strings. */
function pdfText(pdf: Buffer): string {
  const text: string[] = []
  const raw = pdf.toString('latin1')
  for (const m of raw.matchAll(/stream\r?\n([\s\S]*?)\r?\nendstream/g)) {
    let content: string
    try {
      content = inflateSync(Buffer.from(m[1], 'latin1')).toString('latin1')
    } catch {
      continue
    }
    for (const hex of content.matchAll(/<([0-9a-fA-F]+)>/g))
      text.push(Buffer.from(hex[1], 'hex').toString('latin1'))
  }
  return text.join('')
}

beforeAll(async () => {
  srv = await startTestServer()
  token = await srv.login(ADMIN.username, ADMIN.password)
  const issuer = (await (
    await srv.api('/api/issuers', {
      method: 'POST',
      token,
      json: { name: 'Report Bank', acsReferenceNumber: 'R-1' },
    })
  ).json()) as { id: number }
  await srv.api('/api/card-ranges', {
    method: 'POST',
    token,
    json: { issuerId: issuer.id, brand: 'visa', startPrefix: '4', endPrefix: '4' },
  })
  expect(
    await importCsv(
      enrolmentCsv([
        [testPan('400000', 1), '2812', 'Ann Report', '+447700900101', '', 'en', 'sms-otp'],
        [testPan('400000', 2), '2812', 'Bob Report', '+447700900102', '', 'en', 'sms-otp'],
      ]),
      '=HYPERLINK("http://evil")',
    ),
  ).toBe(202)
  expect(
    await importCsv(
      enrolmentCsv([['4111111111111112', '2812', 'Bad Luhn', '', '', 'en', 'none']]),
      'bad.csv',
    ),
  ).toBe(422)
  for (const text of ['FRAUD', 'my code is 123456']) {
    const res = await srv.api('/api/virtual-phone/reply', {
      method: 'POST',
      token,
      json: { from: '+447700900101', text },
    })
    expect(res.status).toBe(201)
  }
  // The import runs in the background: wait for it, so the report sees the finished run.
  for (;;) {
    const jobs = (await (await srv.api('/api/enrolments', { token })).json()) as { status: string }[]
    if (jobs.every((j) => j.status !== 'importing')) break
    await new Promise((r) => setTimeout(r, 20))
  }
})
afterAll(() => srv.stop())

describe('reports API', () => {
  it('lists the reports with their filters and columns', async () => {
    const list = await json<{ kind: string; available: boolean; columns: unknown[] }[]>(
      await srv.api('/api/reports', { token }),
    )
    expect(list.map((r) => [r.kind, r.available])).toEqual([
      ['registration-attempts', true],
      ['incoming-verification', true],
      ['authentication-attempts', true],
      ['authentication-statistics', true],
      ['fraud', true],
    ])
    expect(list.every((r) => r.columns.length > 0)).toBe(true)
    expect((await srv.api(`/api/reports/nonsense?from=${today}&to=${today}`, { token })).status).toBe(400)
  })

  it('Registration Attempt: every enrolment run of the period, filtered by status, paged by the server', async () => {
    const all = await json<{ rows: Record<string, unknown>[]; nextOffset?: number }>(
      await srv.api(`/api/reports/registration-attempts?from=${today}&to=${today}`, { token }),
    )
    expect(all.rows.map((r) => [r.status, r.totalLines, r.inserted, r.errors])).toEqual([
      ['done', 2, 2, 0],
      ['rejected', 1, 0, 1],
    ])
    expect(all.nextOffset).toBeUndefined()
    const done = await json<{ rows: unknown[] }>(
      await srv.api(`/api/reports/registration-attempts?from=${today}&to=${today}&status=done`, { token }),
    )
    expect(done.rows).toHaveLength(1)
    const first = await json<{ rows: { id: number }[]; nextOffset?: number }>(
      await srv.api(`/api/reports/registration-attempts?from=${today}&to=${today}&limit=1`, { token }),
    )
    expect(first.rows).toHaveLength(1)
    expect(first.nextOffset).toBe(1)
    const second = await json<{ rows: { id: number }[]; nextOffset?: number }>(
      await srv.api(`/api/reports/registration-attempts?from=${today}&to=${today}&limit=1&offset=1`, {
        token,
      }),
    )
    expect(second.rows[0].id).toBeGreaterThan(first.rows[0].id)
    expect(second.nextOffset).toBeUndefined()
    const yesterday = localDay(new Date(Date.now() - 86_400_000 * 2))
    const before = await json<{ rows: unknown[] }>(
      await srv.api(`/api/reports/registration-attempts?from=${yesterday}&to=${yesterday}`, { token }),
    )
    expect(before.rows).toEqual([])
  })

  it('Incoming Verification: every incoming SMS with its outcome, digits masked', async () => {
    const page = await json<{ rows: Record<string, unknown>[] }>(
      await srv.api(`/api/reports/incoming-verification?from=${today}&to=${today}&number=%2B447700900101`, {
        token,
      }),
    )
    expect(page.rows.map((r) => r.text)).toEqual(['FRAUD', 'my code is ••••••'])
    expect(page.rows[0].from).toBe('+447700900101')
    expect(typeof page.rows[0].outcome).toBe('string')
    expect(JSON.stringify(page)).not.toContain('123456')
  })

  it('exports CSV that is safe to open in a spreadsheet, and audits the export', async () => {
    const res = await srv.api(
      `/api/reports/registration-attempts/export?from=${today}&to=${today}&format=csv`,
      {
        token,
      },
    )
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(res.headers.get('content-disposition')).toContain(`registration-attempts_${today}.csv`)
    const cells = parse(await res.text()) as string[][]
    expect(cells[0]).toEqual([
      'Run',
      'Started',
      'File',
      'Operator',
      'Status',
      'Lines',
      'Enrolled',
      'Updated',
      'Skipped',
      'Errors',
      'Finished',
    ])
    expect(cells[1][2]).toBe(`'=HYPERLINK("http://evil")`)
    expect(cells[1][3]).toBe('operator:admin')
    const audit = await json<{ items: { action: string; details: Record<string, unknown> }[] }>(
      await srv.api('/api/audit?action=report.export', { token }),
    )
    expect(audit.items[0].details).toMatchObject({ format: 'csv', rows: 2, from: today })
  })

  it('exports a PDF with the title, the column headers and the rows', async () => {
    const res = await srv.api(
      `/api/reports/incoming-verification/export?from=${today}&to=${today}&format=pdf`,
      {
        token,
      },
    )
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/pdf')
    const pdf = Buffer.from(await res.arrayBuffer())
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-')
    const text = pdfText(pdf)
    expect(text).toContain('Incoming Verification report')
    expect(text).toContain('Outcome')
    expect(text).toContain('FRAUD')
    expect(text).not.toContain('123456')
  })

  it('says in words what is wrong with a bad period, and refuses roles without reports.read', async () => {
    const bad = await srv.api(`/api/reports/registration-attempts?from=2025-13-01&to=${today}`, { token })
    expect(bad.status).toBe(400)
    const reversed = await srv.api('/api/reports/registration-attempts?from=2025-02-02&to=2025-02-01', {
      token,
    })
    expect(reversed.status).toBe(400)
    expect(JSON.stringify(await reversed.json())).toContain('must not be before the start date')
    await srv.api('/api/operators', {
      method: 'POST',
      token,
      json: { username: 'agent1', displayName: 'Agent', role: 'agent', password: 'agent-Password-123456' },
    })
    const agent = await srv.login('agent1', 'agent-Password-123456')
    expect((await srv.api('/api/reports', { token: agent })).status).toBe(403)
  })

  it('writes the day’s report files through the same service', async () => {
    const files = await srv.services.dailyReports.writeDay(today)
    expect(files.map((f) => f.split('/').slice(-2).join('/'))).toEqual([
      `${today}/registration-attempts.csv`,
      `${today}/incoming-verification.csv`,
      `${today}/authentication-attempts.csv`,
      `${today}/authentication-statistics.csv`,
      `${today}/fraud.csv`,
    ])
  })
})
