import type { AuditLog } from '../audit/audit-log'
import type { Db } from '../store/db'
import { importOathCsv, importYubikeyCsv } from './csv-import'
import type { ImportIssue, ImportReport, SeedRecord } from './import-report'
import type { DongleInventory } from './inventory'
import type { ImportFormat, ImportJob } from './model'
import { importPskc } from './pskc/import'

export type ImportInput = Uint8Array | AsyncIterable<Uint8Array>

export interface StartImport {
  /** The file's name, for the history and the audit log. */
  source: string
  /** Detected from the first bytes when omitted. */
  format?: ImportFormat
  bytes: ImportInput
  /** Size of the input in bytes, for progress. */
  size: number
  /** Vendor batch label stored on every token (defaults to the file name). */
  batch?: string
  /** PBKDF2 password or pre-shared key of an encrypted PSKC file: used, never stored or logged. */
  password?: string
  preSharedKey?: Uint8Array
  actor: string
  onProgress?(job: ImportJob): void
}

interface JobRow {
  id: number
  source: string
  format: ImportFormat
  batch: string | null
  status: ImportJob['status']
  bytes_total: number
  entries: number
  total: number
  inserted: number
  errors: string
  more_errors: number
  warnings: string
  created_by: string
  created_at: number
  finished_at: number | null
}

/** Live counters of running imports; written to the job row only when a phase ends (no fsync per step). */
interface Live {
  status: ImportJob['status']
  bytesRead: number
  entries: number
  total: number
  inserted: number
}

/** Input is handed to the CSV parsers in slices of this size, with a turn of the event loop between slices. */
const SLICE_BYTES = 1 << 20
const PROGRESS_EVERY = 2000

const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString())

/** Which importer a file needs, from its first bytes: XML is PSKC; YubiKey CSV logs have their own row shapes. */
export function detectFormat(head: Uint8Array): ImportFormat {
  const text = Buffer.from(head.subarray(0, 4096))
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart()
  if (text.startsWith('<')) return 'pskc'
  const first = text.split(/\r?\n/).find((l) => l.trim() && !l.startsWith('#')) ?? ''
  if (/^(OATH-HOTP|Yubico OTP|Static Password),/.test(first)) return 'yubikey-csv'
  if (/^\d+,[^,]*,0,[0-9a-fA-F]+,/.test(first)) return 'yubikey-csv'
  return 'oath-csv'
}

/** Yields the input in slices, letting the event loop run between them so the server keeps answering. */
async function* sliced(input: ImportInput, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  const chunks = input instanceof Uint8Array ? [input] : input
  for await (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i += SLICE_BYTES) {
      const slice = chunk.subarray(i, i + SLICE_BYTES)
      onBytes(slice.length)
      yield slice
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
}

/**
 * Seed imports as jobs: the whole file is parsed and checked (format, MACs, duplicates within the file) before
 * anything is written to the inventory. Seeds are sealed and staged as they are accepted, while the rest of the
 * file is still being read (import-stage.ts); then every token goes into the inventory in one transaction, so
 * an import lands whole or not at all, even if the process dies half-way. A serial already in the inventory
 * aborts that transaction and is reported.
 */
export class DongleImporter {
  private readonly live = new Map<number, Live>()

  constructor(
    private readonly db: Db,
    private readonly inventory: DongleInventory,
    private readonly audit: AuditLog,
  ) {}

  /**
   * Settles the imports a stopped server left `parsing` or `importing` (call at server start, never from a CLI
   * command that may run beside a server's import). The inventory copy is one transaction, so an import
   * either stored all its tokens (the job just missed its final update: `done`) or none (`failed`).
   */
  recoverInterrupted(): number {
    const stale = this.db
      .prepare(
        `SELECT id FROM dongle_imports WHERE status IN ('parsing', 'importing') AND finished_at IS NULL`,
      )
      .pluck()
      .all() as number[]
    const stored = this.db.prepare('SELECT count(*) FROM dongles WHERE import_id = ?').pluck()
    for (const id of stale) {
      if (this.live.has(id)) continue
      const inserted = stored.get(id) as number
      if (inserted > 0) this.finish(id, 'system', 'done', [], 0, inserted)
      else
        this.finish(
          id,
          'system',
          'failed',
          [{ message: 'the server stopped during this import; nothing from it was stored: run it again' }],
          0,
        )
    }
    return stale.length
  }

  job(id: number): ImportJob | undefined {
    const row = this.db.prepare('SELECT * FROM dongle_imports WHERE id = ?').get(id) as JobRow | undefined
    return row ? this.view(row) : undefined
  }

  jobs(limit = 20): ImportJob[] {
    const rows = this.db
      .prepare('SELECT * FROM dongle_imports ORDER BY id DESC LIMIT ?')
      .all(limit) as JobRow[]
    return rows.map((r) => {
      const j = this.view(r)
      return { ...j, errors: j.errors.slice(0, 20), warnings: j.warnings.slice(0, 20) }
    })
  }

  /** Records the job and starts it; `done` settles with the finished job (done, rejected or failed). */
  async start(input: StartImport): Promise<{ job: ImportJob; done: Promise<ImportJob> }> {
    let bytes = input.bytes
    let format = input.format
    if (!format) {
      // Peek at the first chunk to detect the format, then put it back in front of the rest.
      if (bytes instanceof Uint8Array) format = detectFormat(bytes)
      else {
        const iterator = bytes[Symbol.asyncIterator]()
        const first = await iterator.next()
        const head = first.done ? new Uint8Array(0) : first.value
        format = detectFormat(head)
        bytes = (async function* () {
          yield head
          for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value
        })()
      }
    }
    const batch = input.batch ?? input.source
    const now = Date.now()
    const id = this.db.transaction(() => {
      const info = this.db
        .prepare(
          `INSERT INTO dongle_imports (source, format, batch, status, bytes_total, created_by, created_at)
           VALUES (?, ?, ?, 'parsing', ?, ?, ?)`,
        )
        .run(input.source, format, batch, input.size, input.actor, now)
      this.audit.record({
        actor: input.actor,
        action: 'dongle.import.start',
        target: `dongle-import:${info.lastInsertRowid}`,
        details: {
          source: input.source,
          format,
          bytes: input.size,
          protection:
            input.password !== undefined ? 'password' : input.preSharedKey ? 'pre-shared key' : 'none',
        },
      })
      return Number(info.lastInsertRowid)
    })()
    this.live.set(id, { status: 'parsing', bytesRead: 0, entries: 0, total: 0, inserted: 0 })
    const done = this.run(id, { ...input, bytes, format, batch }).finally(() => this.live.delete(id))
    return { job: this.job(id)!, done }
  }

  private async run(
    id: number,
    input: StartImport & { format: ImportFormat; batch: string },
  ): Promise<ImportJob> {
    const live = this.live.get(id)!
    const progress = () => input.onProgress?.(this.job(id)!)
    const stage = this.inventory.stage(id)
    try {
      const options = {
        progressEvery: PROGRESS_EVERY,
        onProgress: ({ entries, bytes }: { entries: number; bytes: number }) => {
          live.entries = entries
          live.bytesRead = Math.max(live.bytesRead, bytes)
          progress()
        },
        onSeeds: (seeds: readonly SeedRecord[], start: number) => stage.add(seeds, start),
      }
      let report: ImportReport
      if (input.format === 'pskc') {
        // Given whole (not sliced): importPskc reads a large file in worker threads.
        report = await importPskc(input.bytes, {
          ...options,
          size: input.size,
          password: input.password,
          preSharedKey: input.preSharedKey,
        })
      } else {
        const source = sliced(input.bytes, (n) => (live.bytesRead += n))
        report =
          input.format === 'oath-csv'
            ? await importOathCsv(source, options)
            : await importYubikeyCsv(source, options)
      }
      live.entries = report.entries
      if (!report.ok) return this.reject(id, input, report.errors, report.moreErrors, report.warnings)
      // A valid report has handed every seed to onSeeds (ImportOptions), so the stage holds them all.
      if (stage.size !== report.seeds.length) throw new Error('staged seeds do not match the report')

      live.status = 'importing'
      live.total = stage.size
      this.db
        .prepare(
          `UPDATE dongle_imports SET status = 'importing', entries = ?, total = ?, warnings = ? WHERE id = ?`,
        )
        .run(report.entries, stage.size, JSON.stringify(report.warnings), id)
      progress()
      try {
        live.inserted = stage.commit(input.batch)
      } catch (err) {
        const e = err as { code?: string }
        const duplicates = e.code === 'SQLITE_CONSTRAINT_UNIQUE' ? stage.duplicates() : []
        if (duplicates.length > 0) {
          const errors = duplicates.map((serial) => ({
            message: `serial ${serial} is already in the inventory`,
          }))
          return this.reject(
            id,
            input,
            errors.slice(0, 100),
            Math.max(0, errors.length - 100),
            report.warnings,
          )
        }
        const message = `the inventory could not be written (${e.code ?? 'error'}); nothing was imported`
        return this.finish(id, input.actor, 'failed', [{ message }], 0)
      }
      return this.finish(id, input.actor, 'done', [], 0, live.inserted)
    } catch (err) {
      this.finish(id, input.actor, 'failed', [{ message: 'the import stopped on an internal error' }], 0)
      throw err
    } finally {
      stage.drop()
    }
  }

  private reject(
    id: number,
    input: StartImport,
    errors: ImportIssue[],
    moreErrors: number,
    warnings: ImportIssue[],
  ): ImportJob {
    this.db.prepare('UPDATE dongle_imports SET warnings = ? WHERE id = ?').run(JSON.stringify(warnings), id)
    return this.finish(id, input.actor, 'rejected', errors, moreErrors)
  }

  private finish(
    id: number,
    actor: string,
    status: 'done' | 'rejected' | 'failed',
    errors: ImportIssue[],
    moreErrors: number,
    inserted = 0,
  ): ImportJob {
    const live = this.live.get(id)
    this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE dongle_imports SET status = ?, entries = ?, inserted = ?, errors = ?, more_errors = ?, finished_at = ?
           WHERE id = ?`,
        )
        .run(status, live?.entries ?? 0, inserted, JSON.stringify(errors), moreErrors, Date.now(), id)
      this.audit.record({
        actor,
        action: `dongle.import.${status}`,
        target: `dongle-import:${id}`,
        details: { inserted, errors: errors.length + moreErrors },
      })
    })()
    this.live.delete(id)
    return this.job(id)!
  }

  private view(r: JobRow): ImportJob {
    const live = this.live.get(r.id)
    const status = live?.status ?? r.status
    const bytesRead = live ? live.bytesRead : r.finished_at !== null ? r.bytes_total : 0
    const entries = live?.entries ?? r.entries
    const total = live?.total || r.total
    const inserted = live?.inserted ?? r.inserted
    const percent =
      status === 'parsing'
        ? Math.min(49, Math.floor((bytesRead / Math.max(1, r.bytes_total)) * 50))
        : status === 'importing'
          ? 50 + Math.floor((inserted / Math.max(1, total)) * 50)
          : 100
    return {
      id: r.id,
      source: r.source,
      format: r.format,
      ...(r.batch ? { batch: r.batch } : {}),
      status,
      bytesTotal: r.bytes_total,
      bytesRead,
      entries,
      total,
      inserted,
      percent,
      errors: JSON.parse(r.errors) as ImportIssue[],
      moreErrors: r.more_errors,
      warnings: JSON.parse(r.warnings) as ImportIssue[],
      createdBy: r.created_by,
      createdAt: iso(r.created_at)!,
      ...(r.finished_at !== null ? { finishedAt: iso(r.finished_at) } : {}),
    }
  }
}
