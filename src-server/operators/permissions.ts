import type { Role } from '../contract'

/**
 * What each role may do. Least privilege: agents serve cardholders, bench staff work the hardware, key
 * custodians only take part in key ceremonies, and nobody but an admin manages operator accounts.
 */
export const PERMISSIONS = [
  'dashboard.read',
  'cardholders.read',
  'cardholders.write',
  'enrolment.import',
  'transactions.read',
  'reports.read',
  'fraud.read',
  'fraud.manage',
  'rules.read',
  'rules.write',
  'issuers.manage',
  'sms.read',
  'sms.manage',
  'dongles.read',
  'dongles.manage',
  // A cardholder's token in service: lock, unlock, resync, test, report lost. Not the inventory (dongles.manage).
  'dongles.service',
  'keys.read',
  'keys.custody',
  'keys.manage',
  'peds.inject',
  'terminals.read',
  'terminals.manage',
  'twofa.manage',
  'operators.read',
  'operators.manage',
  'audit.read',
  'lab.use',
  'settings.manage',
] as const
export type Permission = (typeof PERMISSIONS)[number]

const READ_ALL: Permission[] = [
  'dashboard.read',
  'cardholders.read',
  'transactions.read',
  'reports.read',
  'fraud.read',
  'rules.read',
  'sms.read',
  'dongles.read',
  'terminals.read',
]

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: PERMISSIONS.filter((p) => p !== 'keys.custody' && p !== 'peds.inject'),
  supervisor: [
    ...READ_ALL,
    'cardholders.write',
    'enrolment.import',
    'fraud.manage',
    'rules.write',
    'operators.read',
    'audit.read',
    'lab.use',
    'twofa.manage',
    'dongles.service',
  ],
  agent: [
    'dashboard.read',
    'cardholders.read',
    'cardholders.write',
    'transactions.read',
    'fraud.read',
    'sms.read',
    'lab.use',
    // A caller's locked, drifted or lost token is helped at once, on the phone; their tokens are read under
    // cardholders.read (GET /api/cardholders/:id/dongles), not the whole inventory.
    'dongles.service',
  ],
  bench: [
    'dashboard.read',
    'sms.read',
    'sms.manage',
    'dongles.read',
    'dongles.manage',
    'dongles.service',
    'keys.read',
    'peds.inject',
    'terminals.read',
    'terminals.manage',
    'lab.use',
  ],
  // dashboard.read lets custodians see their own session and enrol the TOTP a ceremony requires.
  'key-custodian': ['dashboard.read', 'keys.read', 'keys.custody'],
}

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission)
}
