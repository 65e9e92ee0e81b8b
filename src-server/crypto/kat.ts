import { createHash, createHmac, scryptSync, createCipheriv, hkdfSync } from 'node:crypto'
import { aesEncrypt, desEncrypt } from './block'
import { open } from './aead'

/**
 * Known-answer tests of every primitive the server relies on, run at start-up. A failure means the
 * crypto library under us is broken or replaced, and the server must not handle cards: it stops.
 */
interface Kat {
  name: string
  run(): string
  expected: string
}

const hex = (s: string) => Buffer.from(s, 'hex')

const KATS: Kat[] = [
  {
    name: 'SHA-256 (FIPS 180-2 "abc")',
    run: () => createHash('sha256').update('abc').digest('hex'),
    expected: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  },
  {
    name: 'HMAC-SHA-256 (RFC 4231 case 2)',
    run: () => createHmac('sha256', 'Jefe').update('what do ya want for nothing?').digest('hex'),
    expected: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  },
  {
    name: 'AES-256-GCM (McGrew–Viega test case 14)',
    run: () => {
      const c = createCipheriv('aes-256-gcm', Buffer.alloc(32), Buffer.alloc(12))
      const ct = Buffer.concat([c.update(Buffer.alloc(16)), c.final()])
      const sealed = Buffer.concat([Buffer.alloc(12), c.getAuthTag(), ct])
      if (!open(Buffer.alloc(32), sealed).equals(Buffer.alloc(16))) return 'open failed'
      return ct.toString('hex') + c.getAuthTag().toString('hex')
    },
    expected: 'cea7403d4d606b6e074ec5d3baf39d18' + 'd0d1c8a799996bf0265b98b5d48ab919',
  },
  {
    name: 'AES-128 (FIPS-197 C.1)',
    run: () =>
      aesEncrypt(hex('000102030405060708090a0b0c0d0e0f'), hex('00112233445566778899aabbccddeeff')).toString(
        'hex',
      ),
    expected: '69c4e0d86a7b0430d8cdb78070b4c55a',
  },
  {
    name: 'DES (FIPS 81)',
    run: () => desEncrypt(hex('0123456789abcdef'), Buffer.from('Now is t')).toString('hex'),
    expected: '3fa40e8a984d4815',
  },
  {
    name: 'scrypt (RFC 7914 §12, N=16)',
    run: () => scryptSync('', '', 64, { N: 16, r: 1, p: 1 }).toString('hex').slice(0, 32),
    expected: '77d6576238657b203b19ca42c18a0497',
  },
  {
    name: 'HKDF-SHA-256 (RFC 5869 A.1)',
    run: () =>
      Buffer.from(
        hkdfSync(
          'sha256',
          hex('0b'.repeat(22)),
          hex('000102030405060708090a0b0c'),
          hex('f0f1f2f3f4f5f6f7f8f9'),
          42,
        ),
      ).toString('hex'),
    expected: '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
  },
]

export class SelfTestError extends Error {
  override name = 'SelfTestError'
}

/** Runs every known-answer test; throws SelfTestError naming the first primitive that is wrong. */
export function runKnownAnswerTests(): string[] {
  const passed: string[] = []
  for (const kat of KATS) {
    let got: string
    try {
      got = kat.run()
    } catch (err) {
      throw new SelfTestError(`crypto self-test failed: ${kat.name} threw ${(err as Error).message}`)
    }
    if (got !== kat.expected)
      throw new SelfTestError(`crypto self-test failed: ${kat.name} gave a wrong answer`)
    passed.push(kat.name)
  }
  return passed
}
