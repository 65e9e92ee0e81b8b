import type { Logger } from '../../log'
import type { Db } from '../../store/db'
import type { Alarms } from '../alarms'
import type { Ledger } from '../ledger/ledger'
import { parseRRes, type RReq } from '../protocol/rreq'
import { serializeMessage } from '../protocol/serialize'
import type { AcsSettingsStore } from '../settings'
import type { DsClient } from '../tls/ds-client'

interface OutboxRow {
  id: number
  acs_trans_id: string
  ds_url: string
  body: string
  attempts: number
}

const SEND_TIMEOUT_MS = 5000
const SCAN_MS = 200

/*
 * The outbox keeps every RReq ever sent; only the open ones are in the partial index `acs_rreq_outbox_due`
 * (status IN ('pending', 'sending')). SQLite uses a partial index only when the query's WHERE repeats the
 * index's condition: `status = 'pending'` alone is not enough, and the 200 ms scan then read the whole table
 * (772 ms with 1.5 million rows). Hence the repeated IN term, and INDEXED BY: with `ORDER BY id` and no
 * statistics the planner would rather walk the whole table in id order.
 */
export const DUE_SQL = `SELECT id FROM acs_rreq_outbox INDEXED BY acs_rreq_outbox_due
  WHERE status IN ('pending', 'sending') AND status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT 20`
export const INTERRUPTED_SQL = `UPDATE acs_rreq_outbox INDEXED BY acs_rreq_outbox_due SET status = 'pending'
  WHERE status IN ('pending', 'sending') AND status = 'sending'`

/**
 * The persistent RReq outbox. The RReq is written in the same database transaction as the challenge
 * result (so exactly one exists per transaction, and none is lost by a crash), sent at once, and retried
 * with exponential back-off until an RRes arrives; giving up raises an alarm. A row caught in 'sending'
 * by a crash goes back to 'pending' at start: the DS de-duplicates by acsTransID.
 */
export class RReqOutbox {
  private timer: NodeJS.Timeout | undefined
  private readonly inFlight = new Set<Promise<void>>()
  private readonly claim
  private readonly due

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly alarms: Alarms,
    private readonly settings: AcsSettingsStore,
    private readonly log: Logger,
    /** The result the RReq reports must be on disk before the DS can hear of it. */
    private readonly durable: () => Promise<void>,
    /** Sends to the DS (mutual TLS with the brand's identity over https). */
    private readonly ds: DsClient,
  ) {
    this.claim = db.prepare(
      `UPDATE acs_rreq_outbox SET status = 'sending', attempts = attempts + 1
       WHERE id = ? AND status = 'pending' RETURNING id, acs_trans_id, ds_url, body, attempts`,
    )
    this.due = db.prepare(DUE_SQL).pluck()
  }

  /** Queues the RReq; call inside the transaction that records the result. Returns the outbox id. */
  enqueue(rreq: RReq, dsURL: string, now = Date.now()): number {
    const info = this.db
      .prepare(
        `INSERT INTO acs_rreq_outbox (acs_trans_id, ds_url, body, status, next_attempt_at, created_at)
         VALUES (?, ?, ?, 'pending', ?, ?)`,
      )
      .run(rreq.acsTransID, dsURL, serializeMessage(rreq), now, now)
    return Number(info.lastInsertRowid)
  }

  start(): void {
    this.db.prepare(INTERRUPTED_SQL).run()
    this.timer = setInterval(() => this.scan(), SCAN_MS)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await Promise.allSettled([...this.inFlight])
  }

  private scan(): void {
    for (const id of this.due.all(Date.now()) as number[]) void this.deliver(id)
  }

  /** Sends one queued RReq now (if nobody else is sending it) and resolves when that attempt is over. */
  deliver(id: number): Promise<void> {
    const row = this.claim.get(id) as OutboxRow | undefined
    if (!row) return Promise.resolve()
    const attempt = this.attempt(row)
    this.inFlight.add(attempt)
    return attempt.finally(() => this.inFlight.delete(attempt))
  }

  private async attempt(row: OutboxRow): Promise<void> {
    const sent = JSON.parse(row.body) as RReq
    const ids = { acsTransID: row.acs_trans_id, threeDSServerTransID: sent.threeDSServerTransID }
    this.ledger.message(ids, 'RReq', 'out', row.body)
    let problem: string
    try {
      await this.durable()
      const brand = this.ledger.header(row.acs_trans_id)?.brand as string | undefined
      const res = await this.ds.post(row.ds_url, row.body, brand, SEND_TIMEOUT_MS)
      const parsed = parseRRes(res.text, sent)
      if (parsed.kind === 'rres') {
        this.db.transaction(() => {
          this.ledger.message(ids, 'RRes', 'in', parsed.rres)
          this.db
            .prepare(
              `UPDATE acs_rreq_outbox SET status = 'delivered', delivered_at = ?, results_status = ?, last_error = NULL WHERE id = ?`,
            )
            .run(Date.now(), parsed.rres.resultsStatus, row.id)
        })()
        return
      }
      if (parsed.kind === 'erro-received') {
        this.ledger.message(ids, 'Erro', 'in', parsed.erro)
        problem = `DS answered Erro ${parsed.erro.errorCode}`
      } else {
        // An invalid RRes is answered with an Erro to the DS, as the specification has it (its answer, if any,
        // changes nothing: the RReq is sent again by the usual back-off).
        this.ledger.message(ids, 'Erro', 'out', parsed.erro)
        await this.ds
          .post(row.ds_url, serializeMessage(parsed.erro), brand, SEND_TIMEOUT_MS)
          .catch(() => undefined)
        problem = `invalid RRes (HTTP ${res.status}): ${parsed.erro.errorCode} ${parsed.erro.errorDetail}`
      }
    } catch (err) {
      problem =
        (err as Error).name === 'TimeoutError'
          ? 'no RRes within 5 s'
          : `DS unreachable: ${(err as Error).message}`
    }
    const { rreqMaxAttempts, rreqRetryBaseMs } = this.settings.get()
    const final = row.attempts >= rreqMaxAttempts
    const backoff = Math.min(rreqRetryBaseMs * 2 ** (row.attempts - 1), 15 * 60_000)
    this.db
      .prepare(`UPDATE acs_rreq_outbox SET status = ?, last_error = ?, next_attempt_at = ? WHERE id = ?`)
      .run(final ? 'failed' : 'pending', problem, Date.now() + backoff, row.id)
    this.log.warn(
      { acsTransID: row.acs_trans_id, attempt: row.attempts, final },
      `RReq not delivered: ${problem}`,
    )
    if (final)
      this.alarms.raise(
        'rreq-undelivered',
        row.acs_trans_id,
        `RReq for ${row.acs_trans_id} undelivered after ${row.attempts} attempts: ${problem}`,
      )
  }
}
