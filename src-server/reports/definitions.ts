import { maskDigitRuns } from '../crypto/mask'
import type { ReportColumn, ReportFilterSpec, ReportKind, ReportQuery } from './schemas'

/** The time window of a report, in epoch milliseconds: [fromMs, toMs). */
export interface ReportRange {
  fromMs: number
  toMs: number
}

/** A report: the tables it reads, its SQL (ordered, without LIMIT) and how a result row is shown. */
export interface ReportDefinition {
  kind: ReportKind
  title: string
  description: string
  filters: ReportFilterSpec[]
  columns: ReportColumn[]
  tables: string[]
  sql(range: ReportRange, query: ReportQuery): { sql: string; params: Record<string, unknown> }
  present?(row: Record<string, unknown>): Record<string, string | number | null>
}

const iso = (ms: unknown) => (typeof ms === 'number' ? new Date(ms).toISOString() : null)

const registrationAttempts: ReportDefinition = {
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

const incomingVerification: ReportDefinition = {
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

const TRANSACTION_STATUSES = ['Y', 'N', 'U', 'A', 'C', 'D', 'R', 'I']

const authenticationAttempts: ReportDefinition = {
  kind: 'authentication-attempts',
  title: 'Authentication Attempt',
  description:
    'Every 3-D Secure authentication: card (masked), merchant, amount, channel, method, result and the rule that decided.',
  filters: [
    { name: 'status', label: 'Result (transStatus)', options: TRANSACTION_STATUSES },
    { name: 'channel', label: 'Channel', options: ['browser', 'app', '3ri'] },
    { name: 'brand', label: 'Brand', options: ['visa', 'mastercard', 'amex', 'jcb', 'discover', 'unionpay'] },
  ],
  columns: [
    { key: 'createdAt', label: 'Started' },
    { key: 'acsTransID', label: 'acsTransID' },
    { key: 'brand', label: 'Brand' },
    { key: 'channel', label: 'Channel' },
    { key: 'card', label: 'Card' },
    { key: 'merchant', label: 'Merchant' },
    { key: 'amount', label: 'Amount (minor units)' },
    { key: 'currency', label: 'Currency' },
    { key: 'method', label: 'Method' },
    { key: 'status', label: 'Result' },
    { key: 'reason', label: 'Reason code' },
    { key: 'eci', label: 'ECI' },
    { key: 'rule', label: 'Rule' },
    { key: 'outcome', label: 'Outcome' },
  ],
  tables: ['acs_transactions'],
  // The ledger's created_at is epoch ms with an index on (created_at, acs_trans_id): a range scan.
  sql: (range, q) => ({
    sql: `SELECT created_at AS createdAt, acs_trans_id AS acsTransID, brand, channel, pan_masked AS card,
                 merchant_name AS merchant, amount, currency, method, coalesce(final_status, ares_status) AS status,
                 trans_status_reason AS reason, eci, rule_id AS rule, outcome
          FROM acs_transactions
          WHERE created_at >= @from AND created_at < @to
            AND (@status IS NULL OR coalesce(final_status, ares_status) = @status)
            AND (@channel IS NULL OR channel = @channel) AND (@brand IS NULL OR brand = @brand)
          ORDER BY created_at, acs_trans_id`,
    params: {
      from: range.fromMs,
      to: range.toMs,
      status: q.status ?? null,
      channel: q.channel ?? null,
      brand: q.brand ?? null,
    },
  }),
  present: (row) => ({ ...(row as Record<string, string | number | null>), createdAt: iso(row.createdAt) }),
}

const DAY_MS = 86_400_000
const NOON_MS = DAY_MS / 2
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)

const authenticationStatistics: ReportDefinition = {
  kind: 'authentication-statistics',
  title: 'Authentication Statistic',
  description:
    'Authentications per day and brand: frictionless, challenged, successful, failed, unavailable, incomplete, attempts, informational.',
  filters: [
    { name: 'brand', label: 'Brand', options: ['visa', 'mastercard', 'amex', 'jcb', 'discover', 'unionpay'] },
  ],
  columns: [
    { key: 'day', label: 'Day (UTC)' },
    { key: 'brand', label: 'Brand' },
    { key: 'total', label: 'Total' },
    { key: 'frictionless', label: 'Frictionless' },
    { key: 'challenged', label: 'Challenged' },
    { key: 'successful', label: 'Successful' },
    { key: 'failed', label: 'Failed' },
    { key: 'unavailable', label: 'Unavailable' },
    { key: 'incomplete', label: 'Incomplete' },
    { key: 'attempts', label: 'Attempts' },
    { key: 'informational', label: 'Informational' },
    { key: 'inProgress', label: 'In progress' },
  ],
  tables: ['acs_stats_daily'],
  // The daily table is kept per UTC day by the ledger (so no report scans the ledger). A period of local days
  // takes the UTC days whose noon falls in it: each UTC day then belongs to exactly one local day, so the
  // nightly files of consecutive days never count a day twice (taking every UTC day the period touches did:
  // east or west of UTC each file held two), and a local day east or west of UTC by less than 12 hours takes
  // the UTC day of the same date.
  sql: (range, q) => ({
    sql: `SELECT day, brand, sum(total) AS total, sum(frictionless) AS frictionless, sum(challenged) AS challenged,
                 sum(successful) AS successful, sum(failed) AS failed, sum(unavailable) AS unavailable,
                 sum(incomplete) AS incomplete, sum(attempts) AS attempts, sum(informational) AS informational,
                 sum(in_progress) AS inProgress
          FROM acs_stats_daily
          WHERE day >= @from AND day <= @to AND (@brand IS NULL OR brand = @brand)
          GROUP BY day, brand
          ORDER BY day, brand`,
    params: {
      from: utcDay(Math.ceil((range.fromMs - NOON_MS) / DAY_MS) * DAY_MS),
      to: utcDay(Math.floor((range.toMs - NOON_MS - 1) / DAY_MS) * DAY_MS),
      brand: q.brand ?? null,
    },
  }),
}

const fraud: ReportDefinition = {
  kind: 'fraud',
  title: 'Fraud',
  description:
    'FRAUD replies from cardholders: the incoming SMS the fraud handler took, and the authentication it referred to.',
  filters: [{ name: 'number', label: 'Sender number' }],
  columns: [
    { key: 'receivedAt', label: 'Received' },
    { key: 'from', label: 'From' },
    { key: 'text', label: 'Text (digits masked)' },
    { key: 'outcome', label: 'Outcome' },
    { key: 'ref', label: 'Reference (FRAUD …)' },
    { key: 'acsTransID', label: 'Authentication (acsTransID)' },
    { key: 'card', label: 'Card' },
    { key: 'merchant', label: 'Merchant' },
  ],
  tables: ['sms_inbox', 'fraud_alerts'],
  // The inbox row names the authentication; its alert has the reference the cardholder named, the masked
  // card and the merchant the alert told them about.
  sql: (range, q) => ({
    sql: `SELECT i.received_at AS receivedAt, i.from_number AS "from", i.text, i.outcome, a.ref,
                 i.ref AS acsTransID, a.pan_masked AS card, a.merchant_name AS merchant
          FROM sms_inbox i LEFT JOIN fraud_alerts a ON a.acs_trans_id = i.ref
          WHERE i.handled_by = 'fraud' AND i.received_at >= @from AND i.received_at < @to
            AND (@number IS NULL OR i.from_number = @number)
          ORDER BY i.id`,
    params: { from: range.fromMs, to: range.toMs, number: q.number ?? null },
  }),
  present: (row) => ({
    ...(row as Record<string, string | number | null>),
    receivedAt: iso(row.receivedAt),
    text: maskDigitRuns(String(row.text ?? '')),
  }),
}

export const REPORTS: readonly ReportDefinition[] = [
  registrationAttempts,
  incomingVerification,
  authenticationAttempts,
  authenticationStatistics,
  fraud,
]
