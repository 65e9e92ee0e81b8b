import { describe, expect, it } from 'vitest'
import {
  approvalRecord,
  approvalReference,
  parseDeviceAuthorization,
  percentEncode,
  RecordError,
  requestRecord,
} from './canonical'

const FIELDS = {
  decision: 'approve' as const,
  acsTransID: '8a880dc0-d2d2-4067-bcb1-b08d1690b26e',
  amount: '4999',
  exponent: '2',
  currency: '978',
  merchant: 'Café & Co',
  issuedAt: 1767225600000,
  signedAt: 1767225612345,
  nonce: 'Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4',
  deviceId: 'q8Y2mIYz0xq2TGhPz8kKjw',
  poi: '-',
}

describe('canonical records', () => {
  it('builds the documented approval record byte for byte', () => {
    // The example in docs/mobile-authenticator.md.
    expect(approvalRecord(FIELDS)).toBe(
      [
        'IMS-MOBILE-APPROVAL/1',
        'decision:approve',
        'acsTransID:8a880dc0-d2d2-4067-bcb1-b08d1690b26e',
        'amount:4999',
        'exponent:2',
        'currency:978',
        'merchant:Caf%C3%A9%20%26%20Co',
        'issuedAt:1767225600000',
        'signedAt:1767225612345',
        'nonce:Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4',
        'device:q8Y2mIYz0xq2TGhPz8kKjw',
        'poi:-',
      ].join('\n'),
    )
  })

  it('names a channel request by an authRequest line, with the currency as the merchant sent it', () => {
    const { acsTransID, ...rest } = FIELDS
    const record = approvalRecord({ ...rest, authRequest: acsTransID, amount: '4990', currency: 'EUR' })
    expect(record.split('\n').slice(0, 6)).toEqual([
      'IMS-MOBILE-APPROVAL/1',
      'decision:approve',
      `authRequest:${acsTransID}`,
      'amount:4990',
      'exponent:2',
      'currency:EUR',
    ])
    // A 3-D Secure record takes the numeric code only, a channel record the alphabetic one only.
    expect(() => approvalRecord({ ...rest, authRequest: acsTransID })).toThrow(RecordError)
    expect(() => approvalRecord({ ...FIELDS, currency: 'EUR' })).toThrow(RecordError)
    expect(approvalReference({ authRequest: acsTransID })).toEqual({ authRequest: acsTransID })
    expect(() => approvalReference({ acsTransID, authRequest: acsTransID })).toThrow(RecordError)
    expect(() => approvalReference({})).toThrow(RecordError)
  })

  it('percent-encodes everything but the RFC 3986 unreserved characters', () => {
    expect(percentEncode("A-z_0.9~!'()*\n:")).toBe('A-z_0.9~%21%27%28%29%2A%0A%3A')
  })

  it('refuses values that could make two transactions share a record', () => {
    for (const patch of [
      { acsTransID: FIELDS.acsTransID.toUpperCase() },
      { amount: '49.99' },
      { amount: '1\ndecision:approve' },
      { currency: 'EUR' },
      { nonce: 'a b' },
      { poi: '' },
      { signedAt: 1.5 },
    ])
      expect(() => approvalRecord({ ...FIELDS, ...patch })).toThrow(RecordError)
  })

  it('request records and the IMS-Device header', () => {
    expect(requestRecord('GET', '/api/mobile/v1/approvals', 5, 'x')).toBe(
      'IMS-MOBILE-REQUEST/1\nGET\n/api/mobile/v1/approvals\n5\nx',
    )
    expect(() => requestRecord('GET', '/a b', 5, 'x')).toThrow(RecordError)
    const sig = 'A'.repeat(86)
    expect(parseDeviceAuthorization(`IMS-Device q8Y2mIYz0xq2TGhPz8kKjw.123.${sig}`)).toEqual({
      deviceId: 'q8Y2mIYz0xq2TGhPz8kKjw',
      at: 123,
      signature: sig,
    })
    expect(parseDeviceAuthorization(`Bearer q8Y2mIYz0xq2TGhPz8kKjw.123.${sig}`)).toBeUndefined()
  })
})
