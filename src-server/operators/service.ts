import { createHash, randomBytes } from 'node:crypto'
import { authenticator } from 'otplib'
import QRCode from 'qrcode'
import type { Operator, Role } from '../contract'
import type { AuditLog } from '../audit/audit-log'
import type { Vault } from '../crypto/vault'
import type { Db } from '../store/db'
import { HttpProblem } from '../http/problem'
import { checkPasswordPolicy, DUMMY_HASH, hashPassword, verifyPassword, WeakPasswordError } from './password'
import { ROLE_PERMISSIONS, type Permission } from './permissions'
import { matchingCounters } from '../otp/oath'

/** Operators' authenticator apps: RFC 6238 defaults (SHA-1, 6 digits, 30 s), one step of drift either way. */
const TOTP = { algorithm: 'SHA1', digits: 6, periodMs: 30_000, window: 1 } as const

interface OperatorRow {
  id: number
  username: string
  display_name: string
  role: Role
  password_hash: string
  totp_secret: Buffer | null
  totp_pending: Buffer | null
  status: 'active' | 'disabled'
  failed_logins: number
  locked_until: number
  last_totp_step: number
}

export interface SessionInfo {
  operator: Operator
  permissions: string[]
  expiresAt: number
  tokenHash: Buffer
}

export interface SessionPolicy {
  absoluteMs: number
  idleMs: number
}

/** Lockout: after this many consecutive failures the account locks, doubling each further failure. */
const FREE_FAILURES = 5
const FIRST_LOCK_MS = 30_000
const MAX_LOCK_MS = 15 * 60_000
/** Unknown usernames whose failures are remembered (the oldest are forgotten first). */
const MAX_UNKNOWN_NAMES = 10_000

/** When an account with this many failures unlocks (0: not locked). */
function lockedUntilAfter(failures: number, now: number): number {
  const extra = failures - FREE_FAILURES
  return extra >= 0 ? now + Math.min(FIRST_LOCK_MS * 2 ** extra, MAX_LOCK_MS) : 0
}

function toOperator(row: OperatorRow): Operator {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    totpEnabled: row.totp_secret !== null,
    status: row.status,
  }
}

/**
 * Dual control over the key custodians' accounts. A key ceremony needs two different custodians; if one admin
 * alone could make custodians, or take existing ones over by resetting their credentials, they could run a
 * "two-person" ceremony by themselves. So making or unmaking a custodian, re-enabling a disabled one and
 * resetting one's password or second factor need a second admin (approveAccountChange). Disabling a custodian
 * and renaming one do not: taking access away must stay quick, and a name gives none.
 *
 * Admin accounts are under the same control, or one admin would make a second admin to approve with, or
 * take a co-admin's account over (reset their password, then approve as them). The one exception is the
 * installation's second admin account: while the requester is the only admin account there is (in any
 * status, so disabling the others does not bring it back), nobody could approve it. An admin locked out of
 * their account with nobody to approve is recovered on the server machine (`ims operator recover`).
 */
const CUSTODIAN: Role = 'key-custodian'

/** The accounts under dual control, named as the refusals name them. */
const ROLE_NAME: Partial<Record<Role, string>> = { [CUSTODIAN]: 'a key custodian', admin: 'an admin' }

function requireSecondAdmin(approvedBy: string | undefined, what: string): void {
  if (!approvedBy)
    throw new HttpProblem(
      403,
      'Dual control',
      `${what} needs a second admin (operators.manage) approving: send approver`,
    )
}

/**
 * The dual-controlled parts of a change of role or status (see CUSTODIAN), as the guarded role concerned and
 * the change in words. Ending an admin's role, like disabling an account, takes access away: not guarded.
 */
function guardedChanges(
  before: Operator,
  patch: { role?: Role; status?: 'active' | 'disabled' },
): { role: Role; what: string; making?: boolean }[] {
  const after = patch.role ?? before.role
  const changes: { role: Role; what: string; making?: boolean }[] = []
  if (before.role === CUSTODIAN && after !== CUSTODIAN)
    changes.push({ role: CUSTODIAN, what: 'Ending a key custodian’s role' })
  if (before.role !== after && ROLE_NAME[after])
    changes.push({ role: after, what: `Making ${ROLE_NAME[after]}`, making: true })
  if (before.role === after && ROLE_NAME[after] && before.status === 'disabled' && patch.status === 'active')
    changes.push({ role: after, what: `Re-enabling ${ROLE_NAME[after]}` })
  return changes
}

const hashToken = (token: string) => createHash('sha256').update(token).digest()
const invalidCredentials = () =>
  new HttpProblem(401, 'Invalid credentials', 'The username or password is wrong')

export class OperatorService {
  private readonly byName
  private readonly byId
  private readonly sessionByHash
  private readonly touchSession
  /**
   * Failures of usernames that do not exist, in memory: they lock like a real account's, or a 423 after the
   * fifth wrong password would tell an attacker which usernames are real.
   */
  private readonly unknownNames = new Map<string, { failed_logins: number; locked_until: number }>()

  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly audit: AuditLog,
    private readonly policy: SessionPolicy,
  ) {
    this.byName = db.prepare('SELECT * FROM operators WHERE username = ?')
    this.byId = db.prepare('SELECT * FROM operators WHERE id = ?')
    this.sessionByHash = db.prepare(
      `SELECT s.token_hash, s.expires_at, s.last_seen_at, o.* FROM sessions s
       JOIN operators o ON o.id = s.operator_id WHERE s.token_hash = ?`,
    )
    this.touchSession = db.prepare('UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?')
  }

  count(): number {
    return this.db.prepare('SELECT count(*) FROM operators').pluck().get() as number
  }

  list(): Operator[] {
    return (this.db.prepare('SELECT * FROM operators ORDER BY username').all() as OperatorRow[]).map(
      toOperator,
    )
  }

  get(id: number): Operator {
    const row = this.byId.get(id) as OperatorRow | undefined
    if (!row) throw new HttpProblem(404, 'Not found', `No operator with id ${id}`)
    return toOperator(row)
  }

  /**
   * Refuses a change to an account of `role` that needs a second admin and came without one (see CUSTODIAN).
   * `making`: the change makes an admin, which the requester (`actor`) does alone while no other admin
   * account exists.
   */
  private guard(
    role: Role,
    actor: string,
    approvedBy: string | undefined,
    what: (account: string) => string,
    making = false,
  ): void {
    const account = ROLE_NAME[role]
    if (!account || approvedBy) return
    if (role === 'admin' && making) {
      const others = this.db
        .prepare(`SELECT count(*) FROM operators WHERE role = 'admin' AND 'operator:' || username IS NOT ?`)
        .pluck()
        .get(actor) as number
      if (others === 0) return
    }
    requireSecondAdmin(approvedBy, what(account))
  }

  /** `approvedBy`: the second admin (approveAccountChange) a new key custodian or admin needs. */
  async create(
    input: { username: string; displayName: string; role: Role; password: string },
    actor: string,
    approvedBy?: string,
  ): Promise<Operator> {
    this.guard(input.role, actor, approvedBy, (account) => `Making ${account}`, true)
    try {
      checkPasswordPolicy(input.password, input.username)
    } catch (err) {
      if (err instanceof WeakPasswordError) throw new HttpProblem(400, 'Weak password', err.message)
      throw err
    }
    if (this.byName.get(input.username))
      throw new HttpProblem(409, 'Conflict', `The username ${input.username} is taken`)
    const hash = await hashPassword(input.password)
    const now = new Date().toISOString()
    return this.db.transaction(() => {
      const info = this.db
        .prepare(
          `INSERT INTO operators (username, display_name, role, password_hash, password_changed_at, created_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(input.username, input.displayName, input.role, hash, now, now)
      const id = Number(info.lastInsertRowid)
      this.audit.record({
        actor,
        action: 'operator.create',
        target: `operator:${input.username}`,
        details: { role: input.role, ...(approvedBy && { approvedBy }) },
      })
      return this.get(id)
    })()
  }

  /**
   * First run: creates the first admin, only while no operator exists. The check and the insert share one
   * immediate transaction, so two racing requests cannot both succeed.
   */
  async createFirstAdmin(input: {
    username: string
    displayName: string
    password: string
  }): Promise<Operator> {
    try {
      checkPasswordPolicy(input.password, input.username)
    } catch (err) {
      if (err instanceof WeakPasswordError) throw new HttpProblem(400, 'Weak password', err.message)
      throw err
    }
    const hash = await hashPassword(input.password)
    const now = new Date().toISOString()
    const id = this.db
      .transaction(() => {
        if (this.count() > 0)
          throw new HttpProblem(409, 'Conflict', 'The first admin exists already; sign in instead')
        const info = this.db
          .prepare(
            `INSERT INTO operators (username, display_name, role, password_hash, password_changed_at, created_at)
             VALUES (?, ?, 'admin', ?, ?, ?)`,
          )
          .run(input.username, input.displayName, hash, now, now)
        this.audit.record({
          actor: `operator:${input.username}`,
          action: 'system.setup',
          target: `operator:${input.username}`,
        })
        return Number(info.lastInsertRowid)
      })
      .immediate()
    return this.get(id)
  }

  /** `approvedBy`: the second admin (approveAccountChange) a change of a key custodian's role or status needs. */
  update(
    id: number,
    patch: { displayName?: string; role?: Role; status?: 'active' | 'disabled' },
    actor: string,
    approvedBy?: string,
  ): Operator {
    const before = this.get(id)
    for (const change of guardedChanges(before, patch))
      this.guard(change.role, actor, approvedBy, () => change.what, change.making)
    if (before.role === 'admin' && ((patch.role && patch.role !== 'admin') || patch.status === 'disabled')) {
      const admins = this.db
        .prepare(`SELECT count(*) FROM operators WHERE role = 'admin' AND status = 'active'`)
        .pluck()
        .get() as number
      if (admins <= 1)
        throw new HttpProblem(409, 'Conflict', 'This is the last active admin; make another admin first')
    }
    return this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE operators SET display_name = coalesce(?, display_name), role = coalesce(?, role),
           status = coalesce(?, status) WHERE id = ?`,
        )
        .run(patch.displayName ?? null, patch.role ?? null, patch.status ?? null, id)
      if (patch.status === 'disabled') this.db.prepare('DELETE FROM sessions WHERE operator_id = ?').run(id)
      this.audit.record({
        actor,
        action: 'operator.update',
        target: `operator:${before.username}`,
        details: { ...patch, ...(approvedBy && { approvedBy }) },
      })
      return this.get(id)
    })()
  }

  /**
   * Checks credentials and opens a session. Every failure answers the same way whether the user exists or
   * not, and costs the same scrypt time; repeated failures lock the account with a growing back-off.
   */
  async login(
    input: { username: string; password: string; totp?: string },
    client: { ip?: string; userAgent?: string },
    now = Date.now(),
  ): Promise<{ token: string; session: SessionInfo }> {
    const row = await this.verifyCredentials(input, client, now)
    const token = randomBytes(32).toString('base64url')
    const tokenHash = hashToken(token)
    const expiresAt = now + this.policy.absoluteMs
    this.db.transaction(() => {
      this.db.prepare('UPDATE operators SET failed_logins = 0, locked_until = 0 WHERE id = ?').run(row.id)
      this.db
        .prepare(
          `INSERT INTO sessions (token_hash, operator_id, created_at, last_seen_at, expires_at, ip, user_agent)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          tokenHash,
          row.id,
          now,
          now,
          expiresAt,
          client.ip ?? null,
          client.userAgent?.slice(0, 200) ?? null,
        )
      this.audit.record({
        actor: `operator:${row.username}`,
        action: 'operator.login',
        details: { ip: client.ip },
      })
    })()
    const operator = toOperator(row)
    return {
      token,
      session: { operator, permissions: [...ROLE_PERMISSIONS[operator.role]], expiresAt, tokenHash },
    }
  }

  /**
   * A second person approves an action on the requester's screen (a supervisor override, the dual control of
   * key material leaving the system): their own credentials, checked exactly like a sign-in (the same lockout
   * and audit), from an active operator other than the requester whose role has `permission`. Answers 403, not
   * 401, when refused: the requester's own session is fine. Returns the approver's audit name.
   */
  async approve(
    input: { username: string; password: string; totp?: string },
    requester: Operator,
    permission: Permission,
    client: { ip?: string },
    now = Date.now(),
  ): Promise<string> {
    let row: OperatorRow
    try {
      row = await this.verifyCredentials(input, client, now)
    } catch (err) {
      if (!(err instanceof HttpProblem)) throw err
      throw new HttpProblem(
        403,
        'Approval refused',
        `The second person could not be verified: ${err.detail}`,
        {
          ...(err.extra?.totpRequired ? { totpRequired: true } : {}),
        },
      )
    }
    if (row.id === requester.id)
      throw new HttpProblem(403, 'Approval refused', 'The second person must be another operator')
    if (!ROLE_PERMISSIONS[row.role].includes(permission))
      throw new HttpProblem(
        403,
        'Approval refused',
        `The second person's role cannot approve this (${permission})`,
      )
    this.db.prepare('UPDATE operators SET failed_logins = 0, locked_until = 0 WHERE id = ?').run(row.id)
    return `operator:${row.username}`
  }

  /**
   * The second admin of a dual-controlled account change (see CUSTODIAN): approve() with operators.manage, by
   * someone who is neither the requester nor the account changed (an admin cannot approve their own move to
   * key custodian). `targetId` is absent when the account is being created.
   */
  async approveAccountChange(
    input: { username: string; password: string; totp?: string },
    requester: Operator,
    targetId: number | undefined,
    client: { ip?: string },
  ): Promise<string> {
    const target = targetId === undefined ? undefined : this.get(targetId)
    const approvedBy = await this.approve(input, requester, 'operators.manage', client)
    if (target && approvedBy === `operator:${target.username}`)
      throw new HttpProblem(
        403,
        'Approval refused',
        'The second person must not be the account being changed',
      )
    return approvedBy
  }

  /** The sign-in's checks (lockout, password, TOTP and its replay), failures counted and audited. */
  private async verifyCredentials(
    input: { username: string; password: string; totp?: string },
    client: { ip?: string },
    now: number,
  ): Promise<OperatorRow> {
    const before = this.byName.get(input.username) as OperatorRow | undefined
    this.refuseIfLocked(before ?? this.unknownNames.get(input.username), client.ip, now)
    const passwordOk = await verifyPassword(input.password, before?.password_hash ?? DUMMY_HASH)
    // Sign-ins of one account overlap while scrypt runs: the row is read again, so failures and codes other
    // attempts recorded meanwhile count (a burst of guesses must lock the account, a code be used once).
    const row = before && (this.byId.get(before.id) as OperatorRow | undefined)
    if (row) this.refuseIfLocked(row, client.ip, now)
    if (!row || !passwordOk || row.status !== 'active') {
      if (row) this.recordFailure(row, now, client.ip, 'password')
      else this.recordUnknownFailure(input.username, now, client.ip)
      throw invalidCredentials()
    }
    if (row.totp_secret) {
      if (!input.totp) {
        throw new HttpProblem(
          401,
          'Second factor required',
          'Enter the 6-digit code from your authenticator app',
          {
            totpRequired: true,
          },
        )
      }
      const step = this.checkTotp(row.totp_secret, input.totp, now)
      if (step === null || step <= row.last_totp_step) {
        this.recordFailure(row, now, client.ip, 'totp')
        throw new HttpProblem(
          401,
          'Invalid second factor',
          'The authenticator code is wrong or was already used',
          {
            totpRequired: true,
          },
        )
      }
      this.db.prepare('UPDATE operators SET last_totp_step = ? WHERE id = ?').run(step, row.id)
    }
    return row
  }

  /** A locked account, or a locked unknown name (without a username: the answer is the same). */
  private refuseIfLocked(
    row: (Pick<OperatorRow, 'locked_until'> & { username?: string }) | undefined,
    ip: string | undefined,
    now: number,
  ): void {
    if (!row || row.locked_until <= now) return
    const actor = row.username ? `operator:${row.username}` : 'anonymous'
    this.audit.record({ actor, action: 'operator.login.locked', details: { ip } })
    throw new HttpProblem(423, 'Account locked', 'Too many failed sign-ins; try again later', {
      retryAfter: Math.ceil((row.locked_until - now) / 1000),
    })
  }

  private recordUnknownFailure(username: string, now: number, ip: string | undefined): void {
    const failures = (this.unknownNames.get(username)?.failed_logins ?? 0) + 1
    this.unknownNames.delete(username) // re-inserted last: the map forgets the names tried longest ago
    this.unknownNames.set(username, {
      failed_logins: failures,
      locked_until: lockedUntilAfter(failures, now),
    })
    if (this.unknownNames.size > MAX_UNKNOWN_NAMES)
      this.unknownNames.delete(this.unknownNames.keys().next().value as string)
    this.audit.record({
      actor: 'anonymous',
      action: 'operator.login.failed',
      details: { ip, reason: 'unknown user' },
    })
  }

  /** `row` as read after the password check (its failure count is the current one). */
  private recordFailure(row: OperatorRow, now: number, ip: string | undefined, reason: string): void {
    const failures = row.failed_logins + 1
    const lockedUntil = lockedUntilAfter(failures, now)
    this.db.transaction(() => {
      this.db
        .prepare('UPDATE operators SET failed_logins = ?, locked_until = ? WHERE id = ?')
        .run(failures, lockedUntil, row.id)
      this.audit.record({
        actor: `operator:${row.username}`,
        action: 'operator.login.failed',
        details: {
          ip,
          reason,
          failures,
          ...(lockedUntil ? { lockedForSeconds: (lockedUntil - now) / 1000 } : {}),
        },
      })
    })()
  }

  /** The time step the code is valid for (the nearest one within the window), or null. */
  private checkTotp(sealedSecret: Buffer, code: string, now: number): number | null {
    // otplib generates and encodes the secret, but its check compares codes as strings (early exit): the
    // comparison is ours (otp/oath.ts), which takes the same time whether and where a code differs.
    const key = Buffer.from(authenticator.decode(this.vault.open(sealedSecret).toString('utf8')), 'hex')
    const step = Math.floor(now / TOTP.periodMs)
    const matches = matchingCounters(key, code, step - TOTP.window, 2 * TOTP.window + 1, TOTP)
    if (matches.length === 0) return null
    return matches.reduce((best, c) => (Math.abs(c - step) < Math.abs(best - step) ? c : best))
  }

  /** Resolves a bearer token to its session, enforcing absolute expiry and the idle timeout. */
  authenticate(token: string, now = Date.now()): SessionInfo | undefined {
    const tokenHash = hashToken(token)
    const row = this.sessionByHash.get(tokenHash) as
      (OperatorRow & { expires_at: number; last_seen_at: number }) | undefined
    if (!row || row.status !== 'active') return undefined
    if (row.expires_at <= now || row.last_seen_at + this.policy.idleMs <= now) {
      this.db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(tokenHash)
      return undefined
    }
    // Only write when it matters for the idle timeout: an authenticated read stays a read.
    if (now - row.last_seen_at > 30_000) this.touchSession.run(now, tokenHash)
    const operator = toOperator(row)
    return {
      operator,
      permissions: [...ROLE_PERMISSIONS[operator.role]],
      expiresAt: row.expires_at,
      tokenHash,
    }
  }

  logout(session: SessionInfo): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(session.tokenHash)
      this.audit.record({ actor: `operator:${session.operator.username}`, action: 'operator.logout' })
    })()
  }

  sessions(operatorId: number, current?: Buffer) {
    const rows = this.db
      .prepare(
        'SELECT token_hash, created_at, last_seen_at, expires_at, ip, user_agent FROM sessions WHERE operator_id = ? ORDER BY created_at DESC',
      )
      .all(operatorId) as {
      token_hash: Buffer
      created_at: number
      last_seen_at: number
      expires_at: number
      ip: string | null
      user_agent: string | null
    }[]
    return rows.map((r) => ({
      // The id is a prefix of the token hash: enough to name a session, useless to take it over.
      id: r.token_hash.subarray(0, 8).toString('hex'),
      createdAt: new Date(r.created_at).toISOString(),
      lastSeenAt: new Date(r.last_seen_at).toISOString(),
      expiresAt: new Date(r.expires_at).toISOString(),
      ip: r.ip ?? undefined,
      userAgent: r.user_agent ?? undefined,
      current: current ? r.token_hash.equals(current) : false,
    }))
  }

  revokeSession(operatorId: number, id: string, actor: string): void {
    const info = this.db
      .prepare(`DELETE FROM sessions WHERE operator_id = ? AND hex(substr(token_hash, 1, 8)) = upper(?)`)
      .run(operatorId, id)
    if (info.changes === 0) throw new HttpProblem(404, 'Not found', 'No such session')
    this.audit.record({ actor, action: 'operator.session.revoke', target: `operator:${operatorId}` })
  }

  /**
   * `current` null: an admin's reset, which for a key custodian needs `approvedBy`, the second admin
   * (approveAccountChange). Custodians change their own password like everyone else.
   */
  async changePassword(
    operatorId: number,
    current: string | null,
    next: string,
    actor: string,
    approvedBy?: string,
  ): Promise<void> {
    const row = this.byId.get(operatorId) as OperatorRow | undefined
    if (!row) throw new HttpProblem(404, 'Not found', `No operator with id ${operatorId}`)
    if (current !== null && !(await verifyPassword(current, row.password_hash))) {
      throw new HttpProblem(400, 'Wrong password', 'The current password is wrong')
    }
    try {
      checkPasswordPolicy(next, row.username)
    } catch (err) {
      if (err instanceof WeakPasswordError) throw new HttpProblem(400, 'Weak password', err.message)
      throw err
    }
    const hash = await hashPassword(next)
    this.db.transaction(() => {
      // The role as it is now, not before hashing: a reset racing a promotion to custodian is still refused.
      const role = this.get(operatorId).role
      if (current === null)
        this.guard(role, actor, approvedBy, (account) => `Resetting ${account}’s password`)
      this.db
        .prepare(
          'UPDATE operators SET password_hash = ?, password_changed_at = ?, failed_logins = 0, locked_until = 0 WHERE id = ?',
        )
        .run(hash, new Date().toISOString(), operatorId)
      // Every other session of this operator ends: a changed password must lock out whoever knew the old one.
      this.db.prepare('DELETE FROM sessions WHERE operator_id = ?').run(operatorId)
      this.audit.record({
        actor,
        action: current === null ? 'operator.password.reset' : 'operator.password.change',
        target: `operator:${row.username}`,
        ...(approvedBy && { details: { approvedBy } }),
      })
    })()
  }

  /** Starts TOTP enrolment: a new secret, kept pending until a first code confirms the app has it. */
  async beginTotp(operatorId: number): Promise<{ secret: string; otpauthUrl: string; qrDataUrl: string }> {
    const op = this.get(operatorId)
    const secret = authenticator.generateSecret(20)
    this.db.transaction(() => {
      this.db
        .prepare('UPDATE operators SET totp_pending = ? WHERE id = ?')
        .run(this.vault.seal('secret-enc', secret), operatorId)
      const who = `operator:${op.username}`
      this.audit.record({ actor: who, action: 'operator.totp.begin', target: who })
    })()
    const otpauthUrl = authenticator.keyuri(op.username, 'Issuer Ops Suite', secret)
    return { secret, otpauthUrl, qrDataUrl: await QRCode.toDataURL(otpauthUrl, { margin: 1, width: 220 }) }
  }

  confirmTotp(operatorId: number, code: string, actor: string, now = Date.now()): void {
    const row = this.byId.get(operatorId) as OperatorRow | undefined
    if (!row?.totp_pending) throw new HttpProblem(409, 'Conflict', 'Start TOTP enrolment first')
    const step = this.checkTotp(row.totp_pending, code, now)
    if (step === null)
      throw new HttpProblem(400, 'Invalid code', 'The code does not match; check the clock of your phone')
    this.db.transaction(() => {
      this.db
        .prepare(
          'UPDATE operators SET totp_secret = totp_pending, totp_pending = NULL, last_totp_step = ? WHERE id = ?',
        )
        .run(step, operatorId)
      this.audit.record({ actor, action: 'operator.totp.enable', target: `operator:${row.username}` })
    })()
  }

  /** `approvedBy`: the second admin (approveAccountChange) a key custodian's reset needs. */
  disableTotp(operatorId: number, actor: string, approvedBy?: string): void {
    const op = this.get(operatorId)
    this.guard(op.role, actor, approvedBy, (account) => `Removing ${account}’s second factor`)
    this.db.transaction(() => {
      this.db
        .prepare('UPDATE operators SET totp_secret = NULL, totp_pending = NULL WHERE id = ?')
        .run(operatorId)
      this.audit.record({
        actor,
        action: 'operator.totp.disable',
        target: `operator:${op.username}`,
        ...(approvedBy && { details: { approvedBy } }),
      })
    })()
  }
}
