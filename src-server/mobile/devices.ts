import { randomBytes, type KeyObject } from 'node:crypto'
import type { AuditLog } from '../audit/audit-log'
import type { Keyring } from '../crypto/keyring'
import type { CardholderRepository } from '../enrolment/repository'
import { HttpProblem } from '../http/problem'
import type { Logger } from '../log'
import {
  issueOneTimeCode,
  verifyOneTimeCode,
  type OneTimeCodePolicy,
  type OneTimeCodeRecord,
} from '../otp/one-time-code'
import { secret } from '../sms/redact'
import type { SmsService } from '../sms/service'
import type { Db } from '../store/db'
import { maskMobile } from '../auth-methods/sms-otp'
import { activationRecord } from './canonical'
import { importDeviceKey, keyThumbprint, sha256, verifyRecord } from './signature'
import type { DeviceDescription, DeviceView } from './model'

export const ACTIVATION_TTL_MS = 10 * 60_000
const CONFIRM_POLICY: OneTimeCodePolicy = {
  length: 6,
  alphabet: 'NUMERIC',
  ttlMs: 5 * 60_000,
  maxAttempts: 3,
}

interface DeviceRow {
  id: string
  cardholder_id: number
  name: string
  status: 'pending' | 'active' | 'revoked'
  public_key: Buffer
  key_thumbprint: string
  fingerprint: string
  platform: string
  origin: string
  confirm_code: string | null
  created_at: number
  activated_at: number | null
  last_used_at: number | null
  revoked_at: number | null
  revoked_by: string | null
  revoke_reason: string | null
}

/** A device as the request authenticator sees it: its key and where it stands. */
export interface DeviceIdentity {
  id: string
  cardholderId: number
  status: DeviceRow['status']
  key: KeyObject
}

/**
 * The canonical device description, hashed: platform, user agent, screen and time zone are what the
 * authenticator reports; only the SHA-256 is stored, so the console can tell "this device changed" without
 * keeping a profile of the cardholder's phone.
 */
export function fingerprintOf(d: DeviceDescription): string {
  return sha256(
    ['platform', 'userAgent', 'screen', 'timeZone']
      .map((k) => `${k}=${encodeURIComponent(d[k as keyof DeviceDescription])}`)
      .join('&'),
  )
}

const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString())

/**
 * Devices of cardholders: activation (a single-use token from a QR code, then an SMS code: two factors),
 * renaming, revocation and the cards each device may approve for. Keys are cached once parsed. Refused
 * activation steps are logged as warnings (never the token or a code): repeated ones mean someone is guessing.
 */
export class DeviceRegistry {
  private readonly keys = new Map<string, KeyObject>()
  private readonly byId
  private readonly touchStmt
  private readonly activeForCard

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly audit: AuditLog,
    private readonly sms: SmsService,
    private readonly keyring: Keyring,
    private readonly cardholders: CardholderRepository,
  ) {
    this.byId = db.prepare('SELECT * FROM mobile_devices WHERE id = ?')
    this.touchStmt = db.prepare('UPDATE mobile_devices SET last_used_at = ? WHERE id = ?')
    this.activeForCard = db
      .prepare(
        `SELECT 1 FROM mobile_device_cards c JOIN mobile_devices d ON d.id = c.device_id
         WHERE c.card_id = ? AND d.status = 'active' LIMIT 1`,
      )
      .pluck()
  }

  /** A single-use activation token for a cardholder's next device (only its hash is stored). */
  createActivation(
    cardholderId: number,
    actor: string,
    now = Date.now(),
  ): { token: string; expiresAt: number } {
    const holder = this.cardholders.get(cardholderId)
    if (!holder.mobile)
      throw new HttpProblem(
        409,
        'No mobile number',
        'Activation is confirmed by SMS: add a mobile number first',
      )
    if (holder.status !== 'active')
      throw new HttpProblem(409, 'Cardholder not active', `The cardholder is ${holder.status}`)
    const token = randomBytes(24).toString('base64url')
    const expiresAt = now + ACTIVATION_TTL_MS
    this.db
      .prepare(
        `INSERT INTO mobile_activation_tokens (token_hash, cardholder_id, created_by, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?)`,
      )
      .run(sha256(token), cardholderId, actor, now, expiresAt)
    this.audit.record({ actor, action: 'mobile.activation.create', target: `cardholder:${cardholderId}` })
    return { token, expiresAt }
  }

  /**
   * First factor: the token from the QR code, and proof that the caller holds the private key. Creates a
   * pending device and texts the cardholder's registered number a confirmation code.
   */
  async activate(
    input: {
      token: string
      publicKey: string
      proof: string
      name: string
      description: DeviceDescription
      origin: string
    },
    now = Date.now(),
  ): Promise<{ deviceId: string; maskedMobile: string }> {
    const spki = Buffer.from(input.publicKey, 'base64url')
    let key: KeyObject
    try {
      key = importDeviceKey(spki)
    } catch (err) {
      throw new HttpProblem(400, 'Invalid public key', (err as Error).message)
    }
    const tokenHash = sha256(input.token)
    const thumbprint = keyThumbprint(spki)
    if (!(await verifyRecord(key, activationRecord(tokenHash, thumbprint), input.proof))) {
      this.log.warn({ thumbprint, reason: 'invalid proof' }, 'mobile activation refused')
      throw new HttpProblem(400, 'Invalid proof', 'The activation proof does not verify with this key')
    }
    const deviceId = randomBytes(16).toString('base64url')
    const hashKey = this.keyring.active('otp-hash')
    const { code, record } = issueOneTimeCode(hashKey.key, now, CONFIRM_POLICY)
    const mobile = this.db.transaction(() => {
      // Claimed in the same statement that checks it, so two concurrent activations cannot share a token.
      const claimed = this.db
        .prepare(
          `UPDATE mobile_activation_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
           RETURNING cardholder_id`,
        )
        .pluck()
        .get(now, tokenHash, now) as number | undefined
      if (claimed === undefined) {
        this.refusedToken(tokenHash, thumbprint)
        throw new HttpProblem(
          410,
          'Activation link not valid',
          'This activation code is unknown, already used or expired: ask your bank for a new one',
        )
      }
      const holder = this.cardholders.get(claimed)
      if (!holder.mobile)
        throw new HttpProblem(409, 'No mobile number', 'The cardholder has no mobile number')
      if (this.db.prepare('SELECT 1 FROM mobile_devices WHERE key_thumbprint = ?').get(thumbprint))
        throw new HttpProblem(409, 'Key already registered', 'This key belongs to another device')
      this.db
        .prepare(
          `INSERT INTO mobile_devices (id, cardholder_id, name, status, public_key, key_thumbprint, fingerprint, platform,
             origin, confirm_code, created_at)
           VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          deviceId,
          claimed,
          input.name,
          spki,
          thumbprint,
          fingerprintOf(input.description),
          input.description.platform.slice(0, 60),
          input.origin,
          JSON.stringify({ keyId: hashKey.id, ...record }),
          now,
        )
      this.audit.record({
        actor: `cardholder:${claimed}`,
        action: 'mobile.device.register',
        target: `device:${deviceId}`,
        details: { key: thumbprint },
      })
      return holder.mobile
    })()
    this.sms.enqueue({
      to: mobile,
      text: `Your code ${secret(code)} confirms the new authenticator "${input.name}". If you did not ask for it, call your bank.`,
      kind: 'mobile-activation',
      priority: 0,
      idempotencyKey: `mobile-activation:${deviceId}`,
      ref: deviceId,
    })
    return { deviceId, maskedMobile: maskMobile(mobile) }
  }

  /** Why an activation token was not accepted, for the warning: the token itself is never logged. */
  private refusedToken(tokenHash: string, thumbprint: string): void {
    const known = this.db
      .prepare('SELECT cardholder_id, used_at FROM mobile_activation_tokens WHERE token_hash = ?')
      .get(tokenHash) as { cardholder_id: number; used_at: number | null } | undefined
    const reason = !known
      ? 'unknown activation token'
      : known.used_at !== null
        ? 'activation token already used'
        : 'activation token expired'
    this.log.warn({ thumbprint, cardholder: known?.cardholder_id, reason }, 'mobile activation refused')
  }

  /** Second factor: the SMS code. Binds the device to the cardholder's active cards and activates it. */
  confirm(deviceId: string, code: string, now = Date.now()): DeviceView {
    const row = this.row(deviceId)
    if (row.status !== 'pending' || !row.confirm_code) {
      this.log.warn(
        { device: deviceId, cardholder: row.cardholder_id, reason: `device ${row.status}` },
        'mobile device confirmation refused',
      )
      throw new HttpProblem(409, 'Nothing to confirm', `The device is ${row.status}`)
    }
    const stored = JSON.parse(row.confirm_code) as OneTimeCodeRecord & { keyId: number }
    const result = verifyOneTimeCode(stored, code, this.keyring.byId(stored.keyId).key, now)
    if (!result.verified) {
      const terminal = result.error !== 'WRONG_CODE'
      const reason = terminal ? `activation failed: ${result.error}` : 'wrong code'
      this.log.warn(
        { device: deviceId, cardholder: row.cardholder_id, reason, attemptsLeft: result.attemptsLeft },
        'mobile device confirmation refused',
      )
      this.db.transaction(() => {
        this.db
          .prepare(
            `UPDATE mobile_devices SET confirm_code = ?, status = ?, revoked_at = ?, revoked_by = ?, revoke_reason = ?
             WHERE id = ?`,
          )
          .run(
            terminal ? null : JSON.stringify({ ...result.record, keyId: stored.keyId }),
            terminal ? 'revoked' : 'pending',
            terminal ? now : null,
            terminal ? 'system' : null,
            terminal ? reason : null,
            deviceId,
          )
        // Revoked by the server itself, not by the cardholder or an operator: the audit says so.
        if (terminal)
          this.audit.record({
            actor: 'system',
            action: 'mobile.device.revoke',
            target: `device:${deviceId}`,
            details: { reason },
          })
      })()
      throw new HttpProblem(
        terminal ? 410 : 400,
        terminal ? 'Activation failed' : 'Wrong code',
        terminal
          ? 'The code expired or was entered wrongly too often: ask your bank for a new activation code'
          : `That is not the code we sent; ${result.attemptsLeft} attempt(s) left`,
      )
    }
    const holder = this.cardholders.get(row.cardholder_id)
    this.db.transaction(() => {
      const bind = this.db.prepare(
        'INSERT OR IGNORE INTO mobile_device_cards (device_id, card_id) VALUES (?, ?)',
      )
      for (const card of holder.cards) if (card.status === 'active') bind.run(deviceId, card.id)
      this.db
        .prepare(
          `UPDATE mobile_devices SET status = 'active', confirm_code = NULL, activated_at = ?, last_used_at = ? WHERE id = ?`,
        )
        .run(now, now, deviceId)
      this.audit.record({
        actor: `cardholder:${row.cardholder_id}`,
        action: 'mobile.device.activate',
        target: `device:${deviceId}`,
      })
    })()
    return this.view(deviceId)
  }

  rename(deviceId: string, name: string, actor: string): DeviceView {
    const row = this.row(deviceId)
    if (row.status === 'revoked')
      throw new HttpProblem(409, 'Device revoked', 'A revoked device cannot be renamed')
    this.db.prepare('UPDATE mobile_devices SET name = ? WHERE id = ?').run(name, deviceId)
    this.audit.record({ actor, action: 'mobile.device.rename', target: `device:${deviceId}` })
    return this.view(deviceId)
  }

  /** Revokes a device for good; returns false when it already was. */
  revoke(deviceId: string, reason: string, actor: string, now = Date.now()): boolean {
    this.row(deviceId)
    const changed = this.db
      .prepare(
        `UPDATE mobile_devices SET status = 'revoked', revoked_at = ?, revoked_by = ?, revoke_reason = ?, confirm_code = NULL
         WHERE id = ? AND status != 'revoked'`,
      )
      .run(now, actor, reason, deviceId).changes
    if (changed) {
      this.keys.delete(deviceId)
      this.audit.record({
        actor,
        action: 'mobile.device.revoke',
        target: `device:${deviceId}`,
        details: { reason },
      })
    }
    return changed > 0
  }

  /** The device's key and status, or undefined for an unknown id. */
  identity(deviceId: string): DeviceIdentity | undefined {
    const row = this.byId.get(deviceId) as DeviceRow | undefined
    if (!row) return undefined
    let key = this.keys.get(deviceId)
    if (!key) {
      key = importDeviceKey(row.public_key)
      this.keys.set(deviceId, key)
    }
    return { id: row.id, cardholderId: row.cardholder_id, status: row.status, key }
  }

  touch(deviceId: string, now = Date.now()): void {
    this.touchStmt.run(now, deviceId)
  }

  /** Records a changed device description (an OS update, another browser, a cloned key…). */
  noteDescription(deviceId: string, description: DeviceDescription, now = Date.now()): boolean {
    const row = this.row(deviceId)
    const current = fingerprintOf(description)
    if (current === row.fingerprint) return false
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO mobile_fingerprint_changes (device_id, previous, current, at) VALUES (?, ?, ?, ?)',
        )
        .run(deviceId, row.fingerprint, current, now)
      this.db
        .prepare('UPDATE mobile_devices SET fingerprint = ?, platform = ? WHERE id = ?')
        .run(current, description.platform.slice(0, 60), deviceId)
    })()
    return true
  }

  isBound(deviceId: string, cardId: number): boolean {
    return !!this.db
      .prepare('SELECT 1 FROM mobile_device_cards WHERE device_id = ? AND card_id = ?')
      .get(deviceId, cardId)
  }

  /** Whether an active device may approve for this card (asked for every challenge of the method). */
  hasActiveDevice(cardId: number): boolean {
    return this.activeForCard.get(cardId) !== undefined
  }

  /** Active devices that may approve for this card. */
  devicesForCard(cardId: number): { id: string; origin: string; lastUsedAt: number }[] {
    return this.db
      .prepare(
        `SELECT d.id, d.origin, COALESCE(d.last_used_at, 0) AS lastUsedAt FROM mobile_devices d
           JOIN mobile_device_cards c ON c.device_id = d.id WHERE c.card_id = ? AND d.status = 'active'
           ORDER BY lastUsedAt DESC`,
      )
      .all(cardId) as { id: string; origin: string; lastUsedAt: number }[]
  }

  private row(deviceId: string): DeviceRow {
    const row = this.byId.get(deviceId) as DeviceRow | undefined
    if (!row) throw new HttpProblem(404, 'Unknown device', 'No such device')
    return row
  }

  view(deviceId: string): DeviceView {
    const r = this.row(deviceId)
    const cards = this.db
      .prepare(
        `SELECT c.id, c.pan_masked AS panMasked FROM mobile_device_cards b JOIN cards c ON c.id = b.card_id
         WHERE b.device_id = ? ORDER BY c.id`,
      )
      .all(deviceId) as { id: number; panMasked: string }[]
    const changes = this.db
      .prepare('SELECT COUNT(*) AS n, MAX(at) AS last FROM mobile_fingerprint_changes WHERE device_id = ?')
      .get(deviceId) as { n: number; last: number | null }
    return {
      id: r.id,
      cardholderId: r.cardholder_id,
      name: r.name,
      status: r.status,
      platform: r.platform,
      keyThumbprint: r.key_thumbprint,
      fingerprint: r.fingerprint,
      fingerprintChanges: changes.n,
      lastFingerprintChangeAt: iso(changes.last),
      cards,
      createdAt: new Date(r.created_at).toISOString(),
      activatedAt: iso(r.activated_at),
      lastUsedAt: iso(r.last_used_at),
      revokedAt: iso(r.revoked_at),
      revokedBy: r.revoked_by ?? undefined,
      revokeReason: r.revoke_reason ?? undefined,
    }
  }

  forCardholder(cardholderId: number): DeviceView[] {
    this.cardholders.get(cardholderId)
    const ids = this.db
      .prepare('SELECT id FROM mobile_devices WHERE cardholder_id = ? ORDER BY created_at DESC')
      .pluck()
      .all(cardholderId) as string[]
    return ids.map((id) => this.view(id))
  }
}
