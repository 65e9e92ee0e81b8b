import { execFileSync, spawnSync } from 'node:child_process'
import { createSign, X509Certificate, type KeyObject } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import forge from 'node-forge'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { children, der, fromDer, OID, toDer, type Asn1 } from './der'
import { createLabCa, issueParty, type Party } from './lab-pki'
import { createCrl, parseCrl, validatePartyCertificate, verifyCrl } from './pki'

const openssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0
const DAY = 86_400_000

let ca: Party
let other: Party
let krd: Party
let dir: string

beforeAll(() => {
  ca = createLabCa()
  other = createLabCa([['CN', 'Other Root']])
  krd = issueParty(ca, 'KRD', 'PED SN200', '7A01', 'SN200')
  dir = mkdtempSync(join(tmpdir(), 'pki-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The parts of a CRL built by createCrl, to rebuild it with one thing changed. */
function crlParts(crlDer: Buffer): { tbs: Asn1[]; algorithm: Asn1 } {
  const [tbs, algorithm] = children(fromDer(crlDer, 'CRL'), 'CRL')
  return { tbs: children(tbs, 'tbs'), algorithm }
}

/** Re-sign `tbs` with `key`, naming `outer` as the signature algorithm outside the signed part. */
function signCrl(tbs: Asn1[], key: KeyObject, outer: Asn1, hash = 'sha256'): Buffer {
  const tbsItem = der.seq(tbs)
  const signature = createSign(hash).update(toDer(tbsItem)).sign(key)
  return toDer(der.seq([tbsItem, outer, der.bits(signature)]))
}

describe('CRL signature and freshness (verifyCrl)', () => {
  it('accepts a CRL the CA signed and reads its dates, number and revoked serials', () => {
    const thisUpdate = new Date(Math.floor(Date.now() / 1000) * 1000 - DAY)
    const crl = createCrl({ issuer: ca, revokedSerialsHex: ['7A01', '00FF'], thisUpdate, crlNumber: 4242 })
    expect(() => verifyCrl(crl, ca.certificate)).not.toThrow()
    const parsed = parseCrl(crl.der)
    expect(parsed.thisUpdate).toEqual(thisUpdate)
    expect(parsed.nextUpdate).toEqual(new Date(thisUpdate.getTime() + 7 * DAY))
    expect(parsed.crlNumber).toBe(4242n)
    expect([...parsed.revokedSerials]).toEqual(['7A01', 'FF'])
  })

  it('refuses another CA’s CRL, a CRL signed with another key, an altered CRL and an out-of-date CRL', () => {
    const foreign = createCrl({ issuer: other, revokedSerialsHex: [] })
    expect(() => verifyCrl(foreign, ca.certificate)).toThrow(/issued by another CA/)
    const forged = createCrl({
      issuer: { certificate: ca.certificate, privateKey: other.privateKey },
      revokedSerialsHex: [],
    })
    expect(() => verifyCrl(forged, ca.certificate)).toThrow(/not signed by the trusted CA/)

    // Un-revoke 7A01 by changing one byte of its serial: the signature no longer covers the list.
    const genuine = createCrl({ issuer: ca, revokedSerialsHex: ['7A01'] })
    const at = genuine.der.indexOf(Buffer.from([0x02, 0x02, 0x7a, 0x01]))
    const altered = Buffer.from(genuine.der)
    altered[at + 3] = 0x02
    expect(parseCrl(altered).revokedSerials).toEqual(new Set(['7A02']))
    expect(() => verifyCrl(parseCrl(altered), ca.certificate)).toThrow(/not signed by the trusted CA/)

    const stale = createCrl({
      issuer: ca,
      revokedSerialsHex: [],
      thisUpdate: new Date('2024-01-01T00:00:00Z'),
      nextUpdate: new Date('2024-01-08T00:00:00Z'),
    })
    expect(() => verifyCrl(stale, ca.certificate)).toThrow(
      'the revocation list is out of date (its next update was due 2024-01-08T00:00:00.000Z)',
    )
    expect(() => verifyCrl(stale, ca.certificate, new Date('2024-01-07T00:00:00Z'))).not.toThrow()
  })

  it('refuses a CRL whose outer algorithm differs from the signed one, or uses an unsupported one', () => {
    const { tbs } = crlParts(createCrl({ issuer: ca, revokedSerialsHex: [] }).der)
    const sha384 = der.algorithm(OID.sha384WithRsa, der.null())
    const swapped = parseCrl(signCrl(tbs, ca.privateKey, sha384, 'sha384'))
    expect(() => verifyCrl(swapped, ca.certificate)).toThrow(/two different signature algorithms/)

    const md5 = der.algorithm('1.2.840.113549.1.1.4', der.null())
    const weak = parseCrl(signCrl([tbs[0], md5, ...tbs.slice(2)], ca.privateKey, md5))
    expect(() => verifyCrl(weak, ca.certificate)).toThrow(
      /unsupported algorithm \(1\.2\.840\.113549\.1\.1\.4\)/,
    )
  })

  it('a revoked party certificate is refused with its serial; a stale CRL fails closed', () => {
    const crl = createCrl({ issuer: ca, revokedSerialsHex: ['7A01'] })
    expect(() => validatePartyCertificate(krd.certificate, { ca: ca.certificate, crl, role: 'KRD' })).toThrow(
      'the KRD certificate (serial 7A01) has been revoked by the CA',
    )
    const stale = createCrl({
      issuer: ca,
      revokedSerialsHex: [],
      thisUpdate: new Date(Date.now() - 10 * DAY),
      nextUpdate: new Date(Date.now() - DAY),
    })
    expect(() =>
      validatePartyCertificate(krd.certificate, { ca: ca.certificate, crl: stale, role: 'KRD' }),
    ).toThrow(/out of date/)
  })
})

describe('serials of non-conformant CAs (negative DER INTEGERs)', () => {
  it('a negative serial is matched as the same integer in the certificate and the CRL', () => {
    // forge writes the serial's hex as the INTEGER's bytes: FF12 is -238, which Node writes "-EE".
    const negative = issueParty(ca, 'KRD', 'Negative', 'FF12')
    const positive = issueParty(ca, 'KRD', 'Positive', '00FF12')
    expect([negative.certificate.serialNumber, positive.certificate.serialNumber]).toEqual(['-EE', 'FF12'])
    const check = (party: Party, revokedSerialsHex: string[]) => () =>
      validatePartyCertificate(party.certificate, {
        ca: ca.certificate,
        crl: createCrl({ issuer: ca, revokedSerialsHex }),
        role: 'KRD',
      })
    expect(check(negative, [negative.certificate.serialNumber])).toThrow(
      'the KRD certificate (serial -EE) has been revoked by the CA',
    )
    // The same hex digits as a positive serial are another certificate's.
    expect(check(negative, ['FF12'])).not.toThrow()
    expect(check(positive, ['-EE'])).not.toThrow()
    expect(check(positive, ['FF12'])).toThrow(/serial FF12\) has been revoked/)
  })

  it.skipIf(!openssl)('reads CRL entries as OpenSSL does, at every sign boundary', () => {
    const serials = ['-EE', 'FF12', '-80', '80', '7F', '-81', '-100', '0']
    const crl = createCrl({ issuer: ca, revokedSerialsHex: serials })
    const file = join(dir, 'signed-serials.crl')
    writeFileSync(file, crl.der)
    const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', file, '-noout', '-text'], {
      encoding: 'utf8',
    })
    const byOpenssl = [...text.matchAll(/Serial Number: (\S+)/g)].map((m) =>
      m[1].replace(/^(-?)0+(?=.)/, '$1'),
    )
    expect(byOpenssl).toEqual(serials)
    expect([...parseCrl(crl.der).revokedSerials]).toEqual(serials)
  })
})

describe('CRL parsing (parseCrl)', () => {
  it('says what is wrong with bytes that are not a CRL', () => {
    expect(() => parseCrl(Buffer.from('not a CRL'))).toThrow('the CRL is not valid DER')
    expect(() => parseCrl(ca.certificate.raw)).toThrow(/the CRL (thisUpdate|issuer) is malformed/)
    expect(() => parseCrl(toDer(der.seq([der.int(1)])))).toThrow('the CRL is malformed')
  })

  it('refuses a CRL with a critical extension it does not process (a delta CRL)', () => {
    const { tbs, algorithm } = crlParts(createCrl({ issuer: ca, revokedSerialsHex: [] }).der)
    const deltaIndicator = der.seq([
      der.oid('2.5.29.27'),
      forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.BOOLEAN, false, '\xff'), // critical
      der.octets(toDer(der.int(3))),
    ])
    const delta = signCrl(
      [...tbs.slice(0, -1), der.explicit(0, der.seq([deltaIndicator]))],
      ca.privateKey,
      algorithm,
    )
    expect(() => parseCrl(delta)).toThrow(/critical extension .*\(2\.5\.29\.27\)/)
  })
})

/**
 * OpenSSL as an independent oracle, both ways: it verifies the CRLs we issue, and we parse and verify CRLs
 * it issues (RSA with SHA-384, and ECDSA P-256 with SHA-256) with a revoked serial and a CRL number.
 */
describe.runIf(openssl)('CRLs and OpenSSL', () => {
  it('openssl verifies and reads a CRL we issue', () => {
    const crl = createCrl({ issuer: ca, revokedSerialsHex: ['7A01'], crlNumber: 9 })
    writeFileSync(join(dir, 'ours.der'), crl.der)
    writeFileSync(join(dir, 'ca.pem'), ca.certificate.toString())
    const run = spawnSync(
      'openssl',
      [
        'crl',
        '-inform',
        'DER',
        '-in',
        join(dir, 'ours.der'),
        '-CAfile',
        join(dir, 'ca.pem'),
        '-noout',
        '-text',
      ],
      { encoding: 'utf8' },
    )
    expect(run.stderr).toMatch(/verify OK/)
    expect(run.stdout).toMatch(/Serial Number: 7A01/)
    expect(run.stdout).toMatch(/X509v3 CRL Number:\s+9/)
  })

  for (const [name, newKey, md] of [
    ['RSA, SHA-384', 'rsa:2048', 'sha384'],
    ['ECDSA P-256, SHA-256', 'ec -pkeyopt ec_paramgen_curve:P-256', 'sha256'],
  ] as const) {
    it(`we verify an OpenSSL CRL (${name})`, () => {
      const d = mkdtempSync(join(dir, 'ossl-'))
      const file = (name: string) => join(d, name)
      // Temporary paths have no spaces: a command line split on spaces is its argument list.
      const ossl = (command: string) => execFileSync('openssl', command.split(' '), { stdio: 'ignore' })
      // The CA database: one revoked certificate, serial 0A1B2C; the next CRL number is 0x2A.
      writeFileSync(file('index.txt'), 'R\t300101000000Z\t240101000000Z\t0A1B2C\tunknown\t/CN=PED X KRD\n')
      writeFileSync(file('crlnumber'), '2A\n')
      writeFileSync(
        file('ca.cnf'),
        `[ca]\ndefault_ca = oracle\n[oracle]\ndatabase = ${file('index.txt')}\n` +
          `crlnumber = ${file('crlnumber')}\ndefault_md = ${md}\ndefault_crl_days = 7\n` +
          '[req]\nprompt = no\ndistinguished_name = dn\n[dn]\nO = OpenSSL Oracle\nCN = Oracle PED CA\n',
      )
      const cnf = file('ca.cnf')
      ossl(
        `req -config ${cnf} -x509 -newkey ${newKey} -nodes -keyout ${file('ca.key')} -out ${file('ca.pem')}`,
      )
      ossl(
        `ca -config ${cnf} -gencrl -keyfile ${file('ca.key')} -cert ${file('ca.pem')} -out ${file('crl.pem')}`,
      )
      ossl(`crl -in ${file('crl.pem')} -outform DER -out ${file('crl.der')}`)
      const oracleCa = new X509Certificate(readFileSync(file('ca.pem')))
      const crl = parseCrl(readFileSync(file('crl.der')))
      expect(crl.revokedSerials).toEqual(new Set(['A1B2C']))
      expect(crl.crlNumber).toBe(0x2an)
      expect(crl.nextUpdate!.getTime() - crl.thisUpdate.getTime()).toBe(7 * DAY)
      expect(() => verifyCrl(crl, oracleCa)).not.toThrow()
      expect(() => verifyCrl(crl, ca.certificate)).toThrow(/issued by another CA/)
    })
  }

  it("refuses a CRL from a CA whose certificate's key usage leaves out cRLSign (RFC 5280 §6.3.3 f)", () => {
    const d = mkdtempSync(join(dir, 'ku-'))
    const file = (name: string) => join(d, name)
    const ossl = (command: string) => execFileSync('openssl', command.split(' '), { stdio: 'ignore' })
    writeFileSync(file('index.txt'), '')
    writeFileSync(
      file('ca.cnf'),
      `[ca]\ndefault_ca = oracle\n[oracle]\ndatabase = ${file('index.txt')}\ndefault_md = sha256\n` +
        'default_crl_days = 7\n[req]\nprompt = no\ndistinguished_name = dn\n[dn]\nCN = Usage PED CA\n',
    )
    const cnf = file('ca.cnf')
    // The same key and name, certified once for certificate signing only and once for CRLs too.
    ossl(`genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ${file('ca.key')}`)
    const caCert = (name: string, usage: string) => {
      ossl(
        `req -config ${cnf} -x509 -key ${file('ca.key')} -addext keyUsage=critical,${usage} -out ${file(name)}`,
      )
      return new X509Certificate(readFileSync(file(name)))
    }
    const certOnly = caCert('cert-only.pem', 'keyCertSign')
    const crlToo = caCert('crl-too.pem', 'keyCertSign,cRLSign')
    ossl(
      `ca -config ${cnf} -gencrl -keyfile ${file('ca.key')} -cert ${file('crl-too.pem')} -out ${file('crl.pem')}`,
    )
    ossl(`crl -in ${file('crl.pem')} -outform DER -out ${file('crl.der')}`)
    const crl = parseCrl(readFileSync(file('crl.der')))
    expect(() => verifyCrl(crl, crlToo)).not.toThrow()
    expect(() => verifyCrl(crl, certOnly)).toThrow(/key usage lacks cRLSign/)
  })
})
