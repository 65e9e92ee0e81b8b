/** Console API schemas of the dashboard (GET /api/console/dashboard). */
import { z } from 'zod'
import { BrandStatistics } from '../../acs/ledger/queries'
import { ModemStateName } from '../../modems/contract'

export const DashboardQuery = z.object({
  issuerId: z.coerce.number().int().positive().optional(),
})
export type DashboardQuery = z.infer<typeof DashboardQuery>

const Count = z.number().int()

/** One UTC day of the 30-day chart, all brands together. */
export const DashboardDay = z.object({
  day: z.string(),
  total: Count,
  successful: Count,
  failed: Count,
  unavailable: Count,
  incomplete: Count,
  attempts: Count,
  informational: Count,
  inProgress: Count,
})
export type DashboardDay = z.infer<typeof DashboardDay>

/** Authentications answered with an ARes, by the method the ARes asked for (`none`: no challenge). */
export const MethodShare = z.object({ method: z.string(), total: Count })
export type MethodShare = z.infer<typeof MethodShare>

const Periods = <T extends z.ZodType>(item: T) =>
  z.object({ today: z.array(item), last7Days: z.array(item), last30Days: z.array(item) })

export const SmsHealth = z.object({
  /** Start of the window: the last 24 hours. */
  since: z.string(),
  /** Queued or being handed to a modem. */
  pending: Count,
  /** Handed to the network, no delivery report yet. */
  sent: Count,
  delivered: Count,
  failed: Count,
  received: Count,
  /** From the request to the delivery report, over the latest delivered messages (up to `sample`). */
  latency: z.object({ sample: Count, medianMs: z.number(), p95Ms: z.number() }).optional(),
  gateway: z.enum(['virtual', 'modems']),
  modems: z.array(z.object({ name: z.string(), state: ModemStateName })),
})
export type SmsHealth = z.infer<typeof SmsHealth>

/** Conditions computed at each refresh; they clear themselves once fixed. */
export const CONDITION_KINDS = [
  'rreq-retrying',
  'modem-down',
  'no-modem-ready',
  'certificate-expiring',
  'certificate-expired',
  'range-without-keys',
] as const

export const DashboardAlarm = z.object({
  /** Unique within the list. */
  key: z.string(),
  /** A recorded alarm's kind (`rreq-undelivered`, `range-keys-missing`, …) or one of CONDITION_KINDS. */
  kind: z.string(),
  /** What it is about: an acsTransID, `range:12`, `brand:visa`, `modem:name`, `ped:kdh` … */
  ref: z.string(),
  severity: z.enum(['warning', 'critical']),
  message: z.string(),
  since: z.string().optional(),
  count: Count.optional(),
  /** Recorded alarms only (the alarms table): the id to acknowledge with POST /api/alarms/:id/acknowledge. */
  alarmId: z.number().int().optional(),
})
export type DashboardAlarm = z.infer<typeof DashboardAlarm>

export const Dashboard = z.object({
  generatedAt: z.string(),
  /** Days are UTC days, as the ledger counts them. */
  today: z.string(),
  issuerId: z.number().int().optional(),
  issuers: z.array(z.object({ id: z.number().int(), name: z.string() })),
  /** Per brand: today, the last 7 and the last 30 days (today included). */
  periods: Periods(BrandStatistics),
  /** The last 30 days, oldest first, days without authentications included. */
  days: z.array(DashboardDay),
  methods: Periods(MethodShare),
  sms: SmsHealth,
  alarms: z.object({
    items: z.array(DashboardAlarm),
    /** Open recorded alarms in all: the list shows the newest of them. */
    recordedOpen: Count,
  }),
})
export type Dashboard = z.infer<typeof Dashboard>

export const DashboardEventTicket = z.object({ ticket: z.string(), expiresAt: z.string() })
