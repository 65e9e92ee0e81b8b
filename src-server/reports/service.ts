import { HttpProblem } from '../http/problem'
import type { Db } from '../store/db'
import type { ReadPool } from '../store/read-pool'
import { toCsv } from './csv'
import { REPORTS, type ReportDefinition, type ReportRange } from './definitions'
import { toPdf } from './pdf'
import type { ExportFormat, ReportInfo, ReportKind, ReportPage, ReportQuery } from './schemas'

/** Exports stop here; the file says so. A larger period is exported in several parts. */
export const EXPORT_ROW_LIMIT = 100_000
/** A PDF is for reading, not for processing: beyond this many rows use the CSV. */
export const PDF_ROW_LIMIT = 5_000

type Row = Record<string, string | number | null>

/** YYYY-MM-DD (local calendar day) → epoch ms of its local midnight. */
export function localDayStart(day: string, addDays = 0): number {
  const [y, m, d] = day.split('-').map(Number)
  return new Date(y, m - 1, d + addDays).getTime()
}

/** The local calendar day of an instant, as YYYY-MM-DD. */
export function localDay(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
}

export function rangeOf(query: Pick<ReportQuery, 'from' | 'to'>): ReportRange {
  return { fromMs: localDayStart(query.from), toMs: localDayStart(query.to, 1) }
}

export interface ExportFile {
  fileName: string
  contentType: string
  body: string | Buffer
  rows: number
}

/**
 * Runs the report definitions. Every query goes to the read pool (worker threads with read-only
 * connections), so a year-long report never stalls the event loop that answers AReqs.
 */
export class ReportService {
  constructor(
    private readonly db: Db,
    private readonly reads: ReadPool,
    private readonly definitions: readonly ReportDefinition[] = REPORTS,
  ) {}

  private tableExists(name: string): boolean {
    return (
      this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined
    )
  }

  private available(def: ReportDefinition): boolean {
    return this.unavailableReason(def) === undefined
  }

  private unavailableReason(def: ReportDefinition): string | undefined {
    const missing = def.tables.filter((t) => !this.tableExists(t))
    return missing.length ? `Its tables (${missing.join(', ')}) do not exist in this database.` : undefined
  }

  list(): ReportInfo[] {
    return this.definitions.map((def) => {
      const unavailableReason = this.unavailableReason(def)
      return {
        kind: def.kind,
        title: def.title,
        description: def.description,
        filters: def.filters,
        columns: def.columns,
        available: unavailableReason === undefined,
        ...(unavailableReason ? { unavailableReason } : {}),
      }
    })
  }

  /** The report, or a 404/409 problem that says why it cannot run. */
  private definition(kind: ReportKind): ReportDefinition {
    const def = this.definitions.find((d) => d.kind === kind)
    if (!def) throw new HttpProblem(404, 'Not found', `There is no ${kind} report`)
    if (!this.available(def)) {
      throw new HttpProblem(
        409,
        'Report not available',
        `The ${def.title} report cannot run. ${this.unavailableReason(def)}`,
      )
    }
    return def
  }

  private async rows(
    def: ReportDefinition,
    query: ReportQuery,
    limit: number,
    offset: number,
  ): Promise<Row[]> {
    const { sql, params } = def.sql(rangeOf(query), query)
    const raw = await this.reads.all<Record<string, unknown>>(`${sql} LIMIT @limit OFFSET @offset`, [
      { ...params, limit, offset },
    ])
    return raw.map((r) => (def.present ? def.present(r) : (r as Row)))
  }

  async page(kind: ReportKind, query: ReportQuery): Promise<ReportPage> {
    const def = this.definition(kind)
    // One row more than asked says whether there is a next page without a COUNT over the period.
    const rows = await this.rows(def, query, query.limit + 1, query.offset)
    const more = rows.length > query.limit
    return {
      kind,
      title: def.title,
      from: query.from,
      to: query.to,
      columns: def.columns,
      rows: more ? rows.slice(0, query.limit) : rows,
      ...(more ? { nextOffset: query.offset + query.limit } : {}),
    }
  }

  async export(
    kind: ReportKind,
    query: ReportQuery,
    format: ExportFormat,
    now = new Date(),
  ): Promise<ExportFile> {
    const def = this.definition(kind)
    const cap = format === 'pdf' ? PDF_ROW_LIMIT : EXPORT_ROW_LIMIT
    const rows = await this.rows(def, query, cap + 1, 0)
    const truncated = rows.length > cap
    const kept = truncated ? rows.slice(0, cap) : rows
    const period = query.from === query.to ? query.from : `${query.from}_${query.to}`
    const fileName = `${kind}_${period}.${format}`
    if (format === 'csv') {
      // A truncated CSV ends with a line that says so, rather than silently missing rows.
      const body =
        toCsv(def.columns, kept) +
        (truncated ? `# Truncated at ${cap} rows: export a shorter period for the rest.\r\n` : '')
      return { fileName, contentType: 'text/csv; charset=utf-8', body, rows: kept.length }
    }
    const body = await toPdf({
      title: `${def.title} report`,
      period: query.from === query.to ? query.from : `${query.from} to ${query.to}`,
      generatedAt: now.toISOString(),
      columns: def.columns,
      rows: kept,
      ...(truncated
        ? { footnote: `Only the first ${cap} rows are shown: export the CSV for all of them.` }
        : {}),
    })
    return { fileName, contentType: 'application/pdf', body, rows: kept.length }
  }

  /** The reports that can run on this database, for the daily files. */
  runnableKinds(): ReportKind[] {
    return this.definitions.filter((d) => this.available(d)).map((d) => d.kind)
  }
}
