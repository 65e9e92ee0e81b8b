import type { AuditLog } from '../audit/audit-log'
import type { Keyring } from '../crypto/keyring'
import type { Vault } from '../crypto/vault'
import type { SmsService } from '../sms/service'
import type { Db } from '../store/db'
import { ApplicationRepository } from './applications'
import { PinService } from './pins'
import { SqliteRateLimiter } from './rate-limiter'
import { UsageCounters } from './usage'

const PRUNE_EVERY_MS = 60_000

/** The 2FA PIN API capability: applications and templates, PINs, limits and usage counters. */
export class TwoFactorService {
  readonly applications: ApplicationRepository
  readonly usage: UsageCounters
  readonly limiter: SqliteRateLimiter
  readonly pins: PinService
  private timer: NodeJS.Timeout | undefined

  constructor(d: { db: Db; vault: Vault; keyring: Keyring; sms: SmsService; audit: AuditLog }) {
    this.applications = new ApplicationRepository(d.db, d.audit)
    this.usage = new UsageCounters(d.db)
    this.limiter = new SqliteRateLimiter(d.db)
    this.pins = new PinService({
      ...d,
      applications: this.applications,
      usage: this.usage,
      limiter: this.limiter,
    })
  }

  /** Keeps the rate-limit table small: events older than their window are dropped once a minute. */
  start(): void {
    this.timer = setInterval(() => this.limiter.pruneExpired(Date.now()), PRUNE_EVERY_MS)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }
}
