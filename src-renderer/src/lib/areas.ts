/** The suite's areas, in navigation order. Each has one page under ../pages (see pages/index.ts). */
export const AREAS = [
  { id: 'dashboard', label: 'Dashboard', path: '/dashboard' },
  { id: 'cardholders', label: 'Cardholders', path: '/cardholders' },
  { id: 'enrolment', label: 'Mass enrolment', path: '/enrolment' },
  { id: 'devices', label: 'Mobile devices', path: '/devices' },
  { id: 'transactions', label: 'Transactions', path: '/transactions' },
  { id: 'reports', label: 'Reports', path: '/reports' },
  { id: 'fraud', label: 'Fraud', path: '/fraud' },
  { id: 'sms', label: 'SMS & modems', path: '/sms' },
  { id: 'dongles', label: 'Dongles', path: '/dongles' },
  { id: 'keys', label: 'Keys & PEDs', path: '/keys' },
  { id: 'terminals', label: 'Terminals', path: '/terminals' },
  { id: 'crypto', label: 'Crypto calculator', path: '/crypto' },
  { id: 'rules', label: 'Rules', path: '/rules' },
  { id: 'operators', label: 'Operators', path: '/operators' },
  { id: 'audit', label: 'Audit', path: '/audit' },
  { id: 'lab', label: 'Lab', path: '/lab' },
  { id: 'twofa', label: '2FA PIN API', path: '/twofa' },
  { id: 'settings', label: 'Settings', path: '/settings' },
] as const

export type Area = (typeof AREAS)[number]
export type AreaId = Area['id']

export const HOME_PATH: Area['path'] = '/dashboard'

export function areaForPath(path: string): Area | undefined {
  return AREAS.find((area) => area.path === path)
}
