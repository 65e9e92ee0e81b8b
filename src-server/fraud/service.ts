import { randomInt } from 'node:crypto'
import type { Alarms } from '../acs/alarms'
import type { AuthenticationEvent } from '../acs/service/authentication-events'
import type { AuditLog } from '../audit/audit-log'
import { newReference, parseKeywordReply } from '../auth-methods/reply'
import { purchaseValues } from '../auth-methods/message'
import type { Vault } from '../crypto/vault'
import type { CardholderRepository } from '../enrolment/repository'
import type { Status } from '../enrolment/model'
import { HttpProblem } from '../http/problem'
import type { Logger } from '../log'
import type { IncomingHandler } from '../sms/service'
import type { SmsService } from '../sms/service'
import type { Db } from '../store/db'
import type { TemplateStore } from '../templates/store'
import { FraudSettingsStore } from './settings'
import { DEFAULT_WEBHOOK_OPTIONS, WebhookOutbox, type WebhookOptions } from './webhook'

export type ReportStatus = 'open' | 'confirmed' | 'released' | 'closed'

export interface FraudReport {
  id: number
  status: ReportStatus
  issuerId: number
  cardId: number
  panMasked: string
  cardStatus: Status
  reference: string
  acsTransID: string
  merchantName?: string
  amount?: string
  authenticatedAt: string
  receivedAt: string
  suspendedAt: string
  updatedAt: string
  updatedBy?: string
  note?: string
}

interface AlertRow {
  id: number
  ref: string
  mobile: string
  issuer_id: number
  card_id: number
  cardholder_id: number
  acs_trans_id: string
  pan_masked: string
  merchant_name: string | null
  amount_text: string | null
  trans_status: string
  created_at: number
}

/** Which fraud-team action moves a report from which statuses, and what it does to the card. */
const ACTIONS = {
  confirm: { from: ['open'], to: 'confirmed' },
  release: { from: ['open', 'confirmed'], to: 'released' },
  close: { from: ['open', 'confirmed', 'released'], to: 'closed' },
} as const satisfies Record<string, { from: readonly ReportStatus[]; to: ReportStatus }>
export type ReportAction = keyof typeof ACTIONS

const FRAUD_WORDS = ['FRAUD', 'FRAUDE']
const ALERT_REF_LENGTH = 6
const SUSPENSION_REASON = 'fraud reported by the cardholder (FRAUD SMS reply)'

export interface FraudDeps {
  db: Db
  vault: Vault
  audit: AuditLog
  log: Logger
  sms: SmsService
  cardholders: CardholderRepository
  templates: TemplateStore
  alarms: Alarms
  webhook?: Partial<WebhookOptions>
}

/**
 * Real-time fraud notification. Every authentication the issuer's policy covers sends the cardholder an
 * SMS (merchant, amount, last four digits, a short reference) after the codes in the queue. A reply
 * `FRAUD <ref>` from the number the alert went to suspends that card in the same database transaction
 * that records the report and queues the issuer webhook, so the next AReq for it is refused (R/11). The
 * fraud team then confirms, releases (card reactivated) or closes each report; everything is audited.
 */
export class FraudService {
  readonly settings: FraudSettingsStore
  readonly webhooks: WebhookOutbox
  private readonly alertByRef
  private readonly insertAlert

  constructor(private readonly d: FraudDeps) {
    this.settings = new FraudSettingsStore(d.db, d.vault, d.audit)
    d.vault.registerSealedColumn({
      table: 'fraud_settings',
      column: 'webhook_secret_sealed',
      purpose: 'secret-enc',
      aadColumn: "'fraud-webhook:' || issuer_id",
    })
    this.webhooks = new WebhookOutbox(d.db, (id) => this.settings.secret(id), d.alarms, d.log, {
      ...DEFAULT_WEBHOOK_OPTIONS,
      ...d.webhook,
    })
    this.alertByRef = d.db.prepare('SELECT * FROM fraud_alerts WHERE mobile = ? AND ref = ?')
    this.insertAlert = d.db.prepare(
      `INSERT INTO fraud_alerts (ref, mobile, issuer_id, card_id, cardholder_id, acs_trans_id, pan_masked, merchant_name,
         amount_text, trans_status, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (mobile, ref) DO NOTHING`,
    )
  }

  private covered(a: AuthenticationEvent): boolean {
    const s = this.settings.get(a.issuerId)
    switch (s.notify) {
      case 'off':
        return false
      case 'all':
        return true
      case 'challenged':
        return a.challenged
      case 'above-amount': {
        if (a.purchaseAmount === undefined) return false
        if (s.currency && a.purchaseCurrency !== s.currency) return false
        return Number(a.purchaseAmount) / 10 ** Number(a.purchaseExponent ?? 0) >= s.minAmount
      }
    }
  }

  /** Records the alert of an authentication under a fresh reference; returns the reference. */
  private recordAlert(a: AuthenticationEvent & { mobile: string }, now: number): string {
    // The reference is unique per number; a collision (rare at 28^6) just draws again.
    for (let i = 0; i < 5; i++) {
      const candidate = newReference(ALERT_REF_LENGTH, randomInt)
      const info = this.insertAlert.run(
        candidate,
        a.mobile,
        a.issuerId,
        a.cardId,
        a.cardholderId ??
          (this.d.db.prepare('SELECT cardholder_id FROM cards WHERE id = ?').pluck().get(a.cardId) as number),
        a.acsTransID,
        a.panMasked,
        a.merchantName ?? null,
        a.amountText ?? null,
        a.transStatus,
        now,
      )
      if (info.changes) return candidate
    }
    throw new Error('could not draw a unique fraud alert reference')
  }

  /** The authentication observer: texts the cardholder about it when the issuer's policy says so. */
  readonly onAuthenticated = (a: AuthenticationEvent): void => {
    if (!a.mobile || a.cardStatus !== 'active' || !this.covered(a)) return
    const ref = this.recordAlert({ ...a, mobile: a.mobile }, Date.now())
    this.d.sms.enqueue({
      to: a.mobile,
      text: this.d.templates.render(a.issuerId, 'fraud-alert', a.language, {
        ...purchaseValues(a),
        ref,
      }),
      kind: 'fraud-alert',
      priority: 1,
      idempotencyKey: `fraud-alert:${a.acsTransID}`,
      ref: a.acsTransID,
    })
  }

  /**
   * Incoming SMS: `FRAUD <ref>` from the number the alert went to. The card is suspended before this
   * returns. Unknown references stay unmatched in the inbox, old ones are recorded as expired.
   */
  readonly onSmsReply: IncomingHandler = (sms) => {
    const parsed = FRAUD_WORDS.map((w) => parseKeywordReply(w, sms.text)).find(Boolean)
    if (!parsed?.reference) return undefined
    const alert = this.alertByRef.get(sms.from, parsed.reference) as AlertRow | undefined
    if (!alert) return undefined
    const window = this.settings.get(alert.issuer_id).replyWindowDays * 86_400_000
    // The inbox row names the authentication the reply is about, as every handler's does (its alert keeps the
    // short reference): the transaction's detail then shows the reply.
    if (sms.receivedAt - alert.created_at > window) return { outcome: 'expired', ref: alert.acs_trans_id }
    this.report(alert, sms.id, sms.receivedAt)
    return { outcome: 'matched', ref: alert.acs_trans_id }
  }

  /**
   * The cardholder disowns an authentication in another channel (the mobile authenticator's "this wasn't
   * me"): the same report, suspension and webhook as a FRAUD reply, on that authentication's alert (recorded
   * now, without an SMS, when the policy sent none). Runs inside the caller's transaction.
   */
  reportDisowned(a: AuthenticationEvent & { mobile: string }, reason: string, now = Date.now()): void {
    const byTrans = this.d.db.prepare('SELECT * FROM fraud_alerts WHERE acs_trans_id = ?')
    if (!byTrans.get(a.acsTransID)) this.recordAlert(a, now)
    this.report(byTrans.get(a.acsTransID) as AlertRow, null, now, reason)
  }

  private report(
    alert: AlertRow,
    inboxId: number | null,
    receivedAt: number,
    reason = SUSPENSION_REASON,
  ): void {
    const now = Date.now()
    const actor = `cardholder:${alert.cardholder_id}`
    this.d.db.transaction(() => {
      const existing = this.d.db
        .prepare('SELECT id, status FROM fraud_reports WHERE alert_id = ?')
        .get(alert.id) as { id: number; status: ReportStatus } | undefined
      // A repeated FRAUD reply to an open report changes nothing; after a release it reopens the case.
      if (existing && (existing.status === 'open' || existing.status === 'confirmed')) return
      const cardStatus = this.cardStatus(alert.card_id)
      // Only an active card is suspended: a blocked or closed one stays as the issuer left it.
      if (cardStatus === 'active') this.d.cardholders.setCardStatus(alert.card_id, 'suspended', reason, actor)
      let id: number
      if (existing) {
        this.d.db
          .prepare(
            `UPDATE fraud_reports SET status = 'open', inbox_id = ?, card_status_before = ?, received_at = ?, suspended_at = ?,
               updated_at = ?, updated_by = ?, note = NULL WHERE id = ?`,
          )
          .run(inboxId, cardStatus, receivedAt, now, now, actor, existing.id)
        id = existing.id
      } else {
        id = Number(
          this.d.db
            .prepare(
              `INSERT INTO fraud_reports (alert_id, issuer_id, card_id, inbox_id, status, card_status_before, received_at,
                 suspended_at, updated_at, updated_by)
               VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)`,
            )
            .run(alert.id, alert.issuer_id, alert.card_id, inboxId, cardStatus, receivedAt, now, now, actor)
            .lastInsertRowid,
        )
      }
      this.d.audit.record({
        actor,
        action: 'fraud.report',
        target: `card:${alert.pan_masked}`,
        details: { report: id, reference: alert.ref, acsTransID: alert.acs_trans_id },
      })
      this.event(alert.issuer_id, 'fraud-report.opened', id)
    })()
  }

  private cardStatus(cardId: number): Status {
    return this.d.db.prepare('SELECT status FROM cards WHERE id = ?').pluck().get(cardId) as Status
  }

  /** Queues a webhook event with the report as it is now (only when the issuer configured a URL). */
  private event(issuerId: number, type: string, reportId: number): void {
    const url = this.settings.get(issuerId).webhookUrl
    if (!url) return
    const r = this.get(reportId)
    this.webhooks.enqueue(url, {
      type,
      issuerId,
      data: {
        report: {
          id: r.id,
          status: r.status,
          reference: r.reference,
          receivedAt: r.receivedAt,
          suspendedAt: r.suspendedAt,
          updatedAt: r.updatedAt,
          ...(r.note ? { note: r.note } : {}),
        },
        card: { id: r.cardId, panMasked: r.panMasked, status: r.cardStatus },
        authentication: {
          acsTransID: r.acsTransID,
          at: r.authenticatedAt,
          ...(r.merchantName ? { merchantName: r.merchantName } : {}),
          ...(r.amount ? { amount: r.amount } : {}),
        },
      },
    })
  }

  /** The fraud team's decision on a report; release reactivates the card. Audited, and sent to the webhook. */
  act(id: number, action: ReportAction, note: string | undefined, actor: string): FraudReport {
    const rule = ACTIONS[action]
    this.d.db.transaction(() => {
      const r = this.get(id)
      if (!(rule.from as readonly string[]).includes(r.status))
        throw new HttpProblem(409, 'Not possible now', `A ${r.status} report cannot be ${rule.to}`)
      if (action === 'release' && r.cardStatus === 'suspended' && this.releasable(r.cardId, id))
        this.d.cardholders.setCardStatus(
          r.cardId,
          'active',
          `fraud report ${id} released${note ? `: ${note}` : ''}`,
          actor,
        )
      this.d.db
        .prepare(
          'UPDATE fraud_reports SET status = ?, updated_at = ?, updated_by = ?, note = coalesce(?, note) WHERE id = ?',
        )
        .run(rule.to, Date.now(), actor, note ?? null, id)
      this.d.audit.record({
        actor,
        action: `fraud.report.${action}`,
        target: `card:${r.panMasked}`,
        details: { report: id, from: r.status, to: rule.to, ...(note ? { note } : {}) },
      })
      this.event(r.issuerId, `fraud-report.${rule.to}`, id)
    })()
    return this.get(id)
  }

  /**
   * Whether releasing report `id` gives the card back: only when a FRAUD reply suspended it (a report found
   * it active) and no other report on it still holds it (open or confirmed). A card an operator had
   * suspended before the reply stays as they left it.
   */
  private releasable(cardId: number, id: number): boolean {
    const holds = this.d.db
      .prepare(
        `SELECT count(*) FILTER (WHERE id != ? AND status IN ('open', 'confirmed')) AS holding,
                count(*) FILTER (WHERE card_status_before = 'active') AS suspendedByReport
         FROM fraud_reports WHERE card_id = ?`,
      )
      .get(id, cardId) as { holding: number; suspendedByReport: number }
    return holds.holding === 0 && holds.suspendedByReport > 0
  }

  get(id: number): FraudReport {
    const r = this.list({ id, limit: 1 })[0]
    if (!r) throw new HttpProblem(404, 'Not found', `No fraud report ${id}`)
    return r
  }

  list(filter: { status?: ReportStatus; id?: number; before?: number; limit: number }): FraudReport[] {
    const rows = this.d.db
      .prepare(
        `SELECT r.*, a.ref, a.acs_trans_id, a.pan_masked, a.merchant_name, a.amount_text, a.created_at AS authenticated_at,
                c.status AS card_status
         FROM fraud_reports r JOIN fraud_alerts a ON a.id = r.alert_id JOIN cards c ON c.id = r.card_id
         WHERE (? IS NULL OR r.status = ?) AND (? IS NULL OR r.id = ?) AND r.id < ?
         ORDER BY r.id DESC LIMIT ?`,
      )
      .all(
        filter.status ?? null,
        filter.status ?? null,
        filter.id ?? null,
        filter.id ?? null,
        filter.before ?? Number.MAX_SAFE_INTEGER,
        filter.limit,
      ) as (Record<string, unknown> & { id: number })[]
    const iso = (ms: unknown) => new Date(ms as number).toISOString()
    return rows.map((r) => ({
      id: r.id,
      status: r.status as ReportStatus,
      issuerId: r.issuer_id as number,
      cardId: r.card_id as number,
      panMasked: r.pan_masked as string,
      cardStatus: r.card_status as Status,
      reference: r.ref as string,
      acsTransID: r.acs_trans_id as string,
      merchantName: (r.merchant_name as string | null) ?? undefined,
      amount: (r.amount_text as string | null) ?? undefined,
      authenticatedAt: iso(r.authenticated_at),
      receivedAt: iso(r.received_at),
      suspendedAt: iso(r.suspended_at),
      updatedAt: iso(r.updated_at),
      updatedBy: (r.updated_by as string | null) ?? undefined,
      note: (r.note as string | null) ?? undefined,
    }))
  }

  start(): void {
    this.webhooks.start()
  }

  stop(): Promise<void> {
    return this.webhooks.stop()
  }
}
