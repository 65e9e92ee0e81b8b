import { randomBytes } from 'node:crypto'
import type { AcsRuntime } from '../acs/runtime'
import type { Challenge } from '../acs/service/challenge-store'
import type { Ending } from '../acs/service/challenge-flow'
import type { ChallengeMode, ChallengeSubject } from '../auth-methods/method'
import type { AuditLog } from '../audit/audit-log'
import { HttpProblem } from '../http/problem'
import type { Logger } from '../log'
import type { SmsService } from '../sms/service'
import type { Db } from '../store/db'
import { approvalRecord, type Decision } from './canonical'
import type { DeviceHub } from './hub'
import type { DeviceRegistry } from './devices'
import type { ApprovalView, MethodStatistics } from './model'
import type { PoiTokens } from './poi'
import type { MobileSettingsStore } from './settings'
import { verifyRecord } from './signature'

export type ApprovalStatus = 'pending' | 'approved' | 'declined' | 'fraud'

interface ApprovalRow {
  id: string
  acs_trans_id: string
  mode: ChallengeMode
  nonce: string
  poi_id: string
  presence: 'tap' | 'scan'
  status: ApprovalStatus
  device_id: string | null
  scanned: number
  woken_by_sms: number
  created_at: number
  expires_at: number
  decided_at: number | null
}

/** Reports a payment the cardholder disowned: the same report and card suspension as a FRAUD SMS reply. */
export type FraudReporter = (report: { challenge: Challenge; cardholderId: number; deviceId: string }) => void

export interface ApprovalDeps {
  db: Db
  log: Logger
  audit: AuditLog
  sms: SmsService
  acs: AcsRuntime
  devices: DeviceRegistry
  hub: DeviceHub
  poi: PoiTokens
  settings: MobileSettingsStore
  reportFraud: FraudReporter
}

const ENDINGS: Record<Decision, Ending> = {
  approve: { transStatus: 'Y' },
  decline: { transStatus: 'N', transStatusReason: '01' },
  // "This wasn't me": refused as suspected fraud, and the card is suspended before the RReq leaves.
  fraud: { transStatus: 'N', transStatusReason: '11' },
}
const STATUS_OF: Record<Decision, ApprovalStatus> = {
  approve: 'approved',
  decline: 'declined',
  fraud: 'fraud',
}

/** The exponent of the amount: the AReq's own when the challenge kept it, else read off the display text. */
function exponentOf(c: Challenge['context']): string {
  if (!c.purchaseAmount) return '-'
  const kept = (c as { purchaseExponent?: string }).purchaseExponent
  if (kept !== undefined && /^\d$/.test(kept)) return kept
  return String(/\.(\d+)$/.exec(c.amountText ?? '')?.[1].length ?? 0)
}

/**
 * Approval requests of the `mobile-signature` method. One per challenge, opened when the challenge
 * starts; the open authenticators of the card hear about it at once (SSE), others get an SMS with a link.
 * The cardholder's signed decision ends the challenge through the ACS flow's own ending, the one SMS replies
 * use, so the browser page, the app's oobContinue and decoupled all see the result.
 */
export class ApprovalService {
  constructor(private readonly d: ApprovalDeps) {}

  /** Opens the approval of a challenge (inside the ACS's transaction); devices are told once it commits. */
  open(
    subject: ChallengeSubject,
    mode: ChallengeMode,
    now = Date.now(),
  ): { approvalId: string; poiId: string } {
    const settings = this.d.settings.get()
    const id = randomBytes(16).toString('base64url')
    this.d.db
      .prepare(
        `INSERT INTO mobile_approvals (id, acs_trans_id, mode, nonce, poi_id, presence, status, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)
         ON CONFLICT (acs_trans_id) DO NOTHING`,
      )
      .run(
        id,
        subject.acsTransID,
        mode,
        randomBytes(24).toString('base64url'),
        randomBytes(16).toString('base64url'),
        settings.scanRequired ? 'scan' : 'tap',
        now,
        now + settings.approvalTtlSeconds * 1000,
      )
    const existing = this.byTrans(subject.acsTransID)!
    // Decoupled challenges are inserted after start() in the same transaction: announce once it committed.
    setImmediate(() => {
      try {
        this.announce(existing.id, subject)
      } catch (err) {
        this.d.log.error({ err, acsTransID: subject.acsTransID }, 'mobile approval announcement failed')
      }
    })
    return { approvalId: existing.id, poiId: existing.poi_id }
  }

  private byTrans(acsTransID: string): ApprovalRow | undefined {
    return this.d.db.prepare('SELECT * FROM mobile_approvals WHERE acs_trans_id = ?').get(acsTransID) as
      ApprovalRow | undefined
  }

  private row(id: string): ApprovalRow {
    const row = this.d.db.prepare('SELECT * FROM mobile_approvals WHERE id = ?').get(id) as
      ApprovalRow | undefined
    if (!row) throw new HttpProblem(404, 'Unknown approval', 'No such approval request')
    return row
  }

  private challenge(row: ApprovalRow): Challenge | undefined {
    return this.d.acs.challenges.get(row.acs_trans_id)
  }

  /** Pushes the request to the card's open authenticators, or texts the cardholder a link to open one. */
  private announce(id: string, subject: ChallengeSubject): void {
    const row = this.row(id)
    const ch = this.challenge(row)
    if (!ch || ch.status === 'ended') return
    const devices = this.d.devices.devicesForCard(ch.context.cardId)
    const reached = this.d.hub.publish(
      devices.map((dv) => dv.id),
      'approval',
      this.view(row, ch),
    )
    if (reached > 0) return
    const base = this.d.acs.settings.get().publicBaseUrl ?? devices[0]?.origin
    if (!base) {
      this.d.log.warn(
        { acsTransID: row.acs_trans_id },
        'mobile approval: the card has no active authenticator',
      )
      return
    }
    this.d.db.prepare('UPDATE mobile_approvals SET woken_by_sms = 1 WHERE id = ?').run(id)
    const purchase = [subject.amountText, subject.merchantName ? `at ${subject.merchantName}` : undefined]
      .filter(Boolean)
      .join(' ')
    this.d.sms.enqueue({
      to: subject.mobile,
      text: `Approve ${purchase || 'your payment'} (card *${subject.panMasked.slice(-4)}) in your authenticator: ${base}/authenticator/#approval=${id}`,
      kind: 'mobile-wake',
      priority: 0,
      idempotencyKey: `mobile-wake:${id}`,
      ref: row.acs_trans_id,
    })
  }

  private view(row: ApprovalRow, ch: Challenge, poi?: string): ApprovalView {
    const c = ch.context
    return {
      id: row.id,
      acsTransID: row.acs_trans_id,
      mode: row.mode,
      merchant: c.merchantName ?? '',
      amount: c.purchaseAmount ?? '-',
      exponent: exponentOf(c),
      currency: c.purchaseAmount ? (c.purchaseCurrency ?? '-') : '-',
      amountText: c.amountText,
      panMasked: c.panMasked,
      issuedAt: row.created_at,
      expiresAt: row.expires_at,
      nonce: row.nonce,
      presence: row.presence,
      poi,
    }
  }

  private isOpen(row: ApprovalRow, ch: Challenge | undefined, now: number): ch is Challenge {
    return row.status === 'pending' && !!ch && ch.status !== 'ended' && now < row.expires_at
  }

  /** Open approvals this device may decide, newest first. */
  pendingFor(deviceId: string, now = Date.now()): ApprovalView[] {
    const rows = this.d.db
      .prepare(
        `SELECT a.* FROM mobile_approvals a JOIN acs_challenges c ON c.acs_trans_id = a.acs_trans_id
         WHERE a.status = 'pending' AND a.expires_at > ? AND c.status != 'ended'
           AND json_extract(c.context, '$.cardId') IN (SELECT card_id FROM mobile_device_cards WHERE device_id = ?)
         ORDER BY a.created_at DESC LIMIT 20`,
      )
      .all(now, deviceId) as ApprovalRow[]
    return rows.flatMap((r) => {
      const ch = this.challenge(r)
      return this.isOpen(r, ch, now) ? [this.view(r, ch)] : []
    })
  }

  /** One approval for this device (the SMS link opens it). */
  getFor(deviceId: string, id: string, now = Date.now()): ApprovalView {
    const row = this.row(id)
    const ch = this.challenge(row)
    if (!ch || !this.d.devices.isBound(deviceId, ch.context.cardId))
      throw new HttpProblem(404, 'Unknown approval', 'No such approval request')
    if (!this.isOpen(row, ch, now)) throw this.closed(row)
    return this.view(row, ch)
  }

  private closed(row: ApprovalRow): HttpProblem {
    return row.status === 'pending'
      ? new HttpProblem(410, 'Request expired', 'This payment request has expired')
      : new HttpProblem(409, 'Already decided', `This payment request was already ${row.status}`)
  }

  /** A scanned QR code: the approval of that screen, when this device may decide it. */
  resolvePoi(deviceId: string, token: string, now = Date.now()): ApprovalView {
    const poiId = this.poiOf(token, now)
    const row = this.d.db.prepare('SELECT * FROM mobile_approvals WHERE poi_id = ?').get(poiId) as
      ApprovalRow | undefined
    if (!row) throw new HttpProblem(404, 'Unknown screen', 'This code does not belong to a payment')
    const ch = this.challenge(row)
    if (!ch || !this.d.devices.isBound(deviceId, ch.context.cardId))
      throw new HttpProblem(403, 'Not your card', 'This payment is not for a card of this authenticator')
    if (!this.isOpen(row, ch, now)) throw this.closed(row)
    return this.view(row, ch, row.poi_id)
  }

  private poiOf(token: string, now: number): string {
    const checked = this.d.poi.verify(token, now)
    if ('error' in checked)
      throw checked.error === 'expired'
        ? new HttpProblem(
            410,
            'QR code expired',
            'Scan the code on the screen again: it changes every few seconds',
          )
        : new HttpProblem(400, 'Not a payment code', 'This QR code was not issued by your bank')
    return checked.poiId
  }

  /**
   * The cardholder's decision, signed by the device over the canonical record that the server rebuilds
   * from its own copy of the transaction: a changed amount, merchant or nonce does not verify. The status
   * update is guarded, so a replayed decision finds the approval already decided.
   */
  async decide(
    deviceId: string,
    id: string,
    body: { decision: Decision; signedAt: number; poiToken?: string; signature: string },
    now = Date.now(),
  ): Promise<{ status: ApprovalStatus; transStatus: string }> {
    const device = this.d.devices.identity(deviceId)
    if (!device || device.status !== 'active')
      throw new HttpProblem(403, 'Device not active', 'This authenticator is not active')
    const row = this.row(id)
    const ch = this.challenge(row)
    if (!ch || !this.d.devices.isBound(deviceId, ch.context.cardId))
      throw new HttpProblem(403, 'Not your card', 'This payment is not for a card of this authenticator')
    if (!this.isOpen(row, ch, now)) throw this.closed(row)
    const skew = this.d.settings.get().clockSkewSeconds * 1000
    if (Math.abs(body.signedAt - now) > skew)
      throw new HttpProblem(400, 'Clock out of range', 'The device clock differs too much from the bank’s')
    let poi = '-'
    if (body.poiToken !== undefined) {
      poi = this.poiOf(body.poiToken, now)
      if (poi !== row.poi_id)
        throw new HttpProblem(403, 'Wrong screen', 'The scanned code belongs to another payment')
    }
    if (body.decision === 'approve' && row.presence === 'scan' && poi === '-')
      throw new HttpProblem(403, 'Scan required', 'Scan the QR code on the payment screen to approve')
    const view = this.view(row, ch)
    const record = approvalRecord({
      decision: body.decision,
      acsTransID: row.acs_trans_id,
      amount: view.amount,
      exponent: view.exponent,
      currency: view.currency,
      merchant: view.merchant,
      issuedAt: row.created_at,
      signedAt: body.signedAt,
      nonce: row.nonce,
      deviceId,
      poi,
    })
    if (!(await verifyRecord(device.key, record, body.signature))) {
      this.d.log.warn({ device: deviceId, acsTransID: row.acs_trans_id }, 'mobile approval: bad signature')
      throw new HttpProblem(401, 'Invalid signature', 'The decision is not signed by this device')
    }
    const status = STATUS_OF[body.decision]
    const c = ch.context
    const counted = ch.mode === 'decoupled' ? ch : { ...ch, interactionCounter: ch.interactionCounter + 1 }
    // One transaction: the decision, the suspension and the challenge's ending (with its RReq) all happen or
    // none does, so a challenge that timed out meanwhile leaves the approval undecided.
    const outboxId = this.d.db.transaction(() => {
      const claimed = this.d.db
        .prepare(
          `UPDATE mobile_approvals SET status = ?, device_id = ?, signed_record = ?, signature = ?, scanned = ?, decided_at = ?
           WHERE id = ? AND status = 'pending'`,
        )
        .run(
          status,
          deviceId,
          record,
          Buffer.from(body.signature, 'base64url'),
          poi === '-' ? 0 : 1,
          now,
          id,
        ).changes
      if (!claimed) throw this.closed(this.row(id))
      this.d.devices.touch(deviceId, now)
      const ended = this.d.acs.flow.end(counted, ENDINGS[body.decision])
      if (ended === undefined)
        throw new HttpProblem(410, 'Request expired', 'This payment request has expired')
      if (body.decision === 'fraud')
        this.d.reportFraud({ challenge: ch, cardholderId: device.cardholderId, deviceId })
      this.d.audit.record({
        actor: `cardholder:${device.cardholderId}`,
        action: `mobile.approval.${body.decision}`,
        target: `card:${c.panMasked}`,
        details: { acsTransID: row.acs_trans_id, device: deviceId, scanned: poi !== '-' },
      })
      return ended
    })()
    void this.d.acs.outbox.deliver(outboxId)
    this.d.hub.publish(
      this.d.devices.devicesForCard(c.cardId).map((dv) => dv.id),
      'closed',
      { id },
    )
    this.notifyScreen(row.poi_id)
    return { status, transStatus: ENDINGS[body.decision].transStatus }
  }

  // ------------------------------------------------------------------------------------------ screens

  private readonly screenWaiters = new Map<string, Set<() => void>>()

  /** Resolves when the approval of this screen is decided (or after `ms`): the screens' long poll. */
  waitForScreen(poiId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.screenWaiters.get(poiId)
      if (!set) this.screenWaiters.set(poiId, (set = new Set()))
      const done = () => {
        clearTimeout(timer)
        set.delete(done)
        if (set.size === 0) this.screenWaiters.delete(poiId)
        resolve()
      }
      const timer = setTimeout(done, ms)
      set.add(done)
    })
  }

  private notifyScreen(poiId: string): void {
    for (const done of [...(this.screenWaiters.get(poiId) ?? [])]) done()
  }

  /** A point-of-interaction screen: what it shows and its current QR token. No card data. */
  screen(
    poiId: string,
    now = Date.now(),
  ): { merchant: string; amountText?: string; status: ApprovalStatus | 'expired'; acsTransID: string } & (
    { token: string; expiresAt: number; refreshInMs: number } | { token?: undefined }
  ) {
    const row = this.d.db.prepare('SELECT * FROM mobile_approvals WHERE poi_id = ?').get(poiId) as
      ApprovalRow | undefined
    if (!row) throw new HttpProblem(404, 'Unknown screen', 'No payment is waiting on this screen')
    const ch = this.challenge(row)
    const base = {
      merchant: ch?.context.merchantName ?? '',
      amountText: ch?.context.amountText,
      acsTransID: row.acs_trans_id,
    }
    if (!this.isOpen(row, ch, now))
      return { ...base, status: row.status === 'pending' ? 'expired' : row.status }
    const period = this.d.settings.get().qrPeriodSeconds
    const minted = this.d.poi.mint(poiId, period, now)
    return { ...base, status: 'pending', ...minted, refreshInMs: period * 1000 }
  }

  /** Turns the approval of a transaction into a scan-to-approve one and names its screen. */
  requireScan(acsTransID: string, actor: string): { poiId: string } {
    const row = this.byTrans(acsTransID)
    if (!row) throw new HttpProblem(404, 'Unknown transaction', 'No mobile approval for this transaction')
    if (row.status !== 'pending') throw this.closed(row)
    this.d.db.prepare(`UPDATE mobile_approvals SET presence = 'scan' WHERE id = ?`).run(row.id)
    this.d.audit.record({ actor, action: 'mobile.poi.open', details: { acsTransID } })
    // Authenticators already showing the request learn that it now needs the scan.
    const ch = this.challenge(row)
    if (this.isOpen(row, ch, Date.now()))
      this.d.hub.publish(
        this.d.devices.devicesForCard(ch.context.cardId).map((dv) => dv.id),
        'approval',
        this.view({ ...row, presence: 'scan' }, ch),
      )
    return { poiId: row.poi_id }
  }

  /** The POI id of a transaction's approval (the challenge page shows its QR code). */
  poiIdFor(acsTransID: string): string | undefined {
    return this.byTrans(acsTransID)?.poi_id
  }

  statistics(now = Date.now()): MethodStatistics {
    const db = this.d.db
    const devices = Object.fromEntries(
      (
        db.prepare('SELECT status, COUNT(*) AS n FROM mobile_devices GROUP BY status').all() as {
          status: string
          n: number
        }[]
      ).map((r) => [r.status, r.n]),
    )
    const counts = db
      .prepare(
        `SELECT
           SUM(a.status = 'pending' AND a.expires_at > @now AND c.status != 'ended') AS pending,
           SUM(a.status = 'pending' AND NOT (a.expires_at > @now AND c.status != 'ended')) AS expired,
           SUM(a.status = 'approved') AS approved, SUM(a.status = 'declined') AS declined,
           SUM(a.status = 'fraud') AS fraud, SUM(a.scanned) AS scanned, SUM(a.woken_by_sms) AS woken,
           SUM(a.status != 'pending') AS decided, COUNT(*) AS total
         FROM mobile_approvals a LEFT JOIN acs_challenges c ON c.acs_trans_id = a.acs_trans_id`,
      )
      .get({ now }) as Record<string, number | null>
    const durations = db
      .prepare(
        `SELECT decided_at - created_at FROM mobile_approvals WHERE decided_at IS NOT NULL
         ORDER BY decided_at DESC LIMIT 1000`,
      )
      .pluck()
      .all() as number[]
    durations.sort((a, b) => a - b)
    const n = (k: string) => counts[k] ?? 0
    return {
      devices: { pending: devices.pending ?? 0, active: devices.active ?? 0, revoked: devices.revoked ?? 0 },
      approvals: {
        pending: n('pending'),
        approved: n('approved'),
        declined: n('declined'),
        fraud: n('fraud'),
        expired: n('expired'),
      },
      scannedShare: n('decided') ? n('scanned') / n('decided') : 0,
      smsWakeShare: n('total') ? n('woken') / n('total') : 0,
      medianDecisionSeconds: durations.length
        ? durations[Math.floor(durations.length / 2)] / 1000
        : undefined,
      fingerprintChanges: db
        .prepare('SELECT COUNT(*) FROM mobile_fingerprint_changes')
        .pluck()
        .get() as number,
    }
  }
}
