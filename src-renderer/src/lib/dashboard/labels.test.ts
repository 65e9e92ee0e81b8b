import { describe, expect, it } from 'vitest'
import type { DashboardAlarm } from '../endpoints'
import { alarmRemedy, outcomeLabel } from './labels'

const alarm = (kind: DashboardAlarm['kind'], ref: string): DashboardAlarm =>
  ({ key: `${kind}:${ref}`, kind, ref, severity: 'warning', message: '' }) as DashboardAlarm

describe('alarm remedies', () => {
  it('send each expiring certificate to where its renewal is imported', () => {
    expect(alarmRemedy(alarm('certificate-expiring', 'ped:kdh'))).toEqual({
      href: '#/keys',
      label: 'Open Keys & PEDs',
    })
    expect(alarmRemedy(alarm('certificate-expiring', 'tls:visa'))).toEqual({
      text: 'Import the renewed TLS certificate: PUT /api/acs/tls/visa',
    })
    expect(alarmRemedy(alarm('certificate-expired', 'brand:mastercard'))).toEqual({
      text: 'Import a new chain: PUT /api/acs/signing/mastercard',
    })
  })
})

describe('outcome labels', () => {
  it("name the ledger's outcome classes as the dashboard does, informational (I) included", () => {
    expect(outcomeLabel('informational')).toBe('Informational')
    expect(outcomeLabel('attempts')).toBe('Attempts')
    expect(outcomeLabel('in-progress')).toBe('In progress')
    expect(outcomeLabel('something-new')).toBe('something-new')
  })
})
