import { z } from 'zod'
import { HttpProblem } from '../../http/problem'
import type { ReadPool } from '../../store/read-pool'
import { dayOf } from './ledger'

/** Console reads over the ledger, run on the read pool so they never hold up the AReq path. */
export const TransactionFilter = z.object({
  from: z.iso.date().optional(),
  to: z.iso.date().optional(),
  brand: z.string().max(20).optional(),
  status: z.enum(['Y', 'N', 'U', 'A', 'C', 'D', 'R', 'I']).optional(),
  channel: z.enum(['browser', 'app', '3ri']).optional(),
  method: z.string().max(40).optional(),
  merchant: z.string().max(40).optional(),
  issuerId: z.coerce.number().int().positive().optional(),
  currency: z
    .string()
    .regex(/^\d{3}$/)
    .optional(),
  amountMin: z.coerce.number().int().nonnegative().optional(),
  amountMax: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** Opaque keyset cursor from the previous page's `next`. */
  cursor: z.string().max(200).optional(),
})
export type TransactionFilter = z.infer<typeof TransactionFilter>

export const TransactionView = z.object({
  acsTransID: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().optional(),
  status: z.string(),
  aresStatus: z.string(),
  transStatusReason: z.string().optional(),
  challengeCancel: z.string().optional(),
  interactionCounter: z.number().optional(),
  brand: z.string(),
  issuerId: z.number(),
  channel: z.string(),
  messageVersion: z.string(),
  method: z.string().optional(),
  panMasked: z.string(),
  merchantName: z.string().optional(),
  acquirerMerchantID: z.string().optional(),
  mcc: z.string().optional(),
  amount: z.number().optional(),
  currency: z.string().optional(),
  exponent: z.number().optional(),
  eci: z.string().optional(),
  ruleSetId: z.string().optional(),
  ruleSetVersion: z.number().optional(),
  ruleId: z.string(),
  decisionReason: z.string(),
  outcome: z.string(),
  threeDSServerTransID: z.string(),
  dsTransID: z.string(),
  /** The certificate the directory server presented, when the AReq came over the mutual-TLS listener. */
  dsCertificate: z.object({ subject: z.string(), sha256: z.string() }).optional(),
})
export type TransactionView = z.infer<typeof TransactionView>

type Row = Record<string, string | number | null>

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v)
const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString())

function toView(r: Row): TransactionView {
  return {
    acsTransID: r.acs_trans_id as string,
    createdAt: iso(r.created_at as number)!,
    finishedAt: iso(r.finished_at as number | null),
    status: (r.final_status ?? r.ares_status) as string,
    aresStatus: r.ares_status as string,
    transStatusReason: opt(r.trans_status_reason as string | null),
    challengeCancel: opt(r.challenge_cancel as string | null),
    interactionCounter: opt(r.interaction_counter as number | null),
    brand: r.brand as string,
    issuerId: r.issuer_id as number,
    channel: r.channel as string,
    messageVersion: r.message_version as string,
    method: opt(r.method as string | null),
    panMasked: r.pan_masked as string,
    merchantName: opt(r.merchant_name as string | null),
    acquirerMerchantID: opt(r.acquirer_merchant_id as string | null),
    mcc: opt(r.mcc as string | null),
    amount: opt(r.amount as number | null),
    currency: opt(r.currency as string | null),
    exponent: opt(r.exponent as number | null),
    eci: opt(r.eci as string | null),
    ruleSetId: opt(r.rule_set_id as string | null),
    ruleSetVersion: opt(r.rule_set_version as number | null),
    ruleId: r.rule_id as string,
    decisionReason: r.decision_reason as string,
    outcome: r.outcome as string,
    threeDSServerTransID: r.threeds_server_trans_id as string,
    dsTransID: r.ds_trans_id as string,
    dsCertificate:
      r.ds_cert_sha256 === null
        ? undefined
        : { subject: r.ds_cert_subject as string, sha256: r.ds_cert_sha256 as string },
  }
}

const COLUMNS = `acs_trans_id, created_at, finished_at, final_status, ares_status, trans_status_reason, challenge_cancel,
  interaction_counter, brand, issuer_id, channel, message_version, method, pan_masked, merchant_name, acquirer_merchant_id,
  mcc, amount, currency, exponent, eci, rule_set_id, rule_set_version, rule_id, decision_reason, outcome,
  threeds_server_trans_id, ds_trans_id, ds_cert_subject, ds_cert_sha256`

function decodeCursor(cursor: string): { at: number; id: string } {
  const m = /^(\d+)\.([0-9a-f-]{36})$/i.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (!m) throw new HttpProblem(400, 'Bad request', 'The cursor is not one this server issued')
  return { at: Number(m[1]), id: m[2] }
}

export async function listTransactions(
  reads: ReadPool,
  f: TransactionFilter,
): Promise<{ items: TransactionView[]; next?: string }> {
  const where: string[] = []
  const params: unknown[] = []
  const add = (sql: string, ...values: unknown[]) => {
    where.push(sql)
    params.push(...values)
  }
  if (f.from) add('created_at >= ?', Date.parse(`${f.from}T00:00:00Z`))
  if (f.to) add('created_at < ?', Date.parse(`${f.to}T00:00:00Z`) + 86_400_000)
  if (f.brand) add('brand = ?', f.brand)
  if (f.status) add('coalesce(final_status, ares_status) = ?', f.status)
  if (f.channel) add('channel = ?', f.channel)
  if (f.method) add('method = ?', f.method)
  if (f.merchant)
    add(
      `(merchant_name LIKE ? ESCAPE '\\' OR acquirer_merchant_id = ?)`,
      `%${f.merchant.replace(/[%_\\]/g, '\\$&')}%`,
      f.merchant,
    )
  if (f.issuerId) add('issuer_id = ?', f.issuerId)
  if (f.currency) add('currency = ?', f.currency)
  if (f.amountMin !== undefined) add('amount >= ?', f.amountMin)
  if (f.amountMax !== undefined) add('amount <= ?', f.amountMax)
  if (f.cursor) {
    const c = decodeCursor(f.cursor)
    add('(created_at < ? OR (created_at = ? AND acs_trans_id < ?))', c.at, c.at, c.id)
  }
  const sql = `SELECT ${COLUMNS} FROM acs_transactions ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY created_at DESC, acs_trans_id DESC LIMIT ?`
  const rows = await reads.all<Row>(sql, [...params, f.limit + 1])
  const items = rows.slice(0, f.limit).map(toView)
  const last = rows.length > f.limit ? rows[f.limit - 1] : undefined
  return {
    items,
    ...(last ? { next: Buffer.from(`${last.created_at}.${last.acs_trans_id}`).toString('base64url') } : {}),
  }
}

export const TraceMessage = z.object({
  messageType: z.string(),
  direction: z.enum(['in', 'out']),
  at: z.string(),
  body: z.unknown(),
})

export async function transactionTrace(reads: ReadPool, acsTransID: string) {
  const [row] = await reads.all<Row>(`SELECT ${COLUMNS} FROM acs_transactions WHERE acs_trans_id = ?`, [
    acsTransID,
  ])
  if (!row) throw new HttpProblem(404, 'Not found', 'No transaction with this acsTransID')
  const messages = await reads.all<{
    message_type: string
    direction: 'in' | 'out'
    body: string
    created_at: number
  }>(
    'SELECT message_type, direction, body, created_at FROM acs_messages WHERE acs_trans_id = ? ORDER BY id',
    [acsTransID],
  )
  const [rreq] = await reads.all<Row>(
    'SELECT status, attempts, last_error, results_status, delivered_at FROM acs_rreq_outbox WHERE acs_trans_id = ?',
    [acsTransID],
  )
  return {
    transaction: toView(row),
    messages: messages.map((m) => ({
      messageType: m.message_type,
      direction: m.direction,
      at: new Date(m.created_at).toISOString(),
      body: JSON.parse(m.body) as unknown,
    })),
    ...(rreq
      ? {
          rreq: {
            status: rreq.status as string,
            attempts: rreq.attempts as number,
            lastError: opt(rreq.last_error as string | null),
            resultsStatus: opt(rreq.results_status as string | null),
            deliveredAt: iso(rreq.delivered_at as number | null),
          },
        }
      : {}),
  }
}

export const BrandStatistics = z.object({
  brand: z.string(),
  total: z.number(),
  frictionless: z.number(),
  challenged: z.number(),
  successful: z.number(),
  failed: z.number(),
  unavailable: z.number(),
  incomplete: z.number(),
  attempts: z.number(),
  /** Final I (2.2.0, informational only): the requestor's no-challenge preference acknowledged. */
  informational: z.number(),
  inProgress: z.number(),
})
export const Statistics = z.object({
  today: z.array(BrandStatistics),
  last7Days: z.array(BrandStatistics),
  last30Days: z.array(BrandStatistics),
})

/** Today, 7 and 30 days per brand, from the daily table (at most 30 × brands × issuers rows). */
export async function statistics(reads: ReadPool, issuerId?: number, now = Date.now()) {
  const since = dayOf(now - 29 * 86_400_000)
  const rows = await reads.all<Record<string, string | number>>(
    `SELECT day, brand, total, frictionless, challenged, successful, failed, unavailable, incomplete, attempts,
       informational, in_progress
     FROM acs_stats_daily WHERE day >= ? AND (? IS NULL OR issuer_id = ?)`,
    [since, issuerId ?? null, issuerId ?? null],
  )
  const sum = (fromDay: string) => {
    const byBrand = new Map<string, z.infer<typeof BrandStatistics>>()
    for (const r of rows) {
      if ((r.day as string) < fromDay) continue
      const s = byBrand.get(r.brand as string) ?? {
        brand: r.brand as string,
        total: 0,
        frictionless: 0,
        challenged: 0,
        successful: 0,
        failed: 0,
        unavailable: 0,
        incomplete: 0,
        attempts: 0,
        informational: 0,
        inProgress: 0,
      }
      for (const k of [
        'total',
        'frictionless',
        'challenged',
        'successful',
        'failed',
        'unavailable',
        'incomplete',
        'attempts',
        'informational',
      ] as const)
        s[k] += r[k] as number
      s.inProgress += r.in_progress as number
      byBrand.set(s.brand, s)
    }
    return [...byBrand.values()].sort((a, b) => a.brand.localeCompare(b.brand))
  }
  return { today: sum(dayOf(now)), last7Days: sum(dayOf(now - 6 * 86_400_000)), last30Days: sum(since) }
}
