import { describe, expect, it } from 'vitest'
import { certificateAlarms, certificatesInUse, modemAlarms } from './alarms'

const DAY = 86_400_000
const NOW = Date.UTC(2030, 5, 1)

describe('modem alarms', () => {
  const modem = (name: string, state: string, enabled = true) => ({
    name,
    enabled,
    state: state as 'ready',
    lastErrors: state === 'dead' ? [{ at: NOW, message: 'no answer to AT' }] : [],
  })

  it('say nothing while the virtual phone is the gateway', () => {
    expect(modemAlarms('virtual', [modem('m1', 'inactive')])).toEqual([])
  })

  it('name each modem down or recovering, with its last error', () => {
    const alarms = modemAlarms('modems', [
      modem('m1', 'ready'),
      modem('m2', 'dead'),
      modem('m3', 'recovering'),
    ])
    expect(alarms).toEqual([
      expect.objectContaining({
        kind: 'modem-down',
        ref: 'modem:m2',
        severity: 'critical',
        message: 'Modem m2 is down (last error: no answer to AT)',
      }),
      expect.objectContaining({ kind: 'modem-down', ref: 'modem:m3', severity: 'warning' }),
    ])
  })

  it('say when no modem can send, and ignore modems an operator disabled', () => {
    expect(
      modemAlarms('modems', [modem('m1', 'dead'), modem('m2', 'disabled', false)]).map((a) => a.kind),
    ).toEqual(['no-modem-ready', 'modem-down'])
    expect(modemAlarms('modems', [])[0].message).toMatch(/no modem is enabled/)
  })
})

describe('certificate alarms', () => {
  const at = (days: number) => new Date(NOW + days * DAY)

  it('warn within 30 days, are critical once expired, and ignore later ends', () => {
    const alarms = certificateAlarms(
      [
        { ref: 'a', label: 'Cert A', notAfter: at(31) },
        { ref: 'b', label: 'Cert B', notAfter: at(30) },
        { ref: 'c', label: 'Cert C', notAfter: at(0.5) },
        { ref: 'd', label: 'Cert D', notAfter: at(-2) },
      ],
      NOW,
    )
    expect(alarms).toEqual([
      expect.objectContaining({
        ref: 'b',
        kind: 'certificate-expiring',
        severity: 'warning',
        message: 'Cert B expires on 2030-07-01 (in 30 days)',
      }),
      expect.objectContaining({ ref: 'c', message: 'Cert C expires on 2030-06-01 (in 1 day)' }),
      expect.objectContaining({
        ref: 'd',
        kind: 'certificate-expired',
        severity: 'critical',
        message: 'Cert D expired on 2030-05-30',
      }),
    ])
  })

  it('cover the ACS signing chains, its mutual-TLS certificates and the PED station pair, with dates as X509Certificate gives them', () => {
    const certificates = certificatesInUse(
      {
        listSigning: () => [
          {
            brand: 'visa',
            alg: 'ES256',
            subject: 'CN=acs',
            expiresAt: '2030-06-10T00:00:00.000Z',
            certificates: 2,
            hasRoot: true,
          },
        ],
      },
      {
        list: () => [
          {
            brand: 'mastercard',
            subject: 'CN=acs-tls',
            names: 'DNS:acs',
            expiresAt: '2030-06-20T00:00:00.000Z',
            dsCas: [],
          },
        ],
      },
      {
        trustedCa: { subject: 'CN=ca', validTo: 'Jun  5 12:00:00 2030 GMT' },
        kdh: { subject: 'CN=kdh', validTo: 'Dec 31 23:59:59 2040 GMT' },
      },
    )
    expect(certificateAlarms(certificates, NOW).map((a) => [a.ref, a.message])).toEqual([
      ['brand:visa', 'The visa app-channel signing certificate (CN=acs) expires on 2030-06-10 (in 9 days)'],
      [
        'tls:mastercard',
        'The mastercard mutual-TLS certificate for the directory server (CN=acs-tls) expires on 2030-06-20 (in 19 days)',
      ],
      ['ped:trusted-ca', 'The trusted PED device CA certificate (CN=ca) expires on 2030-06-05 (in 5 days)'],
    ])
    expect(certificatesInUse({ listSigning: () => [] }, { list: () => [] }, undefined)).toEqual([])
  })

  it('announce the PED CA’s revocation list days, not a month, before its next update: injection stops then', () => {
    const trust = (nextUpdate: string) => ({
      trustedCa: { subject: 'CN=ca', validTo: 'Dec 31 23:59:59 2040 GMT' },
      kdh: { subject: 'CN=kdh', validTo: 'Dec 31 23:59:59 2040 GMT' },
      crl: { nextUpdate },
    })
    const alarmsFor = (nextUpdate: string) =>
      certificateAlarms(
        certificatesInUse({ listSigning: () => [] }, { list: () => [] }, trust(nextUpdate)),
        NOW,
      )
    expect(alarmsFor('2030-06-08T00:00:00.000Z')).toEqual([]) // a week ahead: the CA's normal rhythm
    expect(alarmsFor('2030-06-03T00:00:00.000Z')).toEqual([
      expect.objectContaining({
        ref: 'ped:crl',
        kind: 'certificate-expiring',
        severity: 'warning',
        message:
          'The PED device CA’s revocation list (key injection stops when it lapses) expires on 2030-06-03 (in 2 days)',
      }),
    ])
    expect(alarmsFor('2030-05-31T00:00:00.000Z')).toEqual([
      expect.objectContaining({ ref: 'ped:crl', kind: 'certificate-expired', severity: 'critical' }),
    ])
  })
})
