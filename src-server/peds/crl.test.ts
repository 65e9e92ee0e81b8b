import { beforeAll, describe, expect, it } from 'vitest'
import { HttpProblem } from '../http/problem'
import { createLabCa, type Party } from '../keys/crypto/lab-pki'
import { createCrl, parseCrl } from '../keys/crypto/pki'
import { admitCrl, crlSummary, decodeCrl } from './crl'

const DAY = 86_400_000
let ca: Party
let other: Party

beforeAll(() => {
  ca = createLabCa()
  other = createLabCa([['CN', 'Other Root']])
})

const pem = (der: Buffer) =>
  `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END X509 CRL-----\n`

/** The problem an admission or decoding throws, for its status and words. */
function problem(f: () => unknown): HttpProblem {
  try {
    f()
  } catch (err) {
    if (err instanceof HttpProblem) return err
    throw err
  }
  throw new Error('no problem thrown')
}

describe('decodeCrl', () => {
  it('takes PEM and base64 DER alike', () => {
    const crl = createCrl({ issuer: ca, revokedSerialsHex: ['7A01'] })
    expect(decodeCrl(pem(crl.der)).der).toEqual(crl.der)
    expect(decodeCrl(crl.der.toString('base64')).der).toEqual(crl.der)
  })

  it('says what is wrong with anything else', () => {
    const certificatePem = ca.certificate.toString()
    expect(problem(() => decodeCrl(certificatePem)).detail).toMatch(
      /not one "-----BEGIN X509 CRL-----" block/,
    )
    expect(problem(() => decodeCrl('this is not a CRL at all, not even base64')).detail).toMatch(
      /as PEM .* or as base64 of its DER/,
    )
    const garbage = problem(() => decodeCrl(Buffer.from('garbage bytes, base64 encoded').toString('base64')))
    expect(garbage).toMatchObject({ status: 400, title: 'Invalid CRL' })
    expect(garbage.detail).toBe('not a usable CRL: the CRL is not valid DER')
    expect(problem(() => decodeCrl(ca.certificate.raw.toString('base64'))).detail).toMatch(
      /^not a usable CRL: the CRL .* is malformed$/,
    )
  })
})

describe('admitCrl', () => {
  const now = new Date()

  it('admits the CA’s current CRL and one that follows it', () => {
    const first = createCrl({ issuer: ca, revokedSerialsHex: [], thisUpdate: new Date(now.getTime() - DAY) })
    expect(() => admitCrl(first, { ca: ca.certificate, now })).not.toThrow()
    const next = createCrl({ issuer: ca, revokedSerialsHex: ['7A01'], crlNumber: 2 })
    expect(() => admitCrl(next, { ca: ca.certificate, stored: first, now })).not.toThrow()
    // The same CRL again is not a rollback.
    expect(() => admitCrl(next, { ca: ca.certificate, stored: next, now })).not.toThrow()
    expect(crlSummary(next)).toEqual({
      thisUpdate: next.thisUpdate.toISOString(),
      nextUpdate: next.nextUpdate!.toISOString(),
      crlNumber: '2',
      revokedCount: 1,
    })
  })

  it('refuses another signer, an expired CRL, one without nextUpdate and one from the future', () => {
    const foreign = createCrl({ issuer: other, revokedSerialsHex: [] })
    expect(problem(() => admitCrl(foreign, { ca: ca.certificate, now }))).toMatchObject({
      status: 400,
      detail: 'the revocation list is issued by another CA than the trusted one',
    })
    const forged = createCrl({
      issuer: { certificate: ca.certificate, privateKey: other.privateKey },
      revokedSerialsHex: [],
    })
    expect(problem(() => admitCrl(forged, { ca: ca.certificate, now })).detail).toBe(
      'the revocation list is not signed by the trusted CA',
    )
    const expired = createCrl({
      issuer: ca,
      revokedSerialsHex: [],
      thisUpdate: new Date(now.getTime() - 9 * DAY),
      nextUpdate: new Date(now.getTime() - 2 * DAY),
    })
    expect(problem(() => admitCrl(expired, { ca: ca.certificate, now })).detail).toMatch(
      /out of date \(its next update was due/,
    )
    // parseCrl output without nextUpdate (createCrl always writes one, so drop it from the parsed CRL).
    const open = { ...createCrl({ issuer: ca, revokedSerialsHex: [] }), nextUpdate: undefined }
    expect(problem(() => admitCrl(open, { ca: ca.certificate, now })).detail).toMatch(/no nextUpdate/)
    const future = createCrl({ issuer: ca, revokedSerialsHex: [], thisUpdate: new Date(now.getTime() + DAY) })
    expect(problem(() => admitCrl(future, { ca: ca.certificate, now })).detail).toMatch(/dated in the future/)
  })

  it('refuses a rollback, by date and by CRL number', () => {
    const stored = createCrl({ issuer: ca, revokedSerialsHex: ['7A01'], crlNumber: 5 })
    const older = createCrl({
      issuer: ca,
      revokedSerialsHex: [],
      thisUpdate: new Date(stored.thisUpdate.getTime() - DAY),
      crlNumber: 4,
    })
    expect(problem(() => admitCrl(older, { ca: ca.certificate, stored, now }))).toMatchObject({
      status: 409,
      detail: expect.stringMatching(/older than the stored one: it was issued .*, the stored one/),
    })
    const lowerNumber = createCrl({
      issuer: ca,
      revokedSerialsHex: [],
      thisUpdate: stored.thisUpdate,
      crlNumber: 4,
    })
    expect(problem(() => admitCrl(lowerNumber, { ca: ca.certificate, stored, now })).detail).toBe(
      "The CRL is older than the stored one: its CRL number is 4, the stored one's 5",
    )
    expect(parseCrl(lowerNumber.der).crlNumber).toBe(4n)
  })
})
