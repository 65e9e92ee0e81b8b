/** Words, colours and links of the dashboard: what the server's keys mean to an operator. */
import type { DashboardAlarm } from '../endpoints'
import { methodLabel } from '../format'

export type PeriodId = 'today' | 'last7Days' | 'last30Days'

export const PERIODS: { id: PeriodId; label: string; phrase: string }[] = [
  { id: 'today', label: 'Today', phrase: 'today' },
  { id: 'last7Days', label: 'Last 7 days', phrase: 'in the last 7 days' },
  { id: 'last30Days', label: 'Last 30 days', phrase: 'in the last 30 days' },
]

/** Theme colours (CSS custom properties) the charts draw with. */
export type ThemeColour =
  '--ok' | '--danger' | '--warn' | '--accent' | '--text' | '--text-muted' | '--border' | '--surface'

/** How results are counted (the ACS statistics): in the order of the tables and of the chart's stack. */
export const OUTCOMES = [
  { key: 'successful', label: 'Successful', meaning: 'final Y', colour: '--ok' },
  { key: 'failed', label: 'Failed', meaning: 'N or R', colour: '--danger' },
  { key: 'unavailable', label: 'Unavailable', meaning: 'U or Erro', colour: '--warn' },
  { key: 'incomplete', label: 'Incomplete', meaning: 'challenge abandoned', colour: '--text-muted' },
  { key: 'attempts', label: 'Attempts', meaning: 'A', colour: '--accent' },
  // Drawn in the text colour, which no other result uses (the legend and the table carry the words).
  { key: 'informational', label: 'Informational', meaning: 'I', colour: '--text' },
  { key: 'inProgress', label: 'In progress', meaning: 'challenge running', colour: '--border' },
] as const satisfies readonly { key: string; label: string; meaning: string; colour: ThemeColour }[]

export type OutcomeKey = (typeof OUTCOMES)[number]['key']

/** The words for how the ledger counted a transaction (its `outcome`, where in progress is spelled 'in-progress'). */
export function outcomeLabel(outcome: string): string {
  const key = outcome === 'in-progress' ? 'inProgress' : outcome
  return OUTCOMES.find((o) => o.key === key)?.label ?? outcome
}

/** Colours of the method mix, by rank. */
export const METHOD_COLOURS: ThemeColour[] = [
  '--accent',
  '--ok',
  '--warn',
  '--danger',
  '--text-muted',
  '--border',
]

export function methodMixLabel(method: string): string {
  return method === 'none' ? 'No challenge (frictionless or refused)' : methodLabel(method)
}

const BRANDS: Record<string, string> = {
  visa: 'Visa',
  mastercard: 'Mastercard',
  amex: 'American Express',
  jcb: 'JCB',
  discover: 'Discover',
  unionpay: 'UnionPay',
  other: 'Card not in a range',
}

export function brandLabel(brand: string): string {
  return BRANDS[brand] ?? brand
}

export const MODEM_STATES: Record<string, string> = {
  inactive: 'Idle (virtual phone in use)',
  disabled: 'Disabled',
  starting: 'Starting',
  ready: 'Ready',
  recovering: 'Recovering',
  dead: 'Down',
  stopped: 'Stopped',
}

/** Where an operator fixes what an alarm is about: a console page, or in words when no page does it. */
export function alarmRemedy(alarm: DashboardAlarm): { href: string; label: string } | { text: string } {
  const [, subject] = /^[a-z-]+:(.*)$/.exec(alarm.ref) ?? []
  switch (alarm.kind) {
    case 'rreq-undelivered':
      return { href: `#/transactions?id=${encodeURIComponent(alarm.ref)}`, label: 'Open the transaction' }
    case 'rreq-retrying':
      return { href: '#/transactions', label: 'Open Transactions' }
    case 'modem-down':
    case 'no-modem-ready':
      return { href: '#/sms', label: 'Open SMS & modems' }
    case 'fraud-webhook-failed':
      return { href: '#/fraud', label: 'Open Fraud' }
    case 'certificate-expiring':
    case 'certificate-expired':
      if (alarm.ref.startsWith('ped:')) return { href: '#/keys', label: 'Open Keys & PEDs' }
      if (alarm.ref.startsWith('tls:'))
        return { text: `Import the renewed TLS certificate: PUT /api/acs/tls/${subject}` }
      return { text: `Import a new chain: PUT /api/acs/signing/${subject}` }
    case 'acs-tls-missing':
      return { text: 'Import a TLS identity for a brand: PUT /api/acs/tls/{brand}' }
    case 'acs-tls-listener':
      return { text: 'Check acsTls in config.json (a free port) and the server log' }
    case 'signing-key-missing':
      return { text: `Import a signing key and chain: PUT /api/acs/signing/${subject}` }
    case 'range-without-keys':
    case 'range-keys-missing':
      return { text: `Import the range's keys: PUT /api/card-ranges/${subject}/keys` }
    default:
      return { text: 'See the server log' }
  }
}
