import type { OathAlgorithm } from '../otp/oath'

/** One OATH seed as every importer yields it and the exporter takes it; the caller encrypts it at rest. */
export interface SeedRecord {
  serial: string
  kind: 'hotp' | 'totp'
  secret: Buffer
  algorithm: OathAlgorithm
  digits: number
  /** HOTP: the next counter. */
  counter: number
  /** TOTP: the time step in seconds. */
  period: number
  /** TOTP: the token clock's offset from ours, in time steps (PSKC TimeDrift); absent means 0. */
  driftSteps?: number
  manufacturer?: string
  model?: string
  issuer?: string
  /** Who the token belongs to (PSKC Key/UserId): the cardholder id in the issuer's backup export. */
  userId?: string
}

/** Where a problem is: a 1-based line of the file and/or the element or column that failed. */
export interface ImportIssue {
  line?: number
  element?: string
  message: string
}

export interface ImportReport {
  /** True only if every entry was valid; otherwise `seeds` is empty (imports are all-or-nothing). */
  ok: boolean
  seeds: SeedRecord[]
  /** Entries seen, valid or not. */
  entries: number
  errors: ImportIssue[]
  /** Errors past the first MAX_REPORTED_ERRORS, counted but not listed. */
  moreErrors: number
  warnings: ImportIssue[]
}

export interface ImportProgress {
  entries: number
  bytes: number
}

export interface ImportOptions {
  /** Called every `progressEvery` entries and once at the end. */
  onProgress?: (progress: ImportProgress) => void
  progressEvery?: number
  /**
   * Called with the seeds accepted since the last call, in file order, each time progress is reported while
   * no error has been found and when a valid file ends, so the caller can prepare them (seal them) while the
   * rest of the file is read.
   * `start` is the position of the first of them among all accepted seeds; it goes back to 0 when the file is
   * read again from the start (PSKC's fallback from the parallel read). The import can still fail later: only
   * the final report says whether they may be stored.
   */
  onSeeds?: (seeds: readonly SeedRecord[], start: number) => void
  /**
   * The HOTP profile of RFC 4226 needs 128-bit secrets; lower this only for legacy imports (10-byte
   * Google-Authenticator-style seeds).
   */
  minSecretBytes?: number
}

export const MAX_REPORTED_ERRORS = 100
export const DEFAULT_MIN_SECRET_BYTES = 16

/** Collects entries and issues, then produces the all-or-nothing report. */
export class ReportBuilder {
  private readonly seeds: SeedRecord[] = []
  private readonly errors: ImportIssue[] = []
  private readonly warnings: ImportIssue[] = []
  private readonly serials = new Map<string, number | undefined>()
  private moreErrors = 0
  /** How many of `seeds` went to `onSeeds` already. */
  private delivered = 0
  entries = 0
  /** Input consumed so far, kept current by the importer for progress reports. */
  bytes = 0

  constructor(private readonly options: ImportOptions) {}

  get minSecretBytes(): number {
    return this.options.minSecretBytes ?? DEFAULT_MIN_SECRET_BYTES
  }

  error(issue: ImportIssue): void {
    if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push(issue)
    else this.moreErrors++
  }

  warn(issue: ImportIssue): void {
    if (this.warnings.length < MAX_REPORTED_ERRORS) this.warnings.push(issue)
  }

  get failed(): boolean {
    return this.errors.length > 0
  }

  /** Checks what every importer must check (serial unique, secret long enough, OATH parameters), then keeps it. */
  add(seed: SeedRecord, line: number | undefined, element?: string): void {
    const issue = (message: string) => this.error({ line, element, message })
    if (!seed.serial) return issue('no serial number')
    if (seed.secret.length < this.minSecretBytes) {
      return issue(
        `secret is ${seed.secret.length} bytes; OATH tokens need at least ${this.minSecretBytes} (minSecretBytes)`,
      )
    }
    if (!Number.isInteger(seed.digits) || seed.digits < 6 || seed.digits > 8) {
      return issue(`code length ${seed.digits} is not 6 to 8 digits`)
    }
    if (!Number.isSafeInteger(seed.counter) || seed.counter < 0)
      return issue('counter is not a non-negative integer')
    if (!Number.isInteger(seed.period) || seed.period <= 0)
      return issue('time step is not a positive integer')
    const previous = this.serials.get(seed.serial)
    if (this.serials.has(seed.serial)) {
      return issue(`serial ${seed.serial} appears twice${previous ? ` (first on line ${previous})` : ''}`)
    }
    this.serials.set(seed.serial, line)
    // Once the import has failed nothing will be returned, so stop holding secrets.
    if (this.failed) seed.secret.fill(0)
    else this.seeds.push(seed)
  }

  /** Reports progress (and new seeds to `onSeeds`) every `progressEvery` entries, or now if `force`. */
  progress(force = false): void {
    const every = this.options.progressEvery ?? 1000
    if (!force && this.entries % every !== 0) return
    this.deliver()
    this.options.onProgress?.({ entries: this.entries, bytes: this.bytes })
  }

  private deliver(): void {
    if (!this.options.onSeeds || this.failed || this.delivered === this.seeds.length) return
    const start = this.delivered
    this.delivered = this.seeds.length
    this.options.onSeeds(this.seeds.slice(start), start)
  }

  /** Drops everything read so far, zeroing the secrets (the caller reads the file again another way). */
  discard(): void {
    for (const s of this.seeds) s.secret.fill(0)
    this.seeds.length = 0
  }

  finish(): ImportReport {
    const ok = this.errors.length === 0
    if (ok) this.deliver()
    else for (const s of this.seeds) s.secret.fill(0)
    return {
      ok,
      seeds: ok ? this.seeds : [],
      entries: this.entries,
      errors: this.errors,
      moreErrors: this.moreErrors,
      warnings: this.warnings,
    }
  }
}
