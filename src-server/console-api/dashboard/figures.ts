import type { Services } from '../../services'
import {
  byUrgency,
  certificateAlarms,
  certificatesInUse,
  modemAlarms,
  rangesWithoutKeys,
  recordedAlarms,
} from './alarms'
import { authenticationFigures } from './authentications'
import type { Dashboard } from './schema'
import { smsHealth } from './sms-health'

export type DashboardServices = Pick<Services, 'reads' | 'acs' | 'issuers' | 'modems' | 'peds'>

/**
 * Everything the dashboard shows in one answer. SQL goes to the read pool (all statements at once: the pool
 * has two workers) and touches only bounded index ranges; the rest (modems, certificates, ranges) is in
 * memory or in small tables. Alarms are not filtered by issuer: they are the whole installation's.
 */
export async function dashboardFigures(
  s: DashboardServices,
  issuerId: number | undefined,
  now = Date.now(),
): Promise<Dashboard> {
  const [authentications, sms, recorded] = await Promise.all([
    authenticationFigures(s.reads, issuerId, now),
    smsHealth(s.reads, s.modems, now),
    recordedAlarms(s.reads),
  ])
  const conditions = [
    ...recorded.rreqRetrying,
    ...modemAlarms(s.modems.gatewayChoice, s.modems.views()),
    ...certificateAlarms(certificatesInUse(s.acs.keys, s.acs.tls, s.peds.trust()), now),
    ...rangesWithoutKeys(s.issuers, s.acs.keys),
  ]
  return {
    generatedAt: new Date(now).toISOString(),
    ...(issuerId !== undefined ? { issuerId } : {}),
    issuers: s.issuers.listIssuers().map((i) => ({ id: i.id, name: i.name })),
    ...authentications,
    sms,
    alarms: { items: [...conditions, ...recorded.items].sort(byUrgency), recordedOpen: recorded.open },
  }
}
