import { maskPan } from '../../crypto/mask'
import type { Db } from '../../store/db'

/**
 * The authentication ledger: one row per transaction, every message in and out (PAN masked), and the
 * daily statistics kept incrementally in the same database transaction as each result, so no dashboard
 * ever scans the ledger.
 */
export type Channel = 'browser' | 'app' | '3ri'
export type MessageType = 'AReq' | 'ARes' | 'CReq' | 'CRes' | 'RReq' | 'RRes' | 'Erro'

/** How a transaction counts in the statistics. */
export type OutcomeClass =
  'successful' | 'failed' | 'unavailable' | 'attempts' | 'informational' | 'incomplete' | 'in-progress'

export interface NewTransaction {
  acsTransID: string
  createdAt: number
  messageVersion: string
  messageCategory: string
  channel: Channel
  brand: string
  issuerId: number
  rangeId?: number
  cardId?: number
  cardKey: Buffer
  panMasked: string
  threeDSServerTransID: string
  dsTransID: string
  sdkTransID?: string
  dsURL: string
  merchantName?: string
  acquirerMerchantID?: string
  mcc?: string
  amount?: number
  currency?: string
  exponent?: number
  aresStatus: string
  transStatusReason?: string
  eci?: string
  method?: string
  ruleSetId?: string
  ruleSetVersion?: number
  ruleId: string
  decisionReason: string
  /** The directory server's TLS client certificate, for an AReq that came over the mutual-TLS listener. */
  dsCertificate?: { subject: string; sha256: string }
}

export interface FinalResult {
  acsTransID: string
  finalStatus: string
  transStatusReason?: string
  challengeCancel?: string
  interactionCounter?: number
  eci?: string
}

/** Challenge endings that count as abandoned (incomplete) rather than as a result. */
const ABANDONED = new Set(['01', '03', '04', '05', '08'])

export function outcomeOf(status: string, challengeCancel?: string): OutcomeClass {
  if (challengeCancel && ABANDONED.has(challengeCancel)) return 'incomplete'
  switch (status) {
    case 'Y':
      return 'successful'
    case 'N':
    case 'R':
      return 'failed'
    case 'A':
      return 'attempts'
    // 2.2.0's "informational only" (the requestor asked for no challenge, 06, where the rules would challenge):
    // no authentication took place, yet nothing was unavailable either. Counted apart, like attempts.
    case 'I':
      return 'informational'
    case 'C':
    case 'D':
      return 'in-progress'
    default:
      return 'unavailable'
  }
}

const STAT_COLUMN: Record<OutcomeClass, keyof StatsDelta> = {
  successful: 'successful',
  failed: 'failed',
  unavailable: 'unavailable',
  attempts: 'attempts',
  informational: 'informational',
  incomplete: 'incomplete',
  'in-progress': 'in_progress',
}

const DAY_MS = 86_400_000
/** The UTC day last asked for, and its start: every AReq of a day asks for the same one. */
let lastDay = { start: 0, day: '1970-01-01' }

/** Increments of one acs_stats_daily row (columns by name). */
type StatsDelta = Partial<
  Record<
    | 'total'
    | 'frictionless'
    | 'challenged'
    | 'successful'
    | 'failed'
    | 'unavailable'
    | 'incomplete'
    | 'attempts'
    | 'informational'
    | 'in_progress',
    number
  >
>

export function dayOf(ms: number): string {
  const start = ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS)
  if (start !== lastDay.start) lastDay = { start, day: new Date(start).toISOString().slice(0, 10) }
  return lastDay.day
}

/**
 * A message received as `raw` and parsed to `message`, fit for storage: as received, with every occurrence of
 * its PAN masked (cheaper than serialising the parsed copy again, and the trace shows what came in). A text
 * with \u escapes may spell digits that way, so that one is stored as the masked parsed copy.
 */
export function maskedReceived(raw: string, message: { acctNumber?: unknown }): string {
  const pan = message.acctNumber
  if (typeof pan !== 'string' || pan.length < 12 || raw.includes('\\u')) return maskedMessage(message)
  return raw.split(pan).join(maskPan(pan))
}

/** A copy of a message fit for storage: the PAN replaced by its mask. */
export function maskedMessage(message: object): string {
  const m = message as Record<string, unknown>
  if (typeof m.acctNumber === 'string') return JSON.stringify({ ...m, acctNumber: maskPan(m.acctNumber) })
  return JSON.stringify(m)
}

export class Ledger {
  private readonly insertMessage
  private readonly insertTx
  private readonly finishTx
  private readonly bumpStats
  private readonly bumpMethodMix
  private readonly countSince
  private readonly amountSince
  private readonly txHeader

  constructor(private readonly db: Db) {
    this.insertMessage = db.prepare(
      `INSERT INTO acs_messages (acs_trans_id, threeds_server_trans_id, message_type, direction, body, created_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    )
    this.insertTx = db.prepare(
      `INSERT INTO acs_transactions (acs_trans_id, created_at, day, updated_at, message_version, message_category, channel,
         brand, issuer_id, range_id, card_id, card_key, pan_masked, threeds_server_trans_id, ds_trans_id, sdk_trans_id, ds_url,
         merchant_name, acquirer_merchant_id, mcc, amount, currency, exponent, ares_status, final_status, trans_status_reason,
         eci, method, rule_set_id, rule_set_version, rule_id, decision_reason, outcome, finished_at, ds_cert_subject,
         ds_cert_sha256)
       VALUES (${'?, '.repeat(35)}?)`,
    )
    this.finishTx = db.prepare(
      `UPDATE acs_transactions SET final_status = ?, trans_status_reason = ?, challenge_cancel = ?, interaction_counter = ?,
         eci = coalesce(?, eci), outcome = ?, updated_at = ?, finished_at = ?
       WHERE acs_trans_id = ? AND finished_at IS NULL RETURNING day, brand, issuer_id`,
    )
    this.bumpStats = db.prepare(
      `INSERT INTO acs_stats_daily (day, brand, issuer_id, total, frictionless, challenged, successful, failed, unavailable,
         incomplete, attempts, informational, in_progress)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (day, brand, issuer_id) DO UPDATE SET total = total + excluded.total,
         frictionless = frictionless + excluded.frictionless, challenged = challenged + excluded.challenged,
         successful = successful + excluded.successful, failed = failed + excluded.failed,
         unavailable = unavailable + excluded.unavailable, incomplete = incomplete + excluded.incomplete,
         attempts = attempts + excluded.attempts, informational = informational + excluded.informational,
         in_progress = in_progress + excluded.in_progress`,
    )
    this.bumpMethodMix = db.prepare(
      `INSERT INTO acs_method_daily (day, brand, issuer_id, method, total) VALUES (?, ?, ?, ?, 1)
       ON CONFLICT (day, brand, issuer_id, method) DO UPDATE SET total = total + 1`,
    )
    this.countSince = db
      .prepare('SELECT count(*) FROM acs_transactions WHERE card_key = ? AND created_at >= ?')
      .pluck()
    this.amountSince = db
      .prepare(
        'SELECT coalesce(sum(amount), 0) FROM acs_transactions WHERE card_key = ? AND created_at >= ? AND currency = ?',
      )
      .pluck()
    this.txHeader = db.prepare('SELECT * FROM acs_transactions WHERE acs_trans_id = ?')
  }

  message(
    ids: { acsTransID?: string; threeDSServerTransID?: string },
    type: MessageType,
    direction: 'in' | 'out',
    body: object | string,
    at = Date.now(),
  ): void {
    this.insertMessage.run(
      ids.acsTransID ?? null,
      ids.threeDSServerTransID ?? null,
      type,
      direction,
      typeof body === 'string' ? body : maskedMessage(body),
      at,
    )
  }

  // Positional parameters here and in open(): binding by name cost twice as much (measured), on every AReq.
  private stats(day: string, brand: string, issuerId: number, delta: StatsDelta): void {
    this.bumpStats.run(
      day,
      brand,
      issuerId,
      delta.total ?? 0,
      delta.frictionless ?? 0,
      delta.challenged ?? 0,
      delta.successful ?? 0,
      delta.failed ?? 0,
      delta.unavailable ?? 0,
      delta.incomplete ?? 0,
      delta.attempts ?? 0,
      delta.informational ?? 0,
      delta.in_progress ?? 0,
    )
  }

  /** Records a new transaction and its first statistics; call inside the AReq's database transaction. */
  open(tx: NewTransaction): void {
    const outcome = outcomeOf(tx.aresStatus)
    const challenged = tx.aresStatus === 'C' || tx.aresStatus === 'D'
    const day = dayOf(tx.createdAt)
    this.insertTx.run(
      tx.acsTransID,
      tx.createdAt,
      day,
      tx.createdAt, // updated_at
      tx.messageVersion,
      tx.messageCategory,
      tx.channel,
      tx.brand,
      tx.issuerId,
      tx.rangeId ?? null,
      tx.cardId ?? null,
      tx.cardKey,
      tx.panMasked,
      tx.threeDSServerTransID,
      tx.dsTransID,
      tx.sdkTransID ?? null,
      tx.dsURL,
      tx.merchantName ?? null,
      tx.acquirerMerchantID ?? null,
      tx.mcc ?? null,
      tx.amount ?? null,
      tx.currency ?? null,
      tx.exponent ?? null,
      tx.aresStatus,
      challenged ? null : tx.aresStatus, // final_status
      tx.transStatusReason ?? null,
      tx.eci ?? null,
      tx.method ?? null,
      tx.ruleSetId ?? null,
      tx.ruleSetVersion ?? null,
      tx.ruleId,
      tx.decisionReason,
      outcome,
      challenged ? null : tx.createdAt, // finished_at
      tx.dsCertificate?.subject ?? null,
      tx.dsCertificate?.sha256 ?? null,
    )
    this.stats(day, tx.brand, tx.issuerId, {
      total: 1,
      [challenged ? 'challenged' : 'frictionless']: 1,
      [STAT_COLUMN[outcome]]: 1,
    })
    // The dashboard's method mix (migration 0800), counted with the statistics so it never scans the ledger;
    // 'none' = no challenge asked, as the migration's backfill counts the rows before it.
    this.bumpMethodMix.run(day, tx.brand, tx.issuerId, tx.method ?? 'none')
  }

  /** Counts an AReq answered with an Erro (unavailable) when its brand and issuer are known. */
  erro(brand: string, issuerId: number, at = Date.now()): void {
    this.stats(dayOf(at), brand, issuerId, { total: 1, unavailable: 1 })
  }

  /**
   * Records the end of a challenge. Returns false when it had already ended: the caller's transaction must
   * then not send a second RReq.
   */
  finish(result: FinalResult, at = Date.now()): boolean {
    const outcome = outcomeOf(result.finalStatus, result.challengeCancel)
    const row = this.finishTx.get(
      result.finalStatus,
      result.transStatusReason ?? null,
      result.challengeCancel ?? null,
      result.interactionCounter ?? null,
      result.eci ?? null,
      outcome,
      at,
      at,
      result.acsTransID,
    ) as { day: string; brand: string; issuer_id: number } | undefined
    if (!row) return false
    this.stats(row.day, row.brand, row.issuer_id, { in_progress: -1, [STAT_COLUMN[outcome]]: 1 })
    return true
  }

  countInWindow(cardKey: Buffer, windowMinutes: number, now = Date.now()): number {
    return this.countSince.get(cardKey, now - windowMinutes * 60_000) as number
  }

  amountInWindow(cardKey: Buffer, windowMinutes: number, currency: string, now = Date.now()): number {
    return this.amountSince.get(cardKey, now - windowMinutes * 60_000, currency) as number
  }

  header(acsTransID: string): Record<string, unknown> | undefined {
    return this.txHeader.get(acsTransID) as Record<string, unknown> | undefined
  }
}
