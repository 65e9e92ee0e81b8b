import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import type { AuditLog } from '../audit/audit-log'
import type { Vault } from '../crypto/vault'
import type { Db } from '../store/db'

const isLoopback = (host: string) => host === '127.0.0.1' || host === 'localhost' || host === '[::1]'

/** https, or http to this machine only (a local relay, the tests). */
export const WebhookUrl = z.url().refine((u) => {
  const url = new URL(u)
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname))
}, 'the webhook URL must use https (http only to 127.0.0.1 or localhost)')

/**
 * Which authentications the cardholder is told about: all (default), only those that were challenged, or
 * only those at or above an amount; and where the issuer's host hears about fraud reports.
 */
export const FraudSettings = z
  .object({
    notify: z.enum(['all', 'challenged', 'above-amount', 'off']).default('all'),
    /** With `above-amount`: the threshold in major units (12.50 = 12.50 in the purchase currency). */
    minAmount: z.number().nonnegative().max(1e12).default(0),
    /** With `above-amount`: only purchases in this ISO 4217 numeric currency count; any currency when absent. */
    currency: z
      .string()
      .regex(/^\d{3}$/)
      .optional(),
    /** How long a FRAUD reply to an alert is acted on. */
    replyWindowDays: z.number().int().min(1).max(400).default(30),
    webhookUrl: WebhookUrl.optional(),
  })
  .strict()
export type FraudSettings = z.infer<typeof FraudSettings>

export interface FraudSettingsView extends FraudSettings {
  /** Whether a webhook secret is set; the secret itself is shown once, when generated. */
  webhookSecretSet: boolean
}

const aad = (issuerId: number) => `fraud-webhook:${issuerId}`

export class FraudSettingsStore {
  private readonly cache = new Map<number, FraudSettings>()
  private readonly read

  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly audit: AuditLog,
  ) {
    this.read = db.prepare('SELECT value FROM fraud_settings WHERE issuer_id = ?').pluck()
  }

  get(issuerId: number): FraudSettings {
    const cached = this.cache.get(issuerId)
    if (cached) return cached
    const raw = this.read.get(issuerId) as string | undefined
    const value = FraudSettings.parse(raw ? JSON.parse(raw) : {})
    this.cache.set(issuerId, value)
    return value
  }

  view(issuerId: number): FraudSettingsView {
    return { ...this.get(issuerId), webhookSecretSet: this.secret(issuerId) !== undefined }
  }

  secret(issuerId: number): Buffer | undefined {
    const sealed = this.db
      .prepare('SELECT webhook_secret_sealed FROM fraud_settings WHERE issuer_id = ?')
      .pluck()
      .get(issuerId) as Buffer | null | undefined
    return sealed ? this.vault.open(sealed, aad(issuerId)) : undefined
  }

  update(issuerId: number, value: FraudSettings, actor: string): FraudSettingsView {
    const parsed = FraudSettings.parse(value)
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO fraud_settings (issuer_id, value, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (issuer_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        )
        .run(issuerId, JSON.stringify(parsed), new Date().toISOString())
      this.audit.record({ actor, action: 'fraud.settings', target: `issuer:${issuerId}`, details: parsed })
    })()
    this.cache.set(issuerId, parsed)
    return this.view(issuerId)
  }

  /** Generates a new webhook secret, stores it sealed and returns it (the only time it is readable). */
  rotateSecret(issuerId: number, actor: string): string {
    const secret = randomBytes(32).toString('base64url')
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO fraud_settings (issuer_id, value, webhook_secret_sealed, updated_at) VALUES (?, '{}', ?, ?)
           ON CONFLICT (issuer_id) DO UPDATE SET webhook_secret_sealed = excluded.webhook_secret_sealed,
             updated_at = excluded.updated_at`,
        )
        .run(issuerId, this.vault.seal('secret-enc', secret, aad(issuerId)), new Date().toISOString())
      this.audit.record({ actor, action: 'fraud.webhook-secret.rotate', target: `issuer:${issuerId}` })
    })()
    return secret
  }
}
