import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { generateTestPki, validateCertificateChain } from './pki'

const rsa = generateTestPki({ leafKeyType: 'RSA', name: 'RSA lab' })
const ec = generateTestPki({ leafKeyType: 'EC', name: 'EC lab' })
const dir = mkdtempSync(join(tmpdir(), 'pki-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('generateTestPki', () => {
  it.each([
    ['RSA', rsa],
    ['EC', ec],
  ] as const)('%s leaf chain verifies with openssl (independent check)', (_kind, pki) => {
    const root = join(dir, `${_kind}-root.pem`)
    const inter = join(dir, `${_kind}-int.pem`)
    const leaf = join(dir, `${_kind}-leaf.pem`)
    writeFileSync(root, pki.rootPem)
    writeFileSync(inter, pki.intermediatePem)
    writeFileSync(leaf, pki.leafPem)
    const out = execFileSync('openssl', ['verify', '-CAfile', root, '-untrusted', inter, leaf]).toString()
    expect(out.trim()).toBe(`${leaf}: OK`)
  })

  it('EC leaf carries the EC key', () => {
    const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: ec.leafPem }).toString()
    expect(text).toContain('id-ecPublicKey')
    expect(text).toContain('Digital Signature')
  })
})

describe('validateCertificateChain', () => {
  const at = new Date()
  it('accepts a complete chain in order, anchored to the root', () => {
    const r = validateCertificateChain(rsa.chainPem.join('\n'), { trustedRootsPem: [rsa.rootPem], at })
    expect(r.problems).toEqual([])
    expect(r.ok).toBe(true)
    expect(r.certificates).toHaveLength(2)
    expect(r.expiresInDays).toBeGreaterThan(360)
    expect(validateCertificateChain(ec.chainPem.join('\n'), { trustedRootsPem: [ec.rootPem], at }).ok).toBe(
      true,
    )
  })

  it('reports wrong order, a missing intermediate, a foreign root, dates and garbage', () => {
    expect(validateCertificateChain([rsa.intermediatePem, rsa.leafPem].join('\n')).problems.join()).toMatch(
      /must not be a CA|out of order/,
    )
    expect(validateCertificateChain(rsa.leafPem, { trustedRootsPem: [rsa.rootPem] }).problems).toContain(
      'the chain does not lead to a trusted DS root',
    )
    expect(validateCertificateChain(rsa.chainPem.join('\n'), { trustedRootsPem: [ec.rootPem] }).ok).toBe(
      false,
    )
    const later = new Date(Date.now() + 400 * 86_400_000)
    expect(validateCertificateChain(rsa.chainPem.join('\n'), { at: later }).problems.join()).toMatch(
      /expired/,
    )
    expect(validateCertificateChain('hello').problems).toEqual(['no PEM certificate found'])
    expect(
      validateCertificateChain('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----').problems[0],
    ).toMatch(/cannot be parsed/)
  })
})
