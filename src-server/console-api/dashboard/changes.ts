import { dayOf } from '../../acs/ledger/ledger'
import type { EventSourceLike } from '../../modems/events'
import type { Db } from '../../store/db'

type Listener = (payload: unknown) => void

/** Open dashboards refetch at most this often, however busy the ACS or the SMS pool is. */
export const MIN_INTERVAL_MS = 1000
const POLL_MS = 1000

/**
 * A fingerprint of what the dashboard shows but nothing announces: today's statistics rows (a started
 * challenge, an Erro), open alarms, RReqs waiting for a retry, keys, certificates and card ranges. Primary-key
 * or partial-index reads of small tables only. Exported for the query-plan test.
 */
export const FINGERPRINT_SQL = `SELECT
  (SELECT group_concat(brand || '/' || issuer_id || '/' || total || '/' || successful || '/' || failed || '/' ||
     unavailable || '/' || incomplete || '/' || attempts || '/' || informational || '/' || in_progress, ';')
   FROM acs_stats_daily WHERE day = ?) AS stats,
  (SELECT count(*) || '/' || coalesce(max(last_at), '') FROM alarms WHERE acknowledged_at IS NULL) AS alarms,
  (SELECT count(*) FROM acs_rreq_outbox INDEXED BY acs_rreq_outbox_due
   WHERE status IN ('pending', 'sending') AND attempts > 0) AS retrying,
  (SELECT group_concat(brand || '/' || expires_at || '/' || created_at, ';') FROM acs_signing_keys) AS signing,
  (SELECT group_concat(brand || '/' || expires_at || '/' || created_at, ';') FROM acs_tls_identities) AS tls,
  (SELECT group_concat(range_id || '/' || id, ';') FROM acs_range_keys) AS range_keys,
  (SELECT group_concat(id || '/' || status, ';') FROM card_ranges) AS ranges,
  (SELECT updated_at FROM ped_trust WHERE id = 1) AS ped_trust`

/**
 * Tells open dashboards when what they show may have changed, so they refetch GET /api/console/dashboard
 * instead of each recomputing it on a timer:
 * - SMS traffic and modem states arrive as events of the SMS and modem services;
 * - the ACS announces only finished authentications of enrolled cards, so while at least one dashboard listens
 *   the fingerprint above is read once a second on the main connection (microseconds; one reader for all open
 *   consoles) and a difference is a change.
 * Changes are throttled to one per MIN_INTERVAL_MS: under load the consoles refresh once a second, not per SMS.
 */
export class DashboardChanges implements EventSourceLike {
  private readonly listeners = new Set<Listener>()
  private readonly fingerprint
  private poll: NodeJS.Timeout | undefined
  private throttle: NodeJS.Timeout | undefined
  private trailing = false
  private last: string | undefined
  private readonly changed = () => this.notify()

  constructor(
    db: Db,
    private readonly sources: { sms: EventSourceLike; modems: EventSourceLike },
  ) {
    this.fingerprint = db.prepare(FINGERPRINT_SQL).raw()
  }

  on(_event: 'changed', listener: Listener): void {
    this.listeners.add(listener)
    if (this.listeners.size === 1) this.watch()
  }

  off(_event: 'changed', listener: Listener): void {
    this.listeners.delete(listener)
    if (this.listeners.size === 0) this.unwatch()
  }

  private watch(): void {
    this.sources.sms.on('outbox', this.changed)
    this.sources.sms.on('inbox', this.changed)
    this.sources.modems.on('changed', this.changed)
    this.last = this.read()
    this.poll = setInterval(() => {
      const now = this.read()
      if (now !== this.last) {
        this.last = now
        this.notify()
      }
    }, POLL_MS)
    this.poll.unref()
  }

  private unwatch(): void {
    this.sources.sms.off('outbox', this.changed)
    this.sources.sms.off('inbox', this.changed)
    this.sources.modems.off('changed', this.changed)
    clearInterval(this.poll)
    clearTimeout(this.throttle)
    this.poll = this.throttle = undefined
    this.trailing = false
  }

  private read(): string | undefined {
    try {
      // The day is part of it: at midnight (UTC) every period moves.
      const day = dayOf(Date.now())
      return day + JSON.stringify(this.fingerprint.get(day))
    } catch {
      // The database closed under a stream that has not ended yet (server shutting down): nothing changes.
      return this.last
    }
  }

  private notify(): void {
    if (this.throttle) {
      this.trailing = true
      return
    }
    for (const listener of this.listeners) listener({})
    this.throttle = setTimeout(() => {
      this.throttle = undefined
      if (this.trailing) {
        this.trailing = false
        this.notify()
      }
    }, MIN_INTERVAL_MS)
    this.throttle.unref()
  }
}
