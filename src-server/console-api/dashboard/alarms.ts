import type { AcsKeyStore } from '../../acs/keys/key-store'
import type { TlsIdentities } from '../../acs/tls/tls-identities'
import type { IssuerRepository } from '../../issuers/repository'
import type { ModemView } from '../../modems/service'
import type { ReadPool } from '../../store/read-pool'
import type { DashboardAlarm } from './schema'

const DAY_MS = 86_400_000
/** Certificates expiring within this many days raise an alarm. */
export const EXPIRY_WARNING_DAYS = 30
/**
 * The PED CA's revocation list due for its next update within this many days raises one: CAs reissue CRLs
 * every few days to weeks, so a month's notice would be a standing alarm; once it lapses injection stops.
 */
export const CRL_WARNING_DAYS = 3
/** The newest open recorded alarms shown; the answer also says how many are open in all. */
export const RECORDED_SHOWN = 20

/**
 * Recorded alarms through the partial index of open alarms (migration 0800), RReqs waiting for a retry through
 * the outbox's partial index of due rows: both bounded by what is open, never by history. Exported for the
 * query-plan test.
 */
export const ALARM_SQL = {
  recorded: `SELECT id, kind, ref, severity, message, count, last_at FROM alarms
    WHERE acknowledged_at IS NULL ORDER BY last_at DESC LIMIT ${RECORDED_SHOWN}`,
  recordedOpen: 'SELECT count(*) AS n FROM alarms WHERE acknowledged_at IS NULL',
  rreqRetrying: `SELECT count(*) AS n, min(created_at) AS oldest FROM acs_rreq_outbox INDEXED BY acs_rreq_outbox_due
    WHERE status IN ('pending', 'sending') AND attempts > 0`,
}

interface RecordedRow {
  id: number
  kind: string
  ref: string
  severity: 'warning' | 'critical'
  message: string
  count: number
  last_at: string
}

/** Alarms of the alarms table (undelivered RReqs, ranges that answered U/22, …), newest first. */
export async function recordedAlarms(
  reads: ReadPool,
): Promise<{ items: DashboardAlarm[]; open: number; rreqRetrying: DashboardAlarm[] }> {
  const [rows, open, retrying] = await Promise.all([
    reads.all<RecordedRow>(ALARM_SQL.recorded),
    reads.all<{ n: number }>(ALARM_SQL.recordedOpen),
    reads.all<{ n: number; oldest: number | null }>(ALARM_SQL.rreqRetrying),
  ])
  const waiting = retrying[0]
  return {
    items: rows.map((r) => ({
      key: `alarm:${r.id}`,
      kind: r.kind,
      ref: r.ref,
      severity: r.severity,
      message: r.message,
      since: r.last_at,
      count: r.count,
      alarmId: r.id,
    })),
    open: open[0]?.n ?? 0,
    rreqRetrying:
      waiting && waiting.n > 0
        ? [
            {
              key: 'rreq-retrying',
              kind: 'rreq-retrying',
              ref: 'acs-rreq-outbox',
              severity: 'warning',
              message: `${waiting.n} RReq${waiting.n === 1 ? '' : 's'} not delivered yet to the directory server, retrying`,
              ...(waiting.oldest !== null ? { since: new Date(waiting.oldest).toISOString() } : {}),
              count: waiting.n,
            },
          ]
        : [],
  }
}

/**
 * With the modem pool as the SMS gateway: each enabled modem that is down or recovering, and the pool as a
 * whole when no modem can send. With the virtual phone (lab) the modems are idle by choice: no alarm.
 */
export function modemAlarms(
  gateway: 'virtual' | 'modems',
  modems: Pick<ModemView, 'name' | 'enabled' | 'state' | 'lastErrors'>[],
): DashboardAlarm[] {
  if (gateway !== 'modems') return []
  const enabled = modems.filter((m) => m.enabled)
  const alarms: DashboardAlarm[] = []
  if (!enabled.some((m) => m.state === 'ready'))
    alarms.push({
      key: 'no-modem-ready',
      kind: 'no-modem-ready',
      ref: 'modems',
      severity: 'critical',
      message: enabled.length
        ? 'No modem is ready: SMS wait in the outbox'
        : 'The modem pool is the SMS gateway but no modem is enabled: SMS wait in the outbox',
    })
  for (const m of enabled) {
    if (m.state !== 'dead' && m.state !== 'stopped' && m.state !== 'recovering') continue
    const last = m.lastErrors.at(-1)
    alarms.push({
      key: `modem-down:${m.name}`,
      kind: 'modem-down',
      ref: `modem:${m.name}`,
      severity: m.state === 'recovering' ? 'warning' : 'critical',
      message: `Modem ${m.name} is ${m.state === 'recovering' ? 'recovering' : 'down'}${last ? ` (last error: ${last.message})` : ''}`,
      ...(last ? { since: new Date(last.at).toISOString() } : {}),
    })
  }
  return alarms
}

export interface ExpiringCertificate {
  ref: string
  /** What it is, in words: "The visa app-channel signing certificate (CN=…)". */
  label: string
  notAfter: Date
  /** How far ahead it is announced; EXPIRY_WARNING_DAYS when absent. */
  warnDays?: number
}

/** Certificates past their end date (critical) or ending within their warning days (warning). */
export function certificateAlarms(certificates: ExpiringCertificate[], now: number): DashboardAlarm[] {
  return certificates.flatMap((c) => {
    const end = c.notAfter.getTime()
    if (Number.isNaN(end) || end > now + (c.warnDays ?? EXPIRY_WARNING_DAYS) * DAY_MS) return []
    const date = c.notAfter.toISOString().slice(0, 10)
    const expired = end <= now
    const days = Math.ceil((end - now) / DAY_MS)
    return [
      {
        key: `certificate:${c.ref}`,
        kind: expired ? 'certificate-expired' : 'certificate-expiring',
        ref: c.ref,
        severity: expired ? 'critical' : 'warning',
        message: expired
          ? `${c.label} expired on ${date}`
          : `${c.label} expires on ${date} (in ${days} day${days === 1 ? '' : 's'})`,
      },
    ]
  })
}

/**
 * The certificates the suite depends on: the ACS's app-channel signing chains, its mutual-TLS certificates for
 * the directory servers, the PED station's TR-34 pair, and the PED CA's revocation list once one is imported.
 */
export function certificatesInUse(
  keys: Pick<AcsKeyStore, 'listSigning'>,
  tls: Pick<TlsIdentities, 'list'>,
  pedTrust:
    | {
        trustedCa: { subject: string; validTo: string }
        kdh: { subject: string; validTo: string }
        crl?: { nextUpdate: string }
      }
    | undefined,
): ExpiringCertificate[] {
  const signing = keys.listSigning().map((s) => ({
    ref: `brand:${s.brand}`,
    label: `The ${s.brand} app-channel signing certificate (${s.subject})`,
    notAfter: new Date(s.expiresAt),
  }))
  const links = tls.list().map((t) => ({
    ref: `tls:${t.brand}`,
    label: `The ${t.brand} mutual-TLS certificate for the directory server (${t.subject})`,
    notAfter: new Date(t.expiresAt),
  }))
  const ped = pedTrust
    ? [
        {
          ref: 'ped:trusted-ca',
          label: `The trusted PED device CA certificate (${pedTrust.trustedCa.subject})`,
          notAfter: new Date(pedTrust.trustedCa.validTo),
        },
        {
          ref: 'ped:kdh',
          label: `The key-injection station's KDH certificate (${pedTrust.kdh.subject})`,
          notAfter: new Date(pedTrust.kdh.validTo),
        },
        ...(pedTrust.crl
          ? [
              {
                ref: 'ped:crl',
                label: 'The PED device CA’s revocation list (key injection stops when it lapses)',
                notAfter: new Date(pedTrust.crl.nextUpdate),
                warnDays: CRL_WARNING_DAYS,
              },
            ]
          : []),
      ]
    : []
  return [...signing, ...links, ...ped]
}

/**
 * Active card ranges the ACS cannot produce an authentication value for (no key for their generator): their
 * AReqs are answered U/22. Checked the way the AReq handler checks, so the alarm clears when keys arrive.
 */
export function rangesWithoutKeys(
  issuers: Pick<IssuerRepository, 'listRanges'>,
  keys: Pick<AcsKeyStore, 'generatorFor'>,
): DashboardAlarm[] {
  return issuers
    .listRanges()
    .filter((r) => r.status === 'active' && !keys.generatorFor(r))
    .map((r) => ({
      key: `range-without-keys:${r.id}`,
      kind: 'range-without-keys',
      ref: `range:${r.id}`,
      severity: 'critical',
      message: `Card range ${r.startPrefix}–${r.endPrefix} (${r.brand}) has no authentication-value keys: its AReqs are answered U/22`,
    }))
}

/** Critical first, then the most recent. */
export function byUrgency(a: DashboardAlarm, b: DashboardAlarm): number {
  if (a.severity !== b.severity) return a.severity === 'critical' ? -1 : 1
  return (b.since ?? '').localeCompare(a.since ?? '')
}
