import type { AuditLog } from '../audit/audit-log'
import type { Db } from '../store/db'
import { MobileSettings } from './model'

/** The mobile authenticator's settings (one row), validated on the way in and out. */
export class MobileSettingsStore {
  private cached: MobileSettings | undefined

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
  ) {}

  get(): MobileSettings {
    if (this.cached) return this.cached
    const raw = this.db.prepare('SELECT value FROM mobile_settings WHERE id = 1').pluck().get() as
      string | undefined
    this.cached = MobileSettings.parse(raw ? JSON.parse(raw) : {})
    return this.cached
  }

  update(patch: Partial<MobileSettings>, actor: string): MobileSettings {
    const next = MobileSettings.parse({ ...this.get(), ...patch })
    this.db
      .prepare(
        'INSERT INTO mobile_settings (id, value) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET value = excluded.value',
      )
      .run(JSON.stringify(next))
    this.cached = next
    this.audit.record({ actor, action: 'mobile.settings.update', details: patch })
    return next
  }
}
