/**
 * The modems the server drives, as configured by operators, and the choice of SMS gateway. The SIM PIN is
 * sealed with the vault (`secret-enc`) and is only ever opened to unlock the SIM: it is never returned by
 * the API nor written to a log.
 */
import type { Vault } from '../crypto/vault'
import type { Db } from '../store/db'

export const GATEWAYS = ['virtual', 'modems'] as const
export type GatewayChoice = (typeof GATEWAYS)[number]

const GATEWAY_SETTING = 'sms.gateway'

export interface ModemConfig {
  id: number
  name: string
  port: string
  profile: string
  baud: number
  enabled: boolean
  ratePerMinute: number | null
  hasPin: boolean
  createdAt: number
  updatedAt: number
}

export interface NewModem {
  name: string
  port: string
  profile: string
  baud: number
  pin?: string
  enabled: boolean
  ratePerMinute?: number | null
}

export interface ModemChange {
  name?: string
  profile?: string
  baud?: number
  enabled?: boolean
  ratePerMinute?: number | null
  /** A new PIN; null removes it. */
  pin?: string | null
}

interface Row {
  id: number
  name: string
  port: string
  profile: string
  baud: number
  pin_sealed: Buffer | null
  enabled: number
  rate_per_minute: number | null
  created_at: number
  updated_at: number
}

export class DuplicateModemError extends Error {
  override name = 'DuplicateModemError'
}

const toConfig = (r: Row): ModemConfig => ({
  id: r.id,
  name: r.name,
  port: r.port,
  profile: r.profile,
  baud: r.baud,
  enabled: r.enabled === 1,
  ratePerMinute: r.rate_per_minute,
  hasPin: r.pin_sealed !== null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

export class ModemRepository {
  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
  ) {}

  list(): ModemConfig[] {
    return (this.db.prepare('SELECT * FROM modems ORDER BY name').all() as Row[]).map(toConfig)
  }

  get(id: number): ModemConfig | undefined {
    const row = this.db.prepare('SELECT * FROM modems WHERE id = ?').get(id) as Row | undefined
    return row && toConfig(row)
  }

  /** The SIM PIN in clear, for unlocking the SIM only. */
  pin(id: number): string | undefined {
    const sealed = this.db.prepare('SELECT pin_sealed FROM modems WHERE id = ?').pluck().get(id) as
      Buffer | null | undefined
    return sealed ? this.vault.open(sealed).toString('utf8') : undefined
  }

  /** Whether the SIM refused the PIN configured now. */
  pinRejected(id: number): boolean {
    return this.db.prepare('SELECT pin_rejected FROM modems WHERE id = ?').pluck().get(id) === 1
  }

  markPinRejected(id: number): void {
    this.db.prepare('UPDATE modems SET pin_rejected = 1 WHERE id = ?').run(id)
  }

  add(input: NewModem): ModemConfig {
    this.assertUnique(input.name, input.port)
    const now = Date.now()
    const info = this.db
      .prepare(
        `INSERT INTO modems (name, port, profile, baud, pin_sealed, enabled, rate_per_minute, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        input.name,
        input.port,
        input.profile,
        input.baud,
        input.pin ? this.vault.seal('secret-enc', input.pin) : null,
        input.enabled ? 1 : 0,
        input.ratePerMinute ?? null,
        now,
        now,
      )
    return this.get(Number(info.lastInsertRowid))!
  }

  update(id: number, change: ModemChange): ModemConfig | undefined {
    const current = this.get(id)
    if (!current) return undefined
    if (change.name !== undefined && change.name !== current.name) this.assertUnique(change.name)
    this.db
      .prepare(
        `UPDATE modems SET name = ?, profile = ?, baud = ?, enabled = ?, rate_per_minute = ?, updated_at = ?,
         pin_sealed = CASE WHEN ? THEN ? ELSE pin_sealed END,
         pin_rejected = CASE WHEN ? THEN 0 ELSE pin_rejected END WHERE id = ?`,
      )
      .run(
        change.name ?? current.name,
        change.profile ?? current.profile,
        change.baud ?? current.baud,
        (change.enabled ?? current.enabled) ? 1 : 0,
        change.ratePerMinute === undefined ? current.ratePerMinute : change.ratePerMinute,
        Date.now(),
        change.pin === undefined ? 0 : 1,
        change.pin ? this.vault.seal('secret-enc', change.pin) : null,
        // A PIN set again (even the same one: the operator may have reset the SIM's tries) is entered once.
        change.pin === undefined ? 0 : 1,
        id,
      )
    return this.get(id)
  }

  remove(id: number): boolean {
    return this.db.prepare('DELETE FROM modems WHERE id = ?').run(id).changes > 0
  }

  gateway(): GatewayChoice {
    const value = this.db.prepare('SELECT value FROM settings WHERE key = ?').pluck().get(GATEWAY_SETTING)
    return value === 'modems' ? 'modems' : 'virtual'
  }

  setGateway(choice: GatewayChoice): void {
    this.db
      .prepare(
        'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(GATEWAY_SETTING, choice)
  }

  private assertUnique(name: string, port?: string): void {
    const clash = this.db
      .prepare('SELECT name, port FROM modems WHERE name = ? OR port = ?')
      .get(name, port ?? null) as { name: string; port: string } | undefined
    if (!clash) return
    throw new DuplicateModemError(
      clash.name === name
        ? `a modem named "${name}" already exists`
        : `port ${port} is already used by modem "${clash.name}"`,
    )
  }
}
