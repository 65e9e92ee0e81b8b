import type { ReportColumn, ReportFilterSpec, ReportKind, ReportQuery } from './schemas'

/** The time window of a report, in epoch milliseconds: [fromMs, toMs). */
export interface ReportRange {
  fromMs: number
  toMs: number
}

interface ReportBase {
  kind: ReportKind
  title: string
  description: string
  filters: ReportFilterSpec[]
  columns: ReportColumn[]
}

/** A report over tables that exist: its SQL (ordered, without LIMIT) and how a result row is shown. */
export interface QueryReport extends ReportBase {
  tables: string[]
  sql(range: ReportRange, query: ReportQuery): { sql: string; params: Record<string, unknown> }
  present?(row: Record<string, unknown>): Record<string, string | number | null>
}

/** A report whose data is produced by a capability that is not part of this server yet. */
export interface PendingReport extends ReportBase {
  pendingReason: string
}

export type ReportDefinition = QueryReport | PendingReport

export function isQueryReport(report: ReportDefinition): report is QueryReport {
  return 'sql' in report
}

const iso = (ms: unknown) => (typeof ms === 'number' ? new Date(ms).toISOString() : null)

/**
 * Incoming texts can carry a code typed by the cardholder (a dongle code sent by SMS), and report files
 * leave the console: runs of four or more digits are replaced by bullets, as the outbox does for codes.
 */
export function maskDigitRuns(text: string): string {
  return text.replace(/\d{4,}/g, (run) => '•'.repeat(run.length))
}

const registrationAttempts: QueryReport = {
  kind: 'registration-attempts',
  title: 'Registration Attempt',
  description:
    'Every mass-enrolment run: who imported which file, and how many lines were enrolled, updated or refused.',
  filters: [{ name: 'status', label: 'Run status', options: ['importing', 'done', 'failed', 'rejected'] }],
  columns: [
    { key: 'id', label: 'Run' },
    { key: 'createdAt', label: 'Started' },
    { key: 'source', label: 'File' },
    { key: 'createdBy', label: 'Operator' },
    { key: 'status', label: 'Status' },
    { key: 'totalLines', label: 'Lines' },
    { key: 'inserted', label: 'Enrolled' },
    { key: 'updated', label: 'Updated' },
    { key: 'skipped', label: 'Skipped' },
    { key: 'errors', label: 'Errors' },
    { key: 'finishedAt', label: 'Finished' },
  ],
  tables: ['enrolment_jobs'],
  // created_at is an ISO-8601 UTC string: comparing it with ISO bounds as text is a range scan.
  sql: (range, q) => ({
    sql: `SELECT id, created_at AS createdAt, source, created_by AS createdBy, status, total_lines AS totalLines,
                 inserted, updated, skipped, json_array_length(errors) AS errors, finished_at AS finishedAt
          FROM enrolment_jobs
          WHERE created_at >= @from AND created_at < @to AND (@status IS NULL OR status = @status)
          ORDER BY id`,
    params: {
      from: new Date(range.fromMs).toISOString(),
      to: new Date(range.toMs).toISOString(),
      status: q.status ?? null,
    },
  }),
}

const incomingVerification: QueryReport = {
  kind: 'incoming-verification',
  title: 'Incoming Verification',
  description:
    'Every incoming SMS and what became of it: matched to a challenge or a fraud notice, expired, rejected or unmatched.',
  filters: [
    {
      name: 'outcome',
      label: 'Outcome',
      options: ['unmatched', 'matched', 'expired', 'rejected', 'ignored'],
    },
    { name: 'number', label: 'Sender number' },
  ],
  columns: [
    { key: 'id', label: 'Message' },
    { key: 'receivedAt', label: 'Received' },
    { key: 'from', label: 'From' },
    { key: 'text', label: 'Text (digits masked)' },
    { key: 'gateway', label: 'Gateway' },
    { key: 'modem', label: 'Modem' },
    { key: 'outcome', label: 'Outcome' },
    { key: 'handledBy', label: 'Handled by' },
    { key: 'ref', label: 'Reference' },
  ],
  tables: ['sms_inbox'],
  sql: (range, q) => ({
    sql: `SELECT id, received_at AS receivedAt, from_number AS "from", text, gateway, modem, outcome,
                 handled_by AS handledBy, ref
          FROM sms_inbox
          WHERE received_at >= @from AND received_at < @to AND (@outcome IS NULL OR outcome = @outcome)
            AND (@number IS NULL OR from_number = @number)
          ORDER BY id`,
    params: { from: range.fromMs, to: range.toMs, outcome: q.outcome ?? null, number: q.number ?? null },
  }),
  present: (row) => ({
    ...(row as Record<string, string | number | null>),
    receivedAt: iso(row.receivedAt),
    text: maskDigitRuns(String(row.text ?? '')),
  }),
}

const ACS_PENDING =
  'Needs the ACS transaction ledger, which this server does not have yet; the report appears once it does.'

const authenticationAttempts: PendingReport = {
  kind: 'authentication-attempts',
  title: 'Authentication Attempt',
  description:
    'Every 3-D Secure authentication: card (masked), merchant, amount, method, outcome and timings.',
  filters: [],
  columns: [],
  pendingReason: ACS_PENDING,
}

const authenticationStatistics: PendingReport = {
  kind: 'authentication-statistics',
  title: 'Authentication Statistic',
  description: 'Authentications per day: frictionless, challenged, succeeded, failed, abandoned.',
  filters: [],
  columns: [],
  pendingReason: ACS_PENDING,
}

const fraud: PendingReport = {
  kind: 'fraud',
  title: 'Fraud',
  description: 'FRAUD replies from cardholders and the cards they suspended.',
  filters: [],
  columns: [],
  pendingReason: ACS_PENDING,
}

export const REPORTS: readonly ReportDefinition[] = [
  registrationAttempts,
  incomingVerification,
  authenticationAttempts,
  authenticationStatistics,
  fraud,
]
