import { describe, expect, it } from 'vitest'
import {
  approvalRecord,
  parseDeviceAuthorization,
  percentEncode,
  RecordError,
  requestRecord,
} from './canonical'
import { PoiTokens } from './poi'

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

describe('screen tokens', () => {
  const poiId = 'q8Y2mIYz0xq2TGhPz8kKjw'
  it('live two periods, name only the screen, and cannot be forged or reused by another server', () => {
    const tokens = new PoiTokens()
    const now = 1_767_225_600_000
    const { token, expiresAt } = tokens.mint(poiId, 30, now)
    expect(expiresAt).toBe(now + 60_000)
    expect(tokens.verify(token, now + 59_999)).toEqual({ poiId })
    expect(tokens.verify(token, now + 60_000)).toEqual({ error: 'expired' })
    const [id, exp, mac] = token.split('.')
    expect(tokens.verify(`${id}.${Number(exp) + 600}.${mac}`, now)).toEqual({ error: 'forged' })
    expect(new PoiTokens().verify(token, now)).toEqual({ error: 'forged' })
    expect(tokens.verify('not a token', now)).toEqual({ error: 'malformed' })
  })
})
