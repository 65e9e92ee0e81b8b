import { z } from 'zod'
import type { AuditLog } from '../audit/audit-log'
import type { Db } from '../store/db'

/**
 * ACS behaviour an issuer tunes from the console. Timers are here (not hard-coded) so a pilot can shorten
 * them and the tests can run a timeout in a second; the defaults are the EMV values.
 */
export const AcsSettings = z
  .object({
    /** Where browsers and SDKs reach the ACS (https in production); the AReq's own origin when absent. */
    publicBaseUrl: z.url().optional(),
    otpLength: z.number().int().min(4).max(8).default(6),
    otpTtlSeconds: z.number().int().min(30).max(3600).default(300),
    maxAttempts: z.number().int().min(1).max(10).default(3),
    maxResends: z.number().int().min(0).max(5).default(3),
    firstCReqTimeoutSeconds: z.number().int().min(1).max(600).default(30),
    challengeTimeoutSeconds: z.number().int().min(1).max(3600).default(600),
    /** Decoupled wait when the AReq gives no threeDSRequestorDecMaxTime. */
    decoupledDefaultSeconds: z.number().int().min(1).max(604_800).default(600),
    /** Issuer policy: never wait longer than this for a decoupled answer, whatever the requestor allows. */
    decoupledCapSeconds: z.number().int().min(1).max(604_800).default(604_800),
    /**
     * Offer the cardholder, on a code-entry challenge (2.2.0 and later), to trust the merchant so the next
     * purchase skips the code. Only offered when the card's rule set consults the trust list, so the offer
     * never promises what the issuer's rules would ignore.
     */
    trustListOffer: z.boolean().default(true),
    rreqMaxAttempts: z.number().int().min(1).max(20).default(8),
    rreqRetryBaseMs: z.number().int().min(100).max(600_000).default(2000),
  })
  .strict()
export type AcsSettings = z.infer<typeof AcsSettings>

export class AcsSettingsStore {
  private cached: AcsSettings | undefined

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
  ) {}

  get(): AcsSettings {
    if (this.cached) return this.cached
    const raw = this.db.prepare('SELECT value FROM acs_settings WHERE id = 1').pluck().get() as
      string | undefined
    this.cached = AcsSettings.parse(raw ? JSON.parse(raw) : {})
    return this.cached
  }

  update(patch: Partial<AcsSettings>, actor: string): AcsSettings {
    const next = AcsSettings.parse({ ...this.get(), ...patch })
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO acs_settings (id, value, updated_at) VALUES (1, ?, ?)
           ON CONFLICT (id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        )
        .run(JSON.stringify(next), new Date().toISOString())
      this.audit.record({ actor, action: 'acs.settings.update', details: { fields: Object.keys(patch) } })
    })()
    this.cached = next
    return next
  }
}
