import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toHex } from './bytes'
import { children, der, OID, toDer } from './der'
import { createLabCa, generateRsaKey, issueParty, type Party } from './lab-pki'
import { createCrl, issueCertificate, parseCrl, validatePartyCertificate } from './pki'
import {
  createCredentialToken,
  createKeyToken,
  decodeKeyBlock,
  encodeKeyBlock,
  encryptContent,
  openEnvelope,
  openKeyToken,
  parseCredentialToken,
} from './tr34'
import { hex, vectors } from './vectors.test-helper'

const openssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0

let ca: Party
let kdh: Party
let krd: Party
let dir: string

beforeAll(() => {
  ca = createLabCa()
  kdh = issueParty(ca, 'KDH', 'Station 1')
  krd = issueParty(ca, 'KRD', 'PED SN100')
  dir = mkdtempSync(join(tmpdir(), 'tr34-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('TR-34 key block known answers', () => {
  const [blockVector, encryptionVector] = vectors('tr34')

  it(`decodes ${blockVector.description} (${blockVector.source})`, () => {
    const block = decodeKeyBlock(hex(blockVector.inputs.der_hex))
    expect(block.version).toBe(blockVector.expected.version)
    expect(toHex(block.kdhSerial)).toBe(blockVector.expected.kdh_serial_hex)
    expect(toHex(block.key)).toBe(blockVector.expected.clear_key_hex)
    expect(block.header).toBe(blockVector.expected.header)
  })

  it('encodes the same 133 bytes from a KDH certificate with that issuer and serial', () => {
    const { publicKey, privateKey } = generateRsaKey()
    const sampleCa = issueCertificate({
      subject: [
        ['C', 'US'],
        ['O', 'TR34 Samples'],
        ['CN', 'TR34 Sample CA KDH'],
      ],
      publicKey,
      serialHex: '01',
      selfSignKey: privateKey,
      isCa: true,
    })
    const sampleKdh = issueCertificate({
      subject: [['CN', 'TR34 Sample KDH 1']],
      publicKey,
      serialHex: '3400000006',
      issuer: { certificate: sampleCa, privateKey },
    })
    const encoded = encodeKeyBlock(sampleKdh, hex(blockVector.expected.clear_key_hex), 'A0256K0TB00E0000')
    expect(encoded).toHaveLength(Number(blockVector.expected.der_length))
    expect(toHex(encoded)).toBe(blockVector.inputs.der_hex)
  })

  it(`content encryption: ${encryptionVector.description} (${encryptionVector.source})`, () => {
    const out = encryptContent(
      'tdes',
      hex(encryptionVector.inputs.ephemeral_key_hex),
      hex(encryptionVector.inputs.iv_hex),
      hex(encryptionVector.inputs.plaintext_der_hex),
    )
    expect(toHex(out)).toBe(encryptionVector.expected.ciphertext_hex)
  })
})

describe('TR-34 two-pass key token', () => {
  const header = 'A0000B1TX00E0000'
  const key = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex')

  for (const contentCipher of ['aes128', 'tdes'] as const) {
    it(`round-trips KDH → KRD with ${contentCipher} content encryption`, () => {
      const nonce = randomBytes(16)
      const token = createKeyToken({
        kdhCertificate: kdh.certificate,
        kdhPrivateKey: kdh.privateKey,
        krdCertificate: krd.certificate,
        key,
        header,
        nonce,
        contentCipher,
      })
      const opened = openKeyToken(token, {
        kdhCertificate: kdh.certificate,
        krdCertificate: krd.certificate,
        krdPrivateKey: krd.privateKey,
        expectedNonce: nonce,
      })
      expect(opened.keyBlock.key).toEqual(key)
      expect(opened.header).toBe(header)
    })
  }

  it('the KRD rejects a replayed nonce, a foreign KDH, a tampered token and a token for another device', () => {
    const nonce = randomBytes(16)
    const token = createKeyToken({
      kdhCertificate: kdh.certificate,
      kdhPrivateKey: kdh.privateKey,
      krdCertificate: krd.certificate,
      key,
      header,
      nonce,
    })
    const open = (t: Buffer, over: Partial<Parameters<typeof openKeyToken>[1]> = {}) =>
      openKeyToken(t, {
        kdhCertificate: kdh.certificate,
        krdCertificate: krd.certificate,
        krdPrivateKey: krd.privateKey,
        expectedNonce: nonce,
        ...over,
      })
    expect(() => open(token, { expectedNonce: randomBytes(16) })).toThrow(/nonce does not match/)
    const otherKdh = issueParty(ca, 'KDH', 'Rogue')
    expect(() => open(token, { kdhCertificate: otherKdh.certificate })).toThrow(/not bound to/)
    const tampered = Buffer.from(token)
    tampered[tampered.length - 300] ^= 0x01
    expect(() => open(tampered)).toThrow(/does not verify|digest|malformed|DER/)
    const otherKrd = issueParty(ca, 'KRD', 'PED SN200')
    expect(() =>
      open(token, { krdCertificate: otherKrd.certificate, krdPrivateKey: otherKrd.privateKey }),
    ).toThrow(/not addressed to this device/)
    expect(() => open(Buffer.from('3003020101', 'hex'))).toThrow(/SignedData/)
  })

  it.skipIf(!openssl)('openssl cms verifies the KDH signature and decrypts the RSA-OAEP envelope', () => {
    const nonce = randomBytes(16)
    const token = createKeyToken({
      kdhCertificate: kdh.certificate,
      kdhPrivateKey: kdh.privateKey,
      krdCertificate: krd.certificate,
      key,
      header,
      nonce,
      contentCipher: 'tdes',
    })
    const f = (name: string) => join(dir, name)
    writeFileSync(f('token.der'), token)
    writeFileSync(f('ca.pem'), ca.certificate.toString())
    writeFileSync(f('kdh.pem'), kdh.certificate.toString())
    writeFileSync(f('krd.pem'), krd.certificate.toString())
    writeFileSync(f('krd.key'), krd.privateKey.export({ type: 'pkcs8', format: 'pem' }))
    execFileSync(
      'openssl',
      [
        'cms',
        '-verify',
        '-inform',
        'DER',
        '-in',
        f('token.der'),
        '-certfile',
        f('kdh.pem'),
        '-CAfile',
        f('ca.pem'),
        '-purpose',
        'any',
        '-binary',
        '-out',
        f('enveloped.der'),
      ],
      { stdio: 'pipe' },
    )
    const enveloped = readFileSync(f('enveloped.der'))
    writeFileSync(
      f('enveloped-ci.der'),
      toDer(der.seq([der.oid(OID.envelopedData), der.explicit(0, der.raw(enveloped))])),
    )
    const keyBlock = execFileSync('openssl', [
      'cms',
      '-decrypt',
      '-inform',
      'DER',
      '-in',
      f('enveloped-ci.der'),
      '-recip',
      f('krd.pem'),
      '-inkey',
      f('krd.key'),
      '-binary',
    ])
    expect(decodeKeyBlock(keyBlock).key).toEqual(key)
  })

  it.skipIf(!openssl)(
    'an EnvelopedData made by openssl cms with RSA-OAEP SHA-256 opens on the KRD side',
    () => {
      const f = (name: string) => join(dir, name)
      const plain = encodeKeyBlock(kdh.certificate, key, header)
      writeFileSync(f('plain.der'), plain)
      writeFileSync(f('krd2.pem'), krd.certificate.toString())
      for (const cipher of ['-des3', '-aes128']) {
        const out = execFileSync('openssl', [
          'cms',
          '-encrypt',
          '-binary',
          '-in',
          f('plain.der'),
          '-outform',
          'DER',
          cipher,
          '-recip',
          f('krd2.pem'),
          '-keyopt',
          'rsa_padding_mode:oaep',
          '-keyopt',
          'rsa_oaep_md:sha256',
          '-keyopt',
          'rsa_mgf1_md:sha256',
        ])
        // Strip the ContentInfo wrapper: SEQUENCE { OID, [0] { EnvelopedData } }.
        const inner = toDer(children(children(der.raw(out), 'ContentInfo')[1], '[0]')[0])
        expect(decodeKeyBlock(openEnvelope(inner, krd.certificate, krd.privateKey)).key).toEqual(key)
      }
    },
  )
})

describe('TR-34 credentials and certificate validation', () => {
  it('CT-KRD / CT-KDH carry certificates and a CRL; openssl reads them', () => {
    const crl = createCrl({ issuer: ca, revokedSerialsHex: ['7ABC'] })
    const token = createCredentialToken([kdh.certificate, ca.certificate], [crl])
    const parsed = parseCredentialToken(token)
    expect(parsed.certificates.map((c) => c.fingerprint256)).toEqual([
      kdh.certificate.fingerprint256,
      ca.certificate.fingerprint256,
    ])
    expect([...parsed.crls[0].revokedSerials]).toEqual(['7ABC'])
    if (openssl) {
      writeFileSync(join(dir, 'ct.der'), token)
      const text = execFileSync(
        'openssl',
        ['pkcs7', '-inform', 'DER', '-in', join(dir, 'ct.der'), '-print_certs', '-noout'],
        { encoding: 'utf8' },
      )
      expect(text).toMatch(/Station 1 KDH/)
      writeFileSync(join(dir, 'crl.der'), crl.der)
      writeFileSync(join(dir, 'ca2.pem'), ca.certificate.toString())
      const crlText = execFileSync(
        'openssl',
        [
          'crl',
          '-inform',
          'DER',
          '-in',
          join(dir, 'crl.der'),
          '-CAfile',
          join(dir, 'ca2.pem'),
          '-text',
          '-noout',
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      )
      expect(crlText).toMatch(/Serial Number: 7ABC/)
    }
  })

  it('accepts a good device certificate; refuses revoked, wrong-role, foreign-CA and stale-CRL cases', () => {
    const crl = createCrl({ issuer: ca, revokedSerialsHex: [] })
    expect(() =>
      validatePartyCertificate(krd.certificate, { ca: ca.certificate, crl, role: 'KRD' }),
    ).not.toThrow()
    const revoked = createCrl({ issuer: ca, revokedSerialsHex: [krd.certificate.serialNumber] })
    expect(() =>
      validatePartyCertificate(krd.certificate, { ca: ca.certificate, crl: revoked, role: 'KRD' }),
    ).toThrow(/revoked/)
    expect(() => validatePartyCertificate(krd.certificate, { ca: ca.certificate, role: 'KDH' })).toThrow(
      /as a KDH/,
    )
    const otherCa = createLabCa([['CN', 'Other Root']])
    expect(() => validatePartyCertificate(krd.certificate, { ca: otherCa.certificate, role: 'KRD' })).toThrow(
      /not signed by the trusted CA/,
    )
    const forged = createCrl({
      issuer: { certificate: ca.certificate, privateKey: otherCa.privateKey },
      revokedSerialsHex: [],
    })
    expect(() =>
      validatePartyCertificate(krd.certificate, { ca: ca.certificate, crl: forged, role: 'KRD' }),
    ).toThrow(/revocation list is not signed/)
    const stale = createCrl({
      issuer: ca,
      revokedSerialsHex: [],
      thisUpdate: new Date(Date.now() - 10 * 86_400_000),
      nextUpdate: new Date(Date.now() - 86_400_000),
    })
    expect(() =>
      validatePartyCertificate(krd.certificate, { ca: ca.certificate, crl: stale, role: 'KRD' }),
    ).toThrow(/out of date/)
    expect(parseCrl(crl.der).revokedSerials.size).toBe(0)
  })
})
