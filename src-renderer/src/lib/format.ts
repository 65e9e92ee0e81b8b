import type { Role } from '../../../src-server/contract'

const ROLE_LABELS: Record<Role, string> = {
  admin: 'Administrator',
  supervisor: 'Supervisor',
  agent: 'Agent',
  bench: 'Bench technician',
  'key-custodian': 'Key custodian',
}

export function roleLabel(role: Role): string {
  return ROLE_LABELS[role] ?? role
}

/** "3 minutes", "1 hour 5 minutes": for lockouts and retry delays given in seconds. */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.ceil(totalSeconds))
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`
  const minutes = Math.ceil(seconds / 60)
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'}`
  const hours = Math.floor(minutes / 60)
  const rest = minutes % 60
  const hourText = `${hours} hour${hours === 1 ? '' : 's'}`
  return rest === 0 ? hourText : `${hourText} ${rest} minute${rest === 1 ? '' : 's'}`
}

export function formatDateTime(iso: string): string {
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString()
}
