import { EventEmitter } from 'node:events'
import type { Vault } from '../crypto/vault'
import type { Logger } from '../log'
import { statementCache, type Db } from '../store/db'
import { GroupCommit } from '../store/group-commit'
import { GatewayError, type DeliveryReport, type IncomingSms, type SmsGateway } from './gateway'
import { forDisplay, forSending, holdsSecret } from './redact'

export interface EnqueueInput {
  to: string
  /** May hold codes wrapped with `secret()`: sent in clear, shown masked. */
  text: string
  kind: string
  /** A short reference tying the SMS to a transaction or challenge. */
  ref?: string
  /** 0 codes and challenge requests, 1 notifications. */
  priority?: 0 | 1
  /** The same key never sends twice (a retried AReq, a double click). */
  idempotencyKey: string
  /** When the message is no longer worth sending (its code's expiry): failed instead of sent late. */
  expiresAt?: number
}

export type InboxOutcome = 'unmatched' | 'matched' | 'expired' | 'rejected' | 'ignored'

export interface IncomingResult {
  outcome: InboxOutcome
  ref?: string
}

/**
 * Something that wants incoming SMS (SMS-reply challenges, FRAUD replies, dongle codes by SMS). Handlers run
 * in registration order; the first that returns a result owns the message.
 */
export type IncomingHandler = (
  sms: IncomingSms & { id: number },
) => IncomingResult | undefined | Promise<IncomingResult | undefined>

export interface OutboxRow {
  id: number
  idempotency_key: string
  to_number: string
  text_display: string
  priority: number
  kind: string
  ref: string | null
  status: 'queued' | 'sending' | 'sent' | 'delivered' | 'failed'
  gateway: string | null
  modem: string | null
  message_ref: string | null
  attempts: number
  possible_duplicate: number
  last_error: string | null
  created_at: number
  sent_at: number | null
  delivered_at: number | null
}

/** RETURNING follows no particular order: codes (priority 0) still leave (and are reported) first. */
const byPriority = (a: { priority: number; id: number }, b: { priority: number; id: number }) =>
  a.priority - b.priority || a.id - b.id

/** The first `limit` due messages, codes first. */
const dueIds = (limit: number) => `SELECT id FROM sms_outbox INDEXED BY sms_outbox_queued
    WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY priority, id LIMIT ${Math.trunc(limit)}`

/** Messages awaiting a report under one TP-MR that a report's recipient is matched against, newest first. */
const REPORT_CANDIDATES = 16

/**
 * The statements of the send loop, which run for every message: each reads one of the partial indexes of
 * migration 0320, which hold only the rows still moving, so they cost the same with millions sent behind them
 * (checked on SQLite's plans in store/queue-plans.test.ts).
 */

export const QUEUE_SQL = {
  // INDEXED BY, here and below: with no statistics the planner may prefer a status index or, for `claim`, the
  // due-time index, and then sort the whole queue on every pick; (priority, id) order makes a pick O(1).
  // Claims up to `limit` due messages in one statement (one commit for the whole batch). RETURNING gives the
  // attempt number after the increment. The limit is written into the text, one statement per limit: as a
  // bound parameter SQLite re-prepared the statement whenever its value changed (measured: two thirds of
  // the claim's cost).
  claim: (limit: number) => `UPDATE sms_outbox SET status = 'sending', attempts = attempts + 1, gateway = ?
    WHERE id IN (${dueIds(limit)})
    RETURNING id, to_number, text_sealed, text_display, priority, attempts, possible_duplicate, expires_at`,
  // For a gateway that delivers by recording (the virtual phone): due messages go straight to delivered.
  record: (
    limit: number,
  ) => `UPDATE sms_outbox SET status = 'delivered', attempts = attempts + 1, gateway = ?,
      sent_at = ?, delivered_at = ?, last_error = NULL
    WHERE id IN (${dueIds(limit)})
    RETURNING id, text_sealed, text_display, priority`,
  nextDue: `SELECT min(next_attempt_at) FROM sms_outbox INDEXED BY sms_outbox_queued_due WHERE status = 'queued'`,
  // Run before `interrupted`: a row already flagged (an earlier attempt may have gone out) and caught in
  // "sending" again may have gone out twice, so it is not sent a third time.
  interruptedTwice: `UPDATE sms_outbox INDEXED BY sms_outbox_sending SET status = 'failed', last_error = ?
    WHERE status = 'sending' AND possible_duplicate = 1 RETURNING id`,
  interrupted: `UPDATE sms_outbox INDEXED BY sms_outbox_sending SET status = 'queued', possible_duplicate = 1, next_attempt_at = ?
    WHERE status = 'sending'`,
  // A report names one TP-MR: a single-part message's own (the index finds it), or one part's of a message
  // sent in several ('12,13'), searched among the multipart messages awaiting reports. TP-MR is one octet, so
  // after 256 messages a modem uses it again while an older message may still await its report: the newest
  // few are candidates, and the report's recipient picks among them (`reportedMessage`).
  sentByRef: `SELECT id, to_number, message_ref, parts_delivered FROM sms_outbox
    WHERE gateway = ? AND message_ref = ? AND (? IS NULL OR modem = ?) AND status = 'sent' ORDER BY id DESC LIMIT ${REPORT_CANDIDATES}`,
  sentByPart: `SELECT id, to_number, message_ref, parts_delivered FROM sms_outbox INDEXED BY sms_outbox_awaiting_report
    WHERE gateway = ? AND status = 'sent' AND (? IS NULL OR modem = ?) AND instr(message_ref, ',') > 0
      AND (',' || message_ref || ',') LIKE ('%,' || ? || ',%') ORDER BY id DESC LIMIT ${REPORT_CANDIDATES}`,
  partDelivered: `UPDATE sms_outbox SET parts_delivered = ? WHERE id = ?`,
  delivered: `UPDATE sms_outbox SET status = CASE WHEN ? THEN 'delivered' ELSE 'failed' END, delivered_at = ?,
    last_error = CASE WHEN ? THEN last_error ELSE 'the network reported the message undelivered' END,
    parts_delivered = ? WHERE id = ?`,
}

const MAX_ATTEMPTS = 5
const UNREADABLE = 'the stored text cannot be decrypted'
const EXPIRED = 'expired before it could be sent (its code was no longer valid)'
const TWICE = 'not sent again: two attempts may both have gone out'
/** A delivery report that finds no sent message is looked up again this many times, this far apart. */
const REPORT_TRIES = 4
const REPORT_RETRY_MS = 250

/** A message as claimed for sending; `attempts` counts this attempt. */
interface ClaimedRow {
  id: number
  to_number: string
  text_sealed: Buffer
  text_display: string
  priority: number
  attempts: number
  /** A copy may already have gone out (an earlier attempt failed after its PDU, or a crash mid-send). */
  possible_duplicate: number
  expires_at: number | null
}

/**
 * Only a text holding a code is sealed: the display copy of any other text is the text itself, stored in
 * clear beside it, so sealing it again protected nothing (and cost a tenth of a frictionless AReq's CPU
 * with a fraud notification per authentication). Such rows keep an empty `text_sealed`.
 */
const NOT_SEALED = Buffer.alloc(0)

/** The sealed column, for the vault's key rotation (the associated data is the constant 'sms'). */
const SEALED_TEXT = {
  table: 'sms_outbox',
  column: 'text_sealed',
  purpose: 'secret-enc',
  aadColumn: "'sms'",
} as const

function sendingText(vault: Vault, row: { text_sealed: Buffer; text_display: string }): string {
  return row.text_sealed.length === 0 ? row.text_display : vault.open(row.text_sealed, 'sms').toString('utf8')
}

/** The shortest national significant number a sender without its international form is looked up by. */
const MIN_SIGNIFICANT_DIGITS = 8

interface AwaitingReport {
  id: number
  to_number: string
  message_ref: string
  parts_delivered: string
}

/**
 * The message a report is about, among the newest awaiting one under its TP-MR: the newest sent to the
 * recipient the report names, so a report about another number never settles this one (a reused TP-MR); the
 * newest of all when the gateway does not say.
 */
function reportedMessage(candidates: AwaitingReport[], report: DeliveryReport): AwaitingReport | undefined {
  const to = report.recipient
  return to === undefined ? candidates[0] : candidates.find((c) => sameRecipient(c.to_number, to))
}

/**
 * Whether a report's recipient is the number a message went to: as written (E.164), or, reported without
 * the international form (national with its trunk 0, `00` + country code), ending with its significant digits.
 */
function sameRecipient(sentTo: string, reported: string): boolean {
  if (reported.startsWith('+')) return reported === sentTo
  const significant = reported.replace(/^0+/, '')
  return (
    /^\d+$/.test(significant) && significant.length >= MIN_SIGNIFICANT_DIGITS && sentTo.endsWith(significant)
  )
}

/**
 * The persistent SMS outbox and inbox. Every message is written before anything is sent, moves
 * queued → sending → sent → delivered | failed, and survives restarts: a message caught in `sending` by a
 * crash is sent again once and flagged as a possible duplicate (the modem may have sent it already); one caught
 * so again, flagged already, is failed rather than sent a third time.
 */
export class SmsService extends EventEmitter {
  static readonly SEALED_TEXT = SEALED_TEXT
  private gateway: SmsGateway | undefined
  private readonly handlers: { name: string; handle: IncomingHandler }[] = []
  private running = false
  private inFlight = 0
  private wake: (() => void) | undefined
  /** Set by a kick that came while the loop was claiming (not waiting): the loop then looks again at once. */
  private kicked = false
  private timer: NodeJS.Timeout | undefined
  private loop: Promise<void> | undefined
  private readonly sql: ReturnType<typeof statementCache>
  /** How many sends may be in flight at once (a modem pool sends on every modem). */
  private concurrency = 8
  private numbersEndingWith: ((digits: string) => string[]) | undefined

  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly log: Logger,
    /** Resolves once committed writes are on disk: a message is "sending" on disk before it leaves. */
    /** Resolves once what was committed is on disk (store/durability.ts). */
    readonly durable: () => Promise<void> = () => Promise.resolve(),
    /**
     * The server's shared group commit: claims and send results join the commit of the AReqs handled in the
     * same event-loop turn (whose fraud alerts queued these messages) instead of each paying for one.
     */
    private readonly commits: GroupCommit = new GroupCommit(db),
  ) {
    super()
    this.sql = statementCache(db)
  }

  /**
   * Where receive() finds the E.164 form of a sender the network gave without it (see `e164`): the enrolled
   * numbers ending with the given digits.
   */
  useNumberDirectory(numbersEndingWith: (digits: string) => string[]): void {
    this.numbersEndingWith = numbersEndingWith
  }

  /** Chooses the gateway that transmits; incoming messages and reports from it are taken in. */
  useGateway(gateway: SmsGateway, concurrency = this.concurrency): void {
    this.gateway = gateway
    this.concurrency = concurrency
    gateway.onIncoming(
      (sms) =>
        void this.receive(sms, gateway.name).catch((err) => this.log.error({ err }, 'incoming SMS failed')),
    )
    gateway.onDeliveryReport((report) => this.delivered(report, gateway.name))
    this.kick()
  }

  get gatewayName(): string | undefined {
    return this.gateway?.name
  }

  onIncomingSms(name: string, handle: IncomingHandler): void {
    this.handlers.push({ name, handle })
  }

  enqueue(input: EnqueueInput): { id: number; duplicate: boolean } {
    const now = Date.now()
    // Through a running gateway that delivers by recording (the virtual phone), the message is delivered as it
    // is written: nothing to queue, claim or wait for. Otherwise it waits in the queue for the dispatcher.
    const recorded = this.running && this.gateway?.deliversByRecording ? this.gateway.name : null
    const info = this.sql(
      `INSERT INTO sms_outbox (idempotency_key, to_number, text_sealed, text_display, priority, kind, ref, status,
         gateway, attempts, next_attempt_at, created_at, sent_at, delivered_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING`,
    ).run(
      input.idempotencyKey,
      input.to,
      holdsSecret(input.text) ? this.vault.seal('secret-enc', forSending(input.text), 'sms') : NOT_SEALED,
      forDisplay(input.text),
      input.priority ?? 1,
      input.kind,
      input.ref ?? null,
      recorded ? 'delivered' : 'queued',
      recorded,
      recorded ? 1 : 0,
      now,
      now,
      recorded ? now : null,
      recorded ? now : null,
      input.expiresAt ?? null,
    )
    if (info.changes === 0) {
      const existing = this.sql('SELECT id FROM sms_outbox WHERE idempotency_key = ?').pluck()
      return { id: existing.get(input.idempotencyKey) as number, duplicate: true }
    }
    const id = Number(info.lastInsertRowid)
    this.emit('outbox', { id, status: recorded ? 'delivered' : 'queued' })
    if (!recorded) this.kick()
    return { id, duplicate: false }
  }

  /** The text as it was (or will be) sent: only for the virtual phone and the gateway itself. */
  clearText(id: number): string {
    const row = this.sql('SELECT text_sealed, text_display FROM sms_outbox WHERE id = ?').get(id) as
      { text_sealed: Buffer; text_display: string } | undefined
    if (!row) throw new Error(`no outbox message ${id}`)
    return sendingText(this.vault, row)
  }

  start(): void {
    if (this.running) return
    // At most one duplicate holds across crashes too: a flagged message caught mid-send again is failed.
    const twice = this.sql(QUEUE_SQL.interruptedTwice)
      .pluck()
      .all(`${TWICE} (interrupted by a restart while sending)`) as number[]
    if (twice.length)
      this.log.warn(
        { sms: twice },
        'SMS caught mid-send by a restart a second time not sent again (two attempts may both have gone out)',
      )
    for (const id of twice) this.emit('outbox', { id, status: 'failed' })
    // A crash between "sending" and "sent" may or may not have sent it: send again once, flagged.
    const interrupted = this.sql(QUEUE_SQL.interrupted).run(Date.now())
    if (interrupted.changes)
      this.log.warn(
        { count: interrupted.changes },
        'resending SMS interrupted by a restart (flagged as possible duplicates)',
      )
    this.running = true
    this.loop = this.dispatch()
  }

  async stop(): Promise<void> {
    this.running = false
    this.kick()
    await this.loop
    while (this.inFlight > 0) await new Promise((r) => setTimeout(r, 10))
  }

  private kick(): void {
    this.kicked = true
    this.wake?.()
  }

  private async dispatch(): Promise<void> {
    const nextDue = this.sql(QUEUE_SQL.nextDue).pluck()
    while (this.running) {
      this.kicked = false
      const gateway = this.gateway
      const room = gateway ? this.concurrency - this.inFlight : 0
      const moved = gateway && room > 0 ? await this.moveDue(gateway, room) : 0
      if (moved === 0) {
        if (this.kicked) continue
        const due = nextDue.get() as number | null
        await new Promise<void>((resolve) => {
          this.wake = resolve
          if (due !== null && gateway && this.inFlight < this.concurrency) {
            this.timer = setTimeout(resolve, Math.max(0, due - Date.now()))
          }
        })
        clearTimeout(this.timer)
        this.wake = undefined
      }
    }
  }

  /** Takes up to `room` due messages for the gateway; says how many it took. */
  private async moveDue(gateway: SmsGateway, room: number): Promise<number> {
    if (gateway.deliversByRecording) return this.record(gateway, room)
    let rows: ClaimedRow[] = []
    await this.commits.run(
      () => (rows = this.sql(QUEUE_SQL.claim(room)).all(gateway.name, Date.now()) as ClaimedRow[]),
    )
    rows.sort(byPriority)
    this.inFlight += rows.length
    for (const row of rows) this.emit('outbox', { id: row.id, status: 'sending' })
    if (rows.length > 0) void this.sendBatch(gateway, rows)
    return rows.length
  }

  /**
   * Delivers the messages queued for a gateway that delivers by recording (the virtual phone, whose handset
   * reads the outbox) while it was not there to take them at `enqueue`: one statement moves them from queued
   * to delivered. Nothing leaves the machine, so there is no "sending" state to make durable first and no send
   * to wait for.
   */
  private async record(gateway: SmsGateway, limit: number): Promise<number> {
    let rows: { id: number; text_sealed: Buffer; text_display: string; priority: number }[] = []
    await this.commits.run(() => {
      const now = Date.now()
      rows = this.sql(QUEUE_SQL.record(limit)).all(gateway.name, now, now, now) as typeof rows
    })
    rows.sort(byPriority)
    for (const row of rows) {
      if (row.text_sealed.length > 0 && !this.readable(row)) await this.failUnsent(row.id, UNREADABLE)
      else this.emit('outbox', { id: row.id, status: 'delivered' })
    }
    return rows.length
  }

  private readable(row: { text_sealed: Buffer; text_display: string }): boolean {
    try {
      sendingText(this.vault, row)
      return true
    } catch {
      return false
    }
  }

  /**
   * A row sealed under a key this server no longer has (another master key, a damaged file) can never be
   * sent: it fails for the operator to see, and the queue keeps moving.
   */
  /**
   * Fails a message without sending it: its text cannot be decrypted (an error to look into), or its code
   * expired while it waited (expected during a gateway outage: a warning).
   */
  private async failUnsent(id: number, reason: string, level: 'error' | 'warn' = 'error'): Promise<void> {
    await this.commits.run(() =>
      this.sql(`UPDATE sms_outbox SET status = 'failed', last_error = ? WHERE id = ?`).run(reason, id),
    )
    this.log[level]({ sms: id, reason }, 'SMS failed without being sent')
    this.emit('outbox', { id, status: 'failed' })
  }

  /** Sends claimed messages once their "sending" state is on disk; none leaves when it cannot get there. */
  private async sendBatch(gateway: SmsGateway, rows: ClaimedRow[]): Promise<void> {
    let notOnDisk: GatewayError | undefined
    try {
      // "sending" must be on disk before the modem can transmit: after a power cut the message is then
      // re-sent once and flagged, never silently duplicated.
      await this.durable()
    } catch (err) {
      this.log.error({ err }, 'SMS outbox could not reach the disk; the batch waits for a retry')
      notOnDisk = new GatewayError('the outbox could not be written to disk', true)
    }
    await Promise.all(
      rows.map((row) =>
        this.sendOne(gateway, row, notOnDisk).finally(() => {
          this.inFlight--
          this.kick()
        }),
      ),
    )
  }

  /** `notOnDisk`: the claim is not durable, so the message is not sent but retried like a failed send. */
  private async sendOne(gateway: SmsGateway, row: ClaimedRow, notOnDisk?: GatewayError): Promise<void> {
    let text: string
    try {
      text = sendingText(this.vault, row)
    } catch {
      return this.failUnsent(row.id, UNREADABLE)
    }
    const attempt = row.attempts
    if (row.expires_at !== null && Date.now() >= row.expires_at)
      return this.failUnsent(row.id, EXPIRED, 'warn')
    try {
      if (notOnDisk) throw notOnDisk
      const result = await gateway.send({
        id: row.id,
        to: row.to_number,
        text,
        priority: row.priority,
        expiresAt: row.expires_at ?? undefined,
      })
      const now = Date.now()
      await this.commits.run(() =>
        this.sql(
          `UPDATE sms_outbox SET status = ?, modem = ?, message_ref = ?, sent_at = ?, delivered_at = ?, last_error = NULL WHERE id = ?`,
        ).run(
          result.delivered ? 'delivered' : 'sent',
          result.modem ?? null,
          result.messageRef ?? null,
          now,
          result.delivered ? now : null,
          row.id,
        ),
      )
      this.emit('outbox', { id: row.id, status: result.delivered ? 'delivered' : 'sent' })
    } catch (err) {
      const e = err instanceof GatewayError ? err : new GatewayError((err as Error).message, true)
      // At most one duplicate: a message that may already have gone out once, and may have gone out again
      // now, is not sent a third time.
      const twice = e.maybeSent === true && row.possible_duplicate === 1
      const final = !e.retryable || attempt >= MAX_ATTEMPTS || twice
      const backoff = Math.min(1000 * 2 ** (attempt - 1), 5 * 60_000)
      await this.commits.run(() =>
        this.sql(
          `UPDATE sms_outbox SET status = ?, last_error = ?, next_attempt_at = ?,
             possible_duplicate = possible_duplicate OR ? WHERE id = ?`,
        ).run(
          final ? 'failed' : 'queued',
          (twice ? `${TWICE} (${e.message})` : e.message).slice(0, 300),
          Date.now() + backoff,
          e.maybeSent ? 1 : 0,
          row.id,
        ),
      )
      this.log.warn({ sms: row.id, attempt, final, error: e.message }, 'SMS send failed')
      this.emit('outbox', { id: row.id, status: final ? 'failed' : 'queued' })
    }
  }

  /**
   * A status report: a message sent in several parts is delivered once every part is, and failed as soon as
   * one part is (the parts reported so far are kept on the row, see migration 0330).
   */
  private delivered(report: DeliveryReport, gateway: string, tries = 1): void {
    const modem = report.modem ?? null
    const mr = report.messageRef
    const row =
      reportedMessage(
        this.sql(QUEUE_SQL.sentByRef).all(gateway, mr, modem, modem) as AwaitingReport[],
        report,
      ) ??
      reportedMessage(
        this.sql(QUEUE_SQL.sentByPart).all(gateway, modem, modem, mr) as AwaitingReport[],
        report,
      )
    if (!row) {
      // A report can overtake the record of its own send (written by the next group commit): look again.
      if (tries < REPORT_TRIES)
        setTimeout(() => this.db.open && this.delivered(report, gateway, tries + 1), REPORT_RETRY_MS).unref()
      else this.log.info({ messageRef: mr, modem: report.modem }, 'delivery report for an unknown message')
      return
    }
    const delivered = new Set(row.parts_delivered.split(',').filter(Boolean))
    if (report.delivered) delivered.add(mr)
    const partsDelivered = [...delivered].join(',')
    if (report.delivered && !row.message_ref.split(',').every((part) => delivered.has(part))) {
      this.sql(QUEUE_SQL.partDelivered).run(partsDelivered, row.id)
      return
    }
    const ok = report.delivered ? 1 : 0
    this.sql(QUEUE_SQL.delivered).run(ok, report.at, ok, partsDelivered, row.id)
    this.emit('outbox', { messageRef: row.message_ref, status: report.delivered ? 'delivered' : 'failed' })
  }

  /**
   * Takes in one incoming SMS: stored first (so it is never lost), then offered to the handlers; whatever
   * they decide is recorded on the row.
   */
  async receive(received: IncomingSms, gateway: string): Promise<{ id: number } & IncomingResult> {
    const sms = { ...received, from: this.e164(received.from) }
    const info = this.sql(
      'INSERT INTO sms_inbox (from_number, text, gateway, modem, received_at, missing_parts) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(sms.from, sms.text, gateway, sms.modem ?? null, sms.receivedAt, sms.missingParts?.join(',') ?? null)
    const id = Number(info.lastInsertRowid)
    let result: IncomingResult = { outcome: 'unmatched' }
    let handledBy: string | null = null
    for (const { name, handle } of this.handlers) {
      const r = await handle({ ...sms, id })
      if (r) {
        result = r
        handledBy = name
        break
      }
    }
    this.sql('UPDATE sms_inbox SET outcome = ?, handled_by = ?, ref = ? WHERE id = ?').run(
      result.outcome,
      handledBy,
      result.ref ?? null,
      id,
    )
    this.emit('inbox', { id, outcome: result.outcome })
    return { id, ...result }
  }

  /**
   * The sender as the enrolled numbers are written (E.164), which is what replies are matched on. Networks
   * often deliver it without the international form: `00` + country code, bare international digits, or the
   * national number with its trunk 0 (TON unknown or national). Such a number becomes the one enrolled number
   * ending with its significant digits; an ambiguous or unknown one, or an alphanumeric sender, stays as it
   * came.
   */
  private e164(from: string): string {
    if (!/^\d{6,20}$/.test(from)) return from
    if (from.startsWith('00')) return `+${from.slice(2)}`
    const significant = from.replace(/^0+/, '')
    // Fewer digits than a mobile's national number would end too many numbers to name one.
    if (significant.length < MIN_SIGNIFICANT_DIGITS) return from
    const known = this.numbersEndingWith?.(significant) ?? []
    return known.length === 1 ? known[0] : from
  }

  outbox(filter: {
    status?: string
    to?: string
    ref?: string
    before?: number
    limit: number
  }): OutboxRow[] {
    return this.sql(
      `SELECT id, idempotency_key, to_number, text_display, priority, kind, ref, status, gateway, modem, message_ref, attempts,
                possible_duplicate, last_error, created_at, sent_at, delivered_at
         FROM sms_outbox WHERE id < ? AND (? IS NULL OR status = ?) AND (? IS NULL OR to_number = ?) AND (? IS NULL OR ref = ?)
         ORDER BY id DESC LIMIT ?`,
    ).all(
      filter.before ?? Number.MAX_SAFE_INTEGER,
      filter.status ?? null,
      filter.status ?? null,
      filter.to ?? null,
      filter.to ?? null,
      filter.ref ?? null,
      filter.ref ?? null,
      filter.limit,
    ) as OutboxRow[]
  }
}
