import { createHash } from 'node:crypto'
import { parse } from 'csv-parse/sync'
import { csvFault } from '../csv/fault'
import type { AuditLog } from '../audit/audit-log'
import type { IssuerRepository } from '../issuers/repository'
import type { Db } from '../store/db'
import { CSV_HEADER, EnrolmentLine } from './model'
import type { CardholderRepository } from './repository'

export interface LineError {
  line: number
  field?: string
  message: string
}

export interface ValidationReport {
  lines: number
  valid: { line: number; data: EnrolmentLine }[]
  /** One per problem: a line with two bad fields has two. */
  errors: LineError[]
}

/** How many lines the errors are on (what is skipped, and what the operator is told is invalid). */
export function invalidLines(report: ValidationReport): number {
  return new Set(report.errors.map((e) => e.line)).size
}

export interface ImportProgress {
  jobId: number
  processed: number
  total: number
}

export interface ImportOptions {
  source: string
  skipInvalid: boolean
  actor: string
  batchSize?: number
  onProgress?(p: ImportProgress): void
  /** Yield to the event loop between batches (true in the server, false in the CLI). */
  yieldBetweenBatches?: boolean
}

export interface JobView {
  id: number
  source: string
  status: 'importing' | 'done' | 'failed' | 'rejected'
  skipInvalid: boolean
  totalLines: number
  processedLines: number
  inserted: number
  updated: number
  skipped: number
  errors: LineError[]
  createdBy: string
  createdAt: string
  finishedAt?: string
  resumed?: boolean
}

const MAX_REPORTED_ERRORS = 1000

/**
 * Reads a mass-enrolment CSV and checks every line before anything is written. Line numbers are those of
 * the file (the header is line 1), so an operator can find each problem in a spreadsheet.
 */
export function validateCsv(text: string, issuers: IssuerRepository): ValidationReport {
  const errors: LineError[] = []
  let records: { record: string[]; info: { lines: number } }[]
  try {
    records = parse(text, {
      bom: true,
      info: true,
      skip_empty_lines: true,
      relax_column_count: true,
      trim: true,
    }) as never
  } catch (err) {
    const fault = csvFault(err) ?? { message: 'malformed CSV' }
    return {
      lines: 0,
      valid: [],
      errors: [{ line: fault.line ?? 1, message: `not readable as CSV: ${fault.message}` }],
    }
  }
  if (records.length === 0)
    return { lines: 0, valid: [], errors: [{ line: 1, message: 'the file is empty' }] }
  const header = records[0].record.map((h) => h.toLowerCase())
  const missing = CSV_HEADER.filter((h) => !header.includes(h))
  const unknown = header.filter((h) => !(CSV_HEADER as readonly string[]).includes(h))
  if (missing.length || unknown.length) {
    const parts = [
      missing.length ? `missing ${missing.join(', ')}` : '',
      unknown.length ? `unknown ${unknown.join(', ')}` : '',
    ]
    return {
      lines: records.length,
      valid: [],
      errors: [
        {
          line: 1,
          message: `the header must be ${CSV_HEADER.join(',')} (${parts.filter(Boolean).join('; ')})`,
        },
      ],
    }
  }
  const valid: ValidationReport['valid'] = []
  const seen = new Map<string, number>()
  for (const { record, info } of records.slice(1)) {
    const line = info.lines
    if (record.length !== header.length) {
      errors.push({ line, message: `expected ${header.length} fields, found ${record.length}` })
      continue
    }
    const raw = Object.fromEntries(header.map((h, i) => [h, record[i]]))
    const parsed = EnrolmentLine.safeParse(raw)
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        errors.push({ line, field: String(issue.path[0] ?? ''), message: issue.message })
      continue
    }
    const first = seen.get(parsed.data.pan)
    if (first !== undefined) {
      errors.push({ line, field: 'pan', message: `the same card as line ${first}` })
      continue
    }
    if (!issuers.findRange(parsed.data.pan)) {
      errors.push({ line, field: 'pan', message: 'no active card range covers this card number' })
      continue
    }
    seen.set(parsed.data.pan, line)
    valid.push({ line, data: parsed.data })
  }
  return { lines: records.length - 1, valid, errors }
}

interface JobRow {
  id: number
  source: string
  sha256: string
  status: JobView['status']
  skip_invalid: number
  total_lines: number
  processed_lines: number
  inserted: number
  updated: number
  skipped: number
  errors: string
  created_by: string
  created_at: string
  finished_at: string | null
}

const toJob = (r: JobRow): JobView => ({
  id: r.id,
  source: r.source,
  status: r.status,
  skipInvalid: r.skip_invalid === 1,
  totalLines: r.total_lines,
  processedLines: r.processed_lines,
  inserted: r.inserted,
  updated: r.updated,
  skipped: r.skipped,
  errors: JSON.parse(r.errors) as LineError[],
  createdBy: r.created_by,
  createdAt: r.created_at,
  ...(r.finished_at ? { finishedAt: r.finished_at } : {}),
})

/**
 * Mass enrolment. Nothing is written until the whole file has been validated; then valid lines are
 * upserted by PAN in batches, each batch and the job's progress in one transaction, so a crash leaves a
 * consistent prefix and importing the same file again resumes after it.
 */
export class EnrolmentImporter {
  constructor(
    private readonly db: Db,
    private readonly issuers: IssuerRepository,
    private readonly cardholders: CardholderRepository,
    private readonly audit: AuditLog,
  ) {}

  validate(text: string): ValidationReport {
    return validateCsv(text, this.issuers)
  }

  job(id: number): JobView | undefined {
    const row = this.db.prepare('SELECT * FROM enrolment_jobs WHERE id = ?').get(id) as JobRow | undefined
    return row ? toJob(row) : undefined
  }

  jobs(limit = 50): JobView[] {
    return (
      this.db.prepare('SELECT * FROM enrolment_jobs ORDER BY id DESC LIMIT ?').all(limit) as JobRow[]
    ).map((r) => {
      const j = toJob(r)
      return { ...j, errors: j.errors.slice(0, 20) }
    })
  }

  /**
   * Validates, then (when acceptable) starts the import. Returns the job as soon as it is recorded; the
   * returned promise `done` settles when the last batch is written.
   */
  start(
    text: string,
    options: ImportOptions,
  ): { job: JobView; report: ValidationReport; done: Promise<JobView> } {
    const report = validateCsv(text, this.issuers)
    const sha256 = createHash('sha256').update(text).digest('hex')
    const now = new Date().toISOString()
    const reportedErrors = JSON.stringify(report.errors.slice(0, MAX_REPORTED_ERRORS))
    if (report.errors.length > 0 && (!options.skipInvalid || report.valid.length === 0)) {
      const info = this.db
        .prepare(
          `INSERT INTO enrolment_jobs (source, sha256, status, skip_invalid, total_lines, skipped, errors, created_by, created_at, finished_at)
           VALUES (?, ?, 'rejected', ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          options.source,
          sha256,
          options.skipInvalid ? 1 : 0,
          report.lines,
          invalidLines(report),
          reportedErrors,
          options.actor,
          now,
          now,
        )
      this.audit.record({
        actor: options.actor,
        action: 'enrolment.rejected',
        target: `job:${info.lastInsertRowid}`,
        details: { source: options.source, invalidLines: invalidLines(report), errors: report.errors.length },
      })
      const job = this.job(Number(info.lastInsertRowid))!
      return { job, report, done: Promise.resolve(job) }
    }
    const unfinished = this.db
      .prepare(
        `SELECT * FROM enrolment_jobs WHERE sha256 = ? AND status IN ('importing', 'failed') ORDER BY id DESC LIMIT 1`,
      )
      .get(sha256) as JobRow | undefined
    let jobId: number
    if (unfinished) {
      jobId = unfinished.id
      this.db
        .prepare(`UPDATE enrolment_jobs SET status = 'importing', finished_at = NULL WHERE id = ?`)
        .run(jobId)
      this.audit.record({
        actor: options.actor,
        action: 'enrolment.resume',
        target: `job:${jobId}`,
        details: { from: unfinished.processed_lines },
      })
    } else {
      jobId = this.db.transaction(() => {
        const info = this.db
          .prepare(
            `INSERT INTO enrolment_jobs (source, sha256, status, skip_invalid, total_lines, skipped, errors, created_by, created_at)
             VALUES (?, ?, 'importing', ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            options.source,
            sha256,
            options.skipInvalid ? 1 : 0,
            report.valid.length,
            invalidLines(report),
            reportedErrors,
            options.actor,
            now,
          )
        this.audit.record({
          actor: options.actor,
          action: 'enrolment.start',
          target: `job:${info.lastInsertRowid}`,
          details: { source: options.source, lines: report.valid.length },
        })
        return Number(info.lastInsertRowid)
      })()
    }
    const job = { ...this.job(jobId)!, ...(unfinished ? { resumed: true } : {}) }
    return { job, report, done: this.run(jobId, report, options) }
  }

  private async run(jobId: number, report: ValidationReport, options: ImportOptions): Promise<JobView> {
    const batchSize = options.batchSize ?? 1000
    const progress = this.db.prepare(
      'UPDATE enrolment_jobs SET processed_lines = ?, inserted = inserted + ?, updated = updated + ? WHERE id = ?',
    )
    let offset = this.job(jobId)!.processedLines
    try {
      while (offset < report.valid.length) {
        const batch = report.valid.slice(offset, offset + batchSize)
        this.db.transaction(() => {
          let inserted = 0
          let updated = 0
          for (const { data } of batch) {
            if (this.cardholders.upsert(data) === 'inserted') inserted++
            else updated++
          }
          progress.run(offset + batch.length, inserted, updated, jobId)
        })()
        offset += batch.length
        options.onProgress?.({ jobId, processed: offset, total: report.valid.length })
        if (options.yieldBetweenBatches) await new Promise((r) => setImmediate(r))
      }
      this.db.transaction(() => {
        this.db
          .prepare(`UPDATE enrolment_jobs SET status = 'done', finished_at = ? WHERE id = ?`)
          .run(new Date().toISOString(), jobId)
        const job = this.job(jobId)!
        this.audit.record({
          actor: options.actor,
          action: 'enrolment.done',
          target: `job:${jobId}`,
          details: { inserted: job.inserted, updated: job.updated, skipped: job.skipped },
        })
      })()
    } catch (err) {
      this.db
        .prepare(`UPDATE enrolment_jobs SET status = 'failed', finished_at = ? WHERE id = ?`)
        .run(new Date().toISOString(), jobId)
      throw err
    }
    return this.job(jobId)!
  }
}
