import type { AuditLog } from '../audit/audit-log'
import type { Db } from '../store/db'
import type { Logger } from '../log'

export interface Alarm {
  id: number
  kind: string
  ref: string
  severity: 'warning' | 'critical'
  message: string
  count: number
  firstAt: string
  lastAt: string
  acknowledgedAt?: string
  acknowledgedBy?: string
}

interface AlarmRow {
  id: number
  kind: string
  ref: string
  severity: 'warning' | 'critical'
  message: string
  count: number
  first_at: string
  last_at: string
  acknowledged_at: string | null
  acknowledged_by: string | null
}

/**
 * Conditions an operator must act on (a card range without keys, an undelivered RReq). One open alarm per
 * kind and subject: repeats only bump its counter, so a misconfigured range under load is one line, not
 * thousands. Messages never carry a PAN or a key.
 */
export class Alarms {
  private readonly upsert
  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly audit: AuditLog,
  ) {
    this.upsert = db.prepare(
      `INSERT INTO alarms (kind, ref, severity, message, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (kind, ref) WHERE acknowledged_at IS NULL
       DO UPDATE SET count = count + 1, last_at = excluded.last_at, message = excluded.message`,
    )
  }

  raise(kind: string, ref: string, message: string, severity: Alarm['severity'] = 'critical'): void {
    const now = new Date().toISOString()
    const info = this.upsert.run(kind, ref, severity, message, now, now)
    if (info.changes > 0) this.log.warn({ alarm: kind, ref }, message)
  }

  list(options: { open?: boolean; limit: number }): Alarm[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM alarms WHERE (? = 0 OR acknowledged_at IS NULL) ORDER BY last_at DESC, id DESC LIMIT ?`,
      )
      .all(options.open ? 1 : 0, options.limit) as AlarmRow[]
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      ref: r.ref,
      severity: r.severity,
      message: r.message,
      count: r.count,
      firstAt: r.first_at,
      lastAt: r.last_at,
      ...(r.acknowledged_at ? { acknowledgedAt: r.acknowledged_at } : {}),
      ...(r.acknowledged_by ? { acknowledgedBy: r.acknowledged_by } : {}),
    }))
  }

  /** An operator takes note of an open alarm (audited with it); false when no open alarm has this id. */
  acknowledge(id: number, actor: string): boolean {
    return this.db.transaction(() => {
      const alarm = this.db
        .prepare(
          `UPDATE alarms SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ? AND acknowledged_at IS NULL
           RETURNING kind, ref`,
        )
        .get(new Date().toISOString(), actor, id) as { kind: string; ref: string } | undefined
      if (alarm)
        this.audit.record({
          actor,
          action: 'alarm.acknowledge',
          target: `${alarm.kind}:${alarm.ref}`,
          details: { id },
        })
      return alarm !== undefined
    })()
  }

  /** Closes the open alarm of this kind and subject once its condition is gone (acknowledged by `system`). */
  clear(kind: string, ref: string): void {
    this.db
      .prepare(
        `UPDATE alarms SET acknowledged_at = ?, acknowledged_by = 'system' WHERE kind = ? AND ref = ? AND acknowledged_at IS NULL`,
      )
      .run(new Date().toISOString(), kind, ref)
  }
}
