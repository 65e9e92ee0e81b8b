import { z } from 'zod'
import type { AcsSettingsStore } from '../acs/settings'
import type { AuditLog } from '../audit/audit-log'
import type { Db } from '../store/db'

/**
 * Per-issuer settings of the out-of-band methods. Code length, expiry and attempts fall back to the ACS
 * settings, so an issuer only overrides what it must; the rest has built-in defaults.
 */
export const MethodSettings = z
  .object({
    otpLength: z.number().int().min(4).max(8).optional(),
    otpTtlSeconds: z.number().int().min(30).max(3600).optional(),
    maxAttempts: z.number().int().min(1).max(10).optional(),
    maxResends: z.number().int().min(0).max(5).optional(),
    /** Length of the SMS Push A reference shown on the page and in the SMS. */
    referenceLength: z.number().int().min(2).max(16).optional(),
    /** The issuer's SMS number cardholders send dongle codes to (OTP Dongle B), shown on the page. */
    replyNumber: z
      .string()
      .regex(/^\+?[0-9]{3,15}$/, 'a phone number or short code: digits, optionally with a leading +')
      .optional(),
    /** How dongle codes reach the ACS in browser and app challenges: typed on the page (A) or by SMS (B). */
    dongleAnswer: z.enum(['entry', 'sms']).optional(),
  })
  .strict()
export type MethodSettings = z.infer<typeof MethodSettings>

export interface EffectiveMethodSettings {
  otpLength: number
  otpTtlSeconds: number
  maxAttempts: number
  maxResends: number
  referenceLength: number
  replyNumber?: string
  dongleAnswer: 'entry' | 'sms'
}

export class MethodSettingsStore {
  private readonly cache = new Map<number, MethodSettings>()
  private readonly read

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly acs: AcsSettingsStore,
  ) {
    this.read = db.prepare('SELECT value FROM auth_method_settings WHERE issuer_id = ?').pluck()
  }

  /** What the issuer stored (overrides only). */
  stored(issuerId: number): MethodSettings {
    const cached = this.cache.get(issuerId)
    if (cached) return cached
    const raw = this.read.get(issuerId) as string | undefined
    const value = MethodSettings.parse(raw ? JSON.parse(raw) : {})
    this.cache.set(issuerId, value)
    return value
  }

  effective(issuerId: number | undefined): EffectiveMethodSettings {
    const acs = this.acs.get()
    const own = issuerId === undefined ? {} : this.stored(issuerId)
    return {
      otpLength: own.otpLength ?? acs.otpLength,
      otpTtlSeconds: own.otpTtlSeconds ?? acs.otpTtlSeconds,
      maxAttempts: own.maxAttempts ?? acs.maxAttempts,
      maxResends: own.maxResends ?? acs.maxResends,
      referenceLength: own.referenceLength ?? 4,
      replyNumber: own.replyNumber,
      dongleAnswer: own.dongleAnswer ?? 'entry',
    }
  }

  /** Replaces the issuer's overrides (absent fields fall back again). */
  replace(issuerId: number, value: MethodSettings, actor: string): MethodSettings {
    const parsed = MethodSettings.parse(value)
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO auth_method_settings (issuer_id, value, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (issuer_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        )
        .run(issuerId, JSON.stringify(parsed), new Date().toISOString())
      this.audit.record({
        actor,
        action: 'auth-methods.settings',
        target: `issuer:${issuerId}`,
        details: parsed,
      })
    })()
    this.cache.set(issuerId, parsed)
    return parsed
  }
}
