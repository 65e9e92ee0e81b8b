import type { AuditLog } from '../audit/audit-log'
import type { Vault } from '../crypto/vault'
import type { CardholderRepository } from '../enrolment/repository'
import { conflict, notFound } from '../http/problem'
import {
  resyncHotp,
  resyncTotp,
  unlockToken,
  verifyCode,
  type OathToken,
  type TokenState,
  type VerifyResult,
} from '../otp/token'
import type { Db } from '../store/db'
import type { SeedRecord } from './import-report'
import { ImportStage } from './import-stage'
import type { CardholderToken, DongleQuery, DongleState, DongleView } from './model'

interface DongleRow {
  id: number
  serial: string
  manufacturer: string | null
  model: string | null
  kind: 'hotp' | 'totp'
  algorithm: 'SHA1' | 'SHA256' | 'SHA512'
  digits: number
  period: number
  counter: number
  drift_steps: number
  last_time_step: number | null
  fail_count: number
  locked_until: number | null
  pending_resync_counter: number | null
  pending_resync_at: number | null
  state: DongleState
  state_reason: string | null
  batch: string | null
  import_id: number | null
  seed_sealed: Buffer
  cardholder_id: number | null
  programmed_at: number | null
  last_used_at: number | null
  created_at: number
  updated_at: number
}

/** TOTP resync searches this far either side of our clock: a token left in a drawer for a year drifts minutes. */
const TOTP_SYNC_SECONDS = 6 * 3600
/** States in which a token belongs to its cardholder and authenticates. */
const IN_USE: readonly DongleState[] = ['assigned', 'locked']
/** States in which an operator may test or resync a token (on the bench, or with its cardholder). */
const TESTABLE: readonly DongleState[] = ['in-stock', 'assigned']
const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString())

function toView(r: DongleRow, nowMs = Date.now()): DongleView {
  return {
    serial: r.serial,
    ...(r.manufacturer ? { manufacturer: r.manufacturer } : {}),
    ...(r.model ? { model: r.model } : {}),
    kind: r.kind,
    algorithm: r.algorithm,
    digits: r.digits,
    period: r.period,
    counter: r.counter,
    driftSteps: r.drift_steps,
    state: r.state,
    ...(r.state_reason ? { stateReason: r.state_reason } : {}),
    ...(r.batch ? { batch: r.batch } : {}),
    ...(r.import_id !== null ? { importId: r.import_id } : {}),
    ...(r.cardholder_id !== null ? { cardholderId: r.cardholder_id } : {}),
    failCount: r.fail_count,
    ...(r.locked_until !== null && r.locked_until > nowMs ? { lockedUntil: iso(r.locked_until) } : {}),
    ...(r.last_used_at !== null ? { lastUsedAt: iso(r.last_used_at) } : {}),
    ...(r.programmed_at !== null ? { programmedAt: iso(r.programmed_at) } : {}),
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  }
}

function tokenState(r: DongleRow): TokenState {
  return {
    counter: r.counter,
    driftSteps: r.drift_steps,
    lastTimeStep: r.last_time_step,
    failCount: r.fail_count,
    lockedUntil: r.locked_until,
    pendingResync:
      r.pending_resync_counter === null
        ? null
        : { counter: r.pending_resync_counter, at: r.pending_resync_at ?? 0 },
  }
}

export interface InsertOptions {
  importId?: number
  batch?: string
  programmedAt?: number
  state?: TokenState
}

/** What an authentication method learns from a verification: nothing but yes or no. */
export interface DongleVerification {
  ok: boolean
}

/**
 * The OTP dongle inventory: tokens with their sealed seeds and token state, their life cycle (in stock →
 * assigned → lost / revoked) and every verification. Each state change is one transaction with its audit row.
 */
export class DongleInventory {
  private readonly bySerial
  private readonly inUseBy
  private readonly ofCardholder
  private readonly insert
  private readonly saveState

  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly audit: AuditLog,
    private readonly cardholders: CardholderRepository,
  ) {
    this.bySerial = db.prepare('SELECT * FROM dongles WHERE serial = ?')
    this.inUseBy = db.prepare(
      `SELECT * FROM dongles WHERE cardholder_id = ? AND state IN ('assigned', 'locked')`,
    )
    // The token in use first, then the lost and replaced ones kept for the history (a handful per cardholder).
    this.ofCardholder = db.prepare(
      `SELECT * FROM dongles WHERE cardholder_id = ?
       ORDER BY state NOT IN ('assigned', 'locked'), updated_at DESC, serial`,
    )
    this.insert = db.prepare(
      `INSERT INTO dongles (serial, manufacturer, model, kind, algorithm, digits, period, counter, drift_steps,
         last_time_step, fail_count, locked_until, state, batch, import_id, seed_sealed, programmed_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, 'in-stock', ?, ?, ?, ?, ?, ?)`,
    )
    this.saveState = db.prepare(
      `UPDATE dongles SET counter = ?, drift_steps = ?, last_time_step = ?, fail_count = ?, locked_until = ?,
         pending_resync_counter = ?, pending_resync_at = ?, last_used_at = coalesce(?, last_used_at), updated_at = ?
       WHERE id = ?`,
    )
  }

  /** Adds tokens in stock, sealing each seed under the key hierarchy (AAD = serial). Call inside a transaction. */
  insertSeeds(seeds: readonly SeedRecord[], options: InsertOptions = {}): void {
    const now = Date.now()
    for (const s of seeds) {
      const state = options.state
      this.insert.run(
        s.serial,
        s.manufacturer ?? null,
        s.model ?? null,
        s.kind,
        s.algorithm,
        s.digits,
        s.period,
        state?.counter ?? s.counter,
        state?.driftSteps ?? s.driftSteps ?? 0,
        state?.lastTimeStep ?? null,
        options.batch ?? null,
        options.importId ?? null,
        this.vault.seal('secret-enc', s.secret, s.serial),
        options.programmedAt ?? null,
        now,
        now,
      )
    }
  }

  /** A staging area for the tokens of import `importId` (see {@link ImportStage}). */
  stage(importId: number): ImportStage {
    return new ImportStage(this.db, this.vault, importId)
  }

  /**
   * Records a token the bench has just programmed and verified: a generated seed becomes a new token in stock,
   * a seed taken from the inventory keeps its row and gets the device's token state. Audited.
   */
  recordProgrammed(
    seed: SeedRecord,
    state: TokenState,
    programmedAt: number,
    source: 'generated' | 'inventory',
    actor: string,
  ): DongleView {
    this.db
      .transaction(() => {
        if (source === 'generated') {
          this.insertSeeds([seed], { batch: 'bench', programmedAt, state })
        } else {
          const row = this.row(seed.serial)
          this.persist(row, state, false)
          this.db.prepare('UPDATE dongles SET programmed_at = ? WHERE id = ?').run(programmedAt, row.id)
        }
        this.audit.record({
          actor,
          action: 'dongle.program',
          target: `dongle:${seed.serial}`,
          details: { source, kind: seed.kind, algorithm: seed.algorithm, digits: seed.digits },
        })
      })
      .immediate()
    return this.get(seed.serial)
  }

  /** The stored seed for a device about to be programmed, or null when the bench should generate one. */
  seedForBench(serial: string): SeedRecord | null {
    const row = this.bySerial.get(serial) as DongleRow | undefined
    if (!row) return null
    if (row.state !== 'in-stock' || row.programmed_at !== null) {
      throw conflict(
        `Token ${serial} is already in the inventory (${row.state}${row.programmed_at !== null ? ', programmed' : ''})`,
      )
    }
    return this.seedOf(row)
  }

  count(): number {
    return this.db.prepare('SELECT count(*) FROM dongles').pluck().get() as number
  }

  /** Filtered inventory, keyset-paged by serial (stable and index-backed at any depth). */
  list(q: DongleQuery): { items: DongleView[]; nextAfter?: string; total: number } {
    const where: string[] = []
    const params: unknown[] = []
    const equal = (column: string, value: unknown) => {
      if (value === undefined) return
      where.push(`${column} = ?`)
      params.push(value)
    }
    equal('state', q.state)
    equal('kind', q.kind)
    equal('batch', q.batch)
    equal('cardholder_id', q.cardholderId)
    if (q.serial) {
      // A prefix as an index range: serial >= p AND serial < p + U+FFFF.
      where.push('serial >= ? AND serial < ?')
      params.push(q.serial, q.serial + '\uffff')
    }
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : ''
    const total = this.db
      .prepare(`SELECT count(*) FROM dongles ${filter}`)
      .pluck()
      .get(...params) as number
    const page = q.after === undefined ? filter : `${filter ? `${filter} AND` : 'WHERE'} serial > ?`
    // One more than asked: a next page is offered only when there is one.
    const found = this.db
      .prepare(`SELECT * FROM dongles ${page} ORDER BY serial LIMIT ?`)
      .all(...params, ...(q.after === undefined ? [] : [q.after]), q.limit + 1) as DongleRow[]
    const rows = found.slice(0, q.limit)
    const now = Date.now()
    return {
      items: rows.map((r) => toView(r, now)),
      ...(found.length > q.limit ? { nextAfter: rows[rows.length - 1].serial } : {}),
      total,
    }
  }

  get(serial: string): DongleView {
    return toView(this.row(serial))
  }

  /** The token a cardholder uses now, if any (the challenge UI needs its code length). */
  inUseFor(cardholderId: number): DongleView | undefined {
    const row = this.inUseBy.get(cardholderId) as DongleRow | undefined
    return row ? toView(row) : undefined
  }

  /** Every token a cardholder has or had, as customer service sees it ({@link CardholderToken}). */
  forCardholder(cardholderId: number): CardholderToken[] {
    const now = Date.now()
    return (this.ofCardholder.all(cardholderId) as DongleRow[]).map((r) => cardholderToken(r, now))
  }

  /** One token as customer service sees it (CardholderToken). */
  cardholderToken(serial: string): CardholderToken {
    return cardholderToken(this.row(serial), Date.now())
  }

  /** A token with its seed opened: for the encrypted backup and for programming a vendor seed. */
  seedRecord(serial: string): SeedRecord {
    return this.seedOf(this.row(serial))
  }

  /**
   * Seeds of the tokens in use (assigned or locked), in serial order, for the issuer's backup; each names its
   * cardholder as the PSKC UserId. Rows are read up front (a statement iterator would keep the connection
   * busy while the export streams) and each seed is opened only when its turn comes.
   */
  assignedSeeds(): { count: number; seeds: Generator<SeedRecord> } {
    const rows = this.db
      .prepare(`SELECT * FROM dongles WHERE state IN ('assigned', 'locked') ORDER BY serial`)
      .all() as DongleRow[]
    const open = (r: DongleRow) => this.seedOf(r)
    function* seeds() {
      for (const r of rows) yield { ...open(r), userId: String(r.cardholder_id) }
    }
    return { count: rows.length, seeds: seeds() }
  }

  private seedOf(r: DongleRow): SeedRecord {
    return {
      serial: r.serial,
      kind: r.kind,
      secret: this.vault.open(r.seed_sealed, r.serial),
      algorithm: r.algorithm,
      digits: r.digits,
      counter: r.counter,
      period: r.period,
      // For the backup's TimeDrift; a token that never drifted carries none, as an imported one without it.
      ...(r.kind === 'totp' && r.drift_steps !== 0 ? { driftSteps: r.drift_steps } : {}),
      ...(r.manufacturer ? { manufacturer: r.manufacturer } : {}),
      ...(r.model ? { model: r.model } : {}),
    }
  }

  private row(serial: string): DongleRow {
    const row = this.bySerial.get(serial) as DongleRow | undefined
    if (!row) throw notFound(`No token with serial ${serial} in the inventory`)
    return row
  }

  private setState(
    row: DongleRow,
    state: DongleState,
    cardholderId: number | null,
    reason: string | null,
  ): void {
    this.db
      .prepare(
        'UPDATE dongles SET state = ?, cardholder_id = ?, state_reason = ?, updated_at = ? WHERE id = ?',
      )
      .run(state, cardholderId, reason, Date.now(), row.id)
  }

  assign(serial: string, cardholderId: number, actor: string): DongleView {
    this.cardholders.get(cardholderId) // 404 when there is no such cardholder
    this.db
      .transaction(() => {
        const row = this.row(serial)
        if (row.state !== 'in-stock') {
          throw conflict(`Token ${serial} is ${row.state}; only a token in stock can be assigned`)
        }
        const current = this.inUseBy.get(cardholderId) as DongleRow | undefined
        if (current) {
          throw conflict(
            `Cardholder ${cardholderId} already uses token ${current.serial}; replace it instead`,
          )
        }
        this.setState(row, 'assigned', cardholderId, null)
        this.audit.record({
          actor,
          action: 'dongle.assign',
          target: `dongle:${serial}`,
          details: { cardholderId },
        })
      })
      .immediate()
    return this.get(serial)
  }

  unassign(serial: string, reason: string, actor: string): DongleView {
    this.db
      .transaction(() => {
        const row = this.inUse(serial)
        this.setState(row, 'in-stock', null, reason)
        this.audit.record({
          actor,
          action: 'dongle.unassign',
          target: `dongle:${serial}`,
          details: { cardholderId: row.cardholder_id, reason },
        })
      })
      .immediate()
    return this.get(serial)
  }

  /** The old token is revoked and the new one assigned to the same cardholder, in one transaction. */
  replace(oldSerial: string, newSerial: string, reason: string, actor: string): DongleView {
    this.db
      .transaction(() => {
        const old = this.inUse(oldSerial)
        const replacement = this.row(newSerial)
        if (replacement.state !== 'in-stock') {
          throw conflict(`Token ${newSerial} is ${replacement.state}; the replacement must be in stock`)
        }
        this.setState(old, 'revoked', old.cardholder_id, `replaced by ${newSerial}: ${reason}`)
        this.setState(replacement, 'assigned', old.cardholder_id, null)
        this.audit.record({
          actor,
          action: 'dongle.replace',
          target: `dongle:${oldSerial}`,
          details: { cardholderId: old.cardholder_id, replacement: newSerial, reason },
        })
      })
      .immediate()
    return this.get(newSerial)
  }

  /** Lost or stolen: the token stops authenticating at once; its cardholder is kept for the history. */
  markLost(serial: string, how: 'lost' | 'stolen', note: string, actor: string): DongleView {
    this.db
      .transaction(() => {
        const row = this.row(serial)
        if (row.state === 'lost' || row.state === 'revoked') {
          throw conflict(`Token ${serial} is already ${row.state}`)
        }
        this.setState(row, 'lost', row.cardholder_id, `${how}: ${note}`)
        this.audit.record({
          actor,
          action: `dongle.${how}`,
          target: `dongle:${serial}`,
          details: { cardholderId: row.cardholder_id, note },
        })
      })
      .immediate()
    return this.get(serial)
  }

  /** An operator's lock (suspected misuse): the token refuses every code until unlocked. */
  lock(serial: string, reason: string, actor: string): DongleView {
    this.db
      .transaction(() => {
        const row = this.row(serial)
        if (row.state !== 'assigned')
          throw conflict(`Token ${serial} is ${row.state}; only an assigned token can be locked`)
        this.setState(row, 'locked', row.cardholder_id, reason)
        this.audit.record({ actor, action: 'dongle.lock', target: `dongle:${serial}`, details: { reason } })
      })
      .immediate()
    return this.get(serial)
  }

  /** Clears the fail counter and any lock, the automatic one (too many wrong codes) and an operator's. */
  unlock(serial: string, actor: string): DongleView {
    this.db
      .transaction(() => {
        const row = this.row(serial)
        if (row.state !== 'assigned' && row.state !== 'locked' && row.state !== 'in-stock') {
          throw conflict(`Token ${serial} is ${row.state}; it cannot be unlocked`)
        }
        this.persist(row, unlockToken(tokenState(row)), false)
        if (row.state === 'locked') this.setState(row, 'assigned', row.cardholder_id, null)
        this.audit.record({
          actor,
          action: 'dongle.unlock',
          target: `dongle:${serial}`,
          details: {
            failCount: row.fail_count,
            wasLocked: row.state === 'locked' || row.locked_until !== null,
          },
        })
      })
      .immediate()
    return this.get(serial)
  }

  /** Resynchronises a drifted token from two consecutive codes (HOTP counter or TOTP clock offset). */
  resync(serial: string, otp1: string, otp2: string, actor: string): DongleVerification {
    return this.verifyRow(
      () => this.row(serial),
      actor,
      'dongle.resync',
      (row, token, state, now) =>
        token.kind === 'hotp'
          ? resyncHotp(token, state, otp1, otp2, now)
          : resyncTotp(token, state, otp1, otp2, now, Math.ceil(TOTP_SYNC_SECONDS / row.period)),
    )
  }

  /**
   * Checks a code against one token (the bench's or an operator's test, `ims dongle verify`). It is a real
   * verification: an accepted code is used up and a wrong one counts towards the lock.
   */
  testCode(serial: string, code: string, actor: string): DongleVerification {
    return this.verifyRow(
      () => this.row(serial),
      actor,
      'dongle.test',
      (_row, token, state, now) => verifyCode(token, state, code, now),
    )
  }

  /**
   * The service authentication methods call: checks a code against the token the cardholder uses now. The
   * answer is only yes or no, the same for a wrong code, a replay, a locked, lost or absent token; the reason
   * goes to the audit log. Counter, drift and fail counter are updated in the same transaction.
   */
  verifyDongleCode(cardholderId: number, code: string, actor = 'system'): DongleVerification {
    return this.verifyRow(
      () => (this.inUseBy.get(cardholderId) as DongleRow | undefined) ?? null,
      actor,
      'dongle.verify',
      (_row, token, state, now) => verifyCode(token, state, code, now),
      { target: `cardholder:${cardholderId}`, usable: ['assigned'] },
    )
  }

  private verifyRow(
    find: () => DongleRow | null,
    actor: string,
    action: string,
    check: (row: DongleRow, token: OathToken, state: TokenState, nowMs: number) => VerifyResult,
    options: { target?: string; usable: readonly DongleState[] } = { usable: TESTABLE },
  ): DongleVerification {
    return this.db
      .transaction((): DongleVerification => {
        const row = find()
        const where = options.target ?? (row ? `dongle:${row.serial}` : undefined)
        if (!row || !options.usable.includes(row.state)) {
          // Not even looked at: locked (by an operator), lost, revoked, not in use or no token at all.
          const reason = row ? `token-${row.state}` : 'no-token'
          this.audit.record({
            actor,
            action,
            target: where,
            details: { ok: false, reason, serial: row?.serial },
          })
          return { ok: false }
        }
        const now = Date.now()
        const secret = this.vault.open(row.seed_sealed, row.serial)
        try {
          const token: OathToken =
            row.kind === 'hotp'
              ? { kind: 'hotp', secret, algorithm: row.algorithm, digits: row.digits }
              : {
                  kind: 'totp',
                  secret,
                  algorithm: row.algorithm,
                  digits: row.digits,
                  period: row.period,
                  t0: 0,
                }
          const result = check(row, token, tokenState(row), now)
          this.persist(row, result.state, result.accepted, now)
          this.audit.record({
            actor,
            action,
            target: where,
            details: {
              ok: result.accepted,
              reason: result.audit.reason,
              serial: row.serial,
              failCount: result.audit.failCount,
              ...(result.audit.lockedUntil ? { lockedUntil: iso(result.audit.lockedUntil) } : {}),
            },
          })
          return { ok: result.accepted }
        } finally {
          secret.fill(0)
        }
      })
      .immediate()
  }

  private inUse(serial: string): DongleRow {
    const row = this.row(serial)
    if (!IN_USE.includes(row.state) || row.cardholder_id === null) {
      throw conflict(`Token ${serial} is ${row.state}, not assigned to a cardholder`)
    }
    return row
  }

  private persist(row: DongleRow, s: TokenState, used: boolean, now = Date.now()): void {
    this.saveState.run(
      s.counter,
      s.driftSteps,
      s.lastTimeStep,
      s.failCount,
      s.lockedUntil,
      s.pendingResync?.counter ?? null,
      s.pendingResync?.at ?? null,
      used ? now : null,
      now,
      row.id,
    )
  }
}

/** What customer service sees of a token: its state and use, never its counter, drift or batch. */
function cardholderToken(r: DongleRow, now: number): CardholderToken {
  const lockedUntil = r.locked_until !== null && r.locked_until > now ? iso(r.locked_until) : undefined
  return {
    serial: r.serial,
    ...(r.model ? { model: r.model } : {}),
    kind: r.kind,
    digits: r.digits,
    state: r.state,
    ...(r.state_reason ? { stateReason: r.state_reason } : {}),
    locked: r.state === 'locked' || lockedUntil !== undefined,
    ...(lockedUntil ? { lockedUntil } : {}),
    failCount: r.fail_count,
    ...(r.last_used_at !== null ? { lastUsedAt: iso(r.last_used_at) } : {}),
  }
}
