import { randomBytes } from 'node:crypto'
import type { AuthenticationEvent } from '../acs/service/authentication-events'
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
import type { ApprovalSubjects, SubjectFacts, SubjectKind } from './subjects'

export type ApprovalStatus = 'pending' | 'approved' | 'declined' | 'fraud'

interface ApprovalRow {
  id: string
  subject_kind: SubjectKind
  /** The acsTransID, or the channel request's id. */
  subject_ref: string
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
export type FraudReporter = (disowned: AuthenticationEvent & { mobile: string }) => void

export interface ApprovalDeps {
  db: Db
  log: Logger
  audit: AuditLog
  sms: SmsService
  /** The public base of links in wake-up SMS (the ACS's publicBaseUrl), when one is configured. */
  publicBaseUrl: () => string | undefined
  subjects: Record<SubjectKind, ApprovalSubjects>
  devices: DeviceRegistry
  hub: DeviceHub
  poi: PoiTokens
  settings: MobileSettingsStore
  reportFraud: FraudReporter
}

const STATUS_OF: Record<Decision, ApprovalStatus> = {
  approve: 'approved',
  decline: 'declined',
  fraud: 'fraud',
}

/** Whether the subject still waits: the approval pending and unexpired, its challenge or request not ended. */
const LIVE_SQL = `a.expires_at > @now AND COALESCE(c.status != 'ended', r.status = 'pending' AND r.expires_at > @now, 0)`
/** Approvals with what they are about: the ACS challenge or the channel request. */
const WITH_SUBJECTS_SQL = `mobile_approvals a
  LEFT JOIN acs_challenges c ON a.subject_kind = '3ds' AND c.acs_trans_id = a.subject_ref
  LEFT JOIN channel_auth_requests r ON a.subject_kind = 'channel' AND r.id = a.subject_ref`

/**
 * Approval requests of the `mobile-signature` method. One per challenge of the ACS, or per request of the
 * channel API (MOTO, EDC, ECOM), opened when the method starts; the open authenticators of the card hear
 * about it at once (SSE), others get an SMS with a link. The cardholder's signed decision ends the challenge
 * or the request through its own ending (subjects.ts), so every channel sees the result as it sees others.
 */
export class ApprovalService {
  /** Wake-up SMS held back while the devices that were pushed an approval have time to read it, by approval. */
  private readonly wakeTimers = new Map<string, NodeJS.Timeout>()

  constructor(private readonly d: ApprovalDeps) {}

  /**
   * Opens the approval of a challenge or channel request (inside its transaction); devices are told once it
   * committed. A shop terminal (EDC) has the cardholder in front of it: approving there takes the scan.
   */
  open(
    subject: ChallengeSubject,
    mode: ChallengeMode,
    now = Date.now(),
  ): { approvalId: string; poiId: string } {
    const settings = this.d.settings.get()
    const id = randomBytes(16).toString('base64url')
    const scan = settings.scanRequired || subject.channel === 'EDC'
    this.d.db
      .prepare(
        `INSERT INTO mobile_approvals (id, subject_kind, subject_ref, mode, nonce, poi_id, presence, status, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)
         ON CONFLICT (subject_ref) DO NOTHING`,
      )
      .run(
        id,
        subject.channel ? 'channel' : '3ds',
        subject.acsTransID,
        mode,
        randomBytes(24).toString('base64url'),
        randomBytes(16).toString('base64url'),
        scan ? 'scan' : 'tap',
        now,
        now + settings.approvalTtlSeconds * 1000,
      )
    const existing = this.byRef(subject.acsTransID)!
    // Decoupled challenges and channel requests are inserted after start() in the same transaction: announce
    // once it committed.
    setImmediate(() => {
      try {
        this.announce(existing.id, subject)
      } catch (err) {
        this.d.log.error({ err, reference: subject.acsTransID }, 'mobile approval announcement failed')
      }
    })
    return { approvalId: existing.id, poiId: existing.poi_id }
  }

  private byRef(ref: string): ApprovalRow | undefined {
    return this.d.db.prepare('SELECT * FROM mobile_approvals WHERE subject_ref = ?').get(ref) as
      ApprovalRow | undefined
  }

  private row(id: string): ApprovalRow {
    const row = this.d.db.prepare('SELECT * FROM mobile_approvals WHERE id = ?').get(id) as
      ApprovalRow | undefined
    if (!row) throw new HttpProblem(404, 'Unknown approval', 'No such approval request')
    return row
  }

  private facts(row: ApprovalRow, now = Date.now()): SubjectFacts | undefined {
    return this.d.subjects[row.subject_kind].facts(row.subject_ref, now)
  }

  /**
   * Pushes the request to the card's open authenticators, or texts the cardholder a link to open one. A stream
   * lasts until its socket closes, and a phone that dropped off the network can leave it open (half-open TCP):
   * unless a device reads the request (or decides it) within `wakeGraceSeconds`, the SMS is sent then.
   */
  private announce(id: string, subject: ChallengeSubject): void {
    const row = this.row(id)
    const facts = this.facts(row)
    if (!facts?.open) return
    const devices = this.d.devices.devicesForCard(facts.cardId)
    const reached = this.d.hub.publish(
      devices.map((dv) => dv.id),
      'approval',
      this.view(row, facts),
    )
    if (reached === 0) return this.wake(row, subject, devices)
    clearTimeout(this.wakeTimers.get(id))
    const timer = setTimeout(() => {
      this.wakeTimers.delete(id)
      try {
        const now = Date.now()
        const current = this.row(id)
        if (!this.isOpen(current, this.facts(current, now), now)) return
        this.d.log.info(
          { approval: id, reference: row.subject_ref },
          'mobile approval pushed but not read: waking the authenticator by SMS',
        )
        this.wake(current, subject, devices)
      } catch (err) {
        this.d.log.error({ err, reference: row.subject_ref }, 'mobile approval wake-up failed')
      }
    }, this.d.settings.get().wakeGraceSeconds * 1000)
    // A pending wake-up never keeps the process alive; stop() clears the rest.
    timer.unref()
    this.wakeTimers.set(id, timer)
  }

  /** A device read or decided these approvals: it is reachable, no wake-up SMS for them. */
  private seen(ids: readonly string[]): void {
    for (const id of ids) {
      clearTimeout(this.wakeTimers.get(id))
      this.wakeTimers.delete(id)
    }
  }

  /** Texts the cardholder a link that opens the approval in the authenticator (once per approval). */
  private wake(row: ApprovalRow, subject: ChallengeSubject, devices: { origin: string }[]): void {
    const id = row.id
    const base = this.d.publicBaseUrl() ?? devices[0]?.origin
    if (!base) {
      this.d.log.warn({ reference: row.subject_ref }, 'mobile approval: the card has no active authenticator')
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
      ref: row.subject_ref,
    })
  }

  private view(row: ApprovalRow, f: SubjectFacts, poi?: string): ApprovalView {
    return {
      id: row.id,
      ...f.reference,
      ...(f.channel ? { channel: f.channel } : {}),
      mode: row.mode,
      merchant: f.merchant,
      amount: f.amount,
      exponent: f.exponent,
      currency: f.currency,
      amountText: f.amountText,
      panMasked: f.panMasked,
      issuedAt: row.created_at,
      expiresAt: row.expires_at,
      nonce: row.nonce,
      presence: row.presence,
      poi,
    }
  }

  private isOpen(row: ApprovalRow, f: SubjectFacts | undefined, now: number): f is SubjectFacts {
    return row.status === 'pending' && !!f?.open && now < row.expires_at
  }

  /** Open approvals this device may decide, newest first. */
  pendingFor(deviceId: string, now = Date.now()): ApprovalView[] {
    const rows = this.d.db
      .prepare(
        `SELECT a.* FROM ${WITH_SUBJECTS_SQL}
         WHERE a.status = 'pending' AND ${LIVE_SQL}
           AND COALESCE(json_extract(c.context, '$.cardId'), r.card_id)
             IN (SELECT card_id FROM mobile_device_cards WHERE device_id = @device)
         ORDER BY a.created_at DESC LIMIT 20`,
      )
      .all({ now, device: deviceId }) as ApprovalRow[]
    const views = rows.flatMap((r) => {
      const f = this.facts(r, now)
      return this.isOpen(r, f, now) ? [this.view(r, f)] : []
    })
    this.seen(views.map((v) => v.id))
    return views
  }

  /** The subject of an approval this device may see: its card must be bound to the device. */
  private boundFacts(deviceId: string, row: ApprovalRow, now: number, notBound: HttpProblem) {
    const f = this.facts(row, now)
    if (!f || !this.d.devices.isBound(deviceId, f.cardId))
      throw this.refused(deviceId, row, 'not your card', notBound)
    if (!this.isOpen(row, f, now)) throw this.closed(row)
    return f
  }

  /** One approval for this device (the SMS link opens it). */
  getFor(deviceId: string, id: string, now = Date.now()): ApprovalView {
    const row = this.row(id)
    const unknown = new HttpProblem(404, 'Unknown approval', 'No such approval request')
    const view = this.view(row, this.boundFacts(deviceId, row, now, unknown))
    this.seen([id])
    return view
  }

  private closed(row: ApprovalRow): HttpProblem {
    return row.status === 'pending'
      ? new HttpProblem(410, 'Request expired', 'This payment request has expired')
      : new HttpProblem(409, 'Already decided', `This payment request was already ${row.status}`)
  }

  /**
   * A refused attempt on an approval, logged as a warning naming the device, the approval and why (never the
   * signature or a token): the answer alone would leave no trace of a device probing or tampering.
   */
  private refused(deviceId: string, row: ApprovalRow, reason: string, problem: HttpProblem): HttpProblem {
    this.d.log.warn(
      { device: deviceId, approval: row.id, reference: row.subject_ref, reason },
      'mobile approval refused',
    )
    return problem
  }

  private notYourCard(): HttpProblem {
    return new HttpProblem(403, 'Not your card', 'This payment is not for a card of this authenticator')
  }

  /** A scanned QR code: the approval of that screen, when this device may decide it. */
  resolvePoi(deviceId: string, token: string, now = Date.now()): ApprovalView {
    const poiId = this.poiOf(token, now)
    const row = this.d.db.prepare('SELECT * FROM mobile_approvals WHERE poi_id = ?').get(poiId) as
      ApprovalRow | undefined
    if (!row) throw new HttpProblem(404, 'Unknown screen', 'This code does not belong to a payment')
    const view = this.view(row, this.boundFacts(deviceId, row, now, this.notYourCard()), row.poi_id)
    this.seen([row.id])
    return view
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
  ): Promise<{ status: ApprovalStatus; transStatus?: string }> {
    const device = this.d.devices.identity(deviceId)
    if (!device || device.status !== 'active')
      throw new HttpProblem(403, 'Device not active', 'This authenticator is not active')
    const row = this.row(id)
    const f = this.boundFacts(deviceId, row, now, this.notYourCard())
    const skew = this.d.settings.get().clockSkewSeconds * 1000
    if (Math.abs(body.signedAt - now) > skew)
      throw this.refused(
        deviceId,
        row,
        'clock out of range',
        new HttpProblem(400, 'Clock out of range', 'The device clock differs too much from the bank’s'),
      )
    let poi = '-'
    if (body.poiToken !== undefined) {
      poi = this.poiOf(body.poiToken, now)
      if (poi !== row.poi_id)
        throw this.refused(
          deviceId,
          row,
          'wrong screen',
          new HttpProblem(403, 'Wrong screen', 'The scanned code belongs to another payment'),
        )
    }
    if (body.decision === 'approve' && row.presence === 'scan' && poi === '-')
      throw this.refused(
        deviceId,
        row,
        'scan required',
        new HttpProblem(403, 'Scan required', 'Scan the QR code on the payment screen to approve'),
      )
    const record = approvalRecord({
      decision: body.decision,
      ...f.reference,
      amount: f.amount,
      exponent: f.exponent,
      currency: f.currency,
      merchant: f.merchant,
      issuedAt: row.created_at,
      signedAt: body.signedAt,
      nonce: row.nonce,
      deviceId,
      poi,
    })
    if (!(await verifyRecord(device.key, record, body.signature)))
      throw this.refused(
        deviceId,
        row,
        'bad signature',
        new HttpProblem(401, 'Invalid signature', 'The decision is not signed by this device'),
      )
    const status = STATUS_OF[body.decision]
    // One transaction: the decision, the suspension and the subject's ending (the RReq, the channel result
    // and its webhook) all happen or none does, so a challenge that timed out meanwhile leaves it undecided.
    const finished = this.d.db.transaction(() => {
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
      const ended = this.d.subjects[row.subject_kind].finish(row.subject_ref, body.decision, now)
      if (!ended) throw new HttpProblem(410, 'Request expired', 'This payment request has expired')
      if (body.decision === 'fraud') this.d.reportFraud(f.disowned(device.cardholderId))
      this.d.audit.record({
        actor: `cardholder:${device.cardholderId}`,
        action: `mobile.approval.${body.decision}`,
        target: `card:${f.panMasked}`,
        details: { ...f.reference, device: deviceId, scanned: poi !== '-' },
      })
      return ended
    })()
    finished.afterCommit()
    this.seen([id])
    this.d.hub.publish(
      this.d.devices.devicesForCard(f.cardId).map((dv) => dv.id),
      'closed',
      { id },
    )
    this.notifyScreen(row.poi_id)
    return { status, ...(finished.transStatus ? { transStatus: finished.transStatus } : {}) }
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
  ): { merchant: string; amountText?: string; status: ApprovalStatus | 'expired' } & (
    { token: string; expiresAt: number; refreshInMs: number } | { token?: undefined }
  ) {
    const row = this.d.db.prepare('SELECT * FROM mobile_approvals WHERE poi_id = ?').get(poiId) as
      ApprovalRow | undefined
    if (!row) throw new HttpProblem(404, 'Unknown screen', 'No payment is waiting on this screen')
    const f = this.facts(row, now)
    const base = { merchant: f?.merchant ?? '', amountText: f?.amountText }
    if (!this.isOpen(row, f, now))
      return { ...base, status: row.status === 'pending' ? 'expired' : row.status }
    const period = this.d.settings.get().qrPeriodSeconds
    const minted = this.d.poi.mint(poiId, period, now)
    return { ...base, status: 'pending', ...minted, refreshInMs: period * 1000 }
  }

  /** Turns the approval of a 3-D Secure transaction into a scan-to-approve one and names its screen. */
  requireScan(acsTransID: string, actor: string): { poiId: string } {
    const row = this.byRef(acsTransID)
    if (row?.subject_kind !== '3ds')
      throw new HttpProblem(404, 'Unknown transaction', 'No mobile approval for this transaction')
    if (row.status !== 'pending') throw this.closed(row)
    this.d.db.prepare(`UPDATE mobile_approvals SET presence = 'scan' WHERE id = ?`).run(row.id)
    this.d.audit.record({ actor, action: 'mobile.poi.open', details: { acsTransID } })
    // Authenticators already showing the request learn that it now needs the scan.
    const now = Date.now()
    const f = this.facts(row, now)
    if (this.isOpen(row, f, now))
      this.d.hub.publish(
        this.d.devices.devicesForCard(f.cardId).map((dv) => dv.id),
        'approval',
        this.view({ ...row, presence: 'scan' }, f),
      )
    return { poiId: row.poi_id }
  }

  /** Drops the wake-up SMS still held back (the server is stopping). */
  stop(): void {
    for (const timer of this.wakeTimers.values()) clearTimeout(timer)
    this.wakeTimers.clear()
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
           SUM(a.status = 'pending' AND ${LIVE_SQL}) AS pending,
           SUM(a.status = 'pending' AND NOT (${LIVE_SQL})) AS expired,
           SUM(a.status = 'approved') AS approved, SUM(a.status = 'declined') AS declined,
           SUM(a.status = 'fraud') AS fraud, SUM(a.scanned) AS scanned, SUM(a.woken_by_sms) AS woken,
           SUM(a.status != 'pending') AS decided, COUNT(*) AS total
         FROM ${WITH_SUBJECTS_SQL}`,
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
