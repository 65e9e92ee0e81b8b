import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { desEncrypt } from '../../crypto/block'
import { toHex } from './bytes'
import {
  AesDukptHost,
  deriveAesDerivationKey,
  deriveAesDukptKeys,
  deriveAesInitialKey,
  deriveAesWorkingKey,
  formatAesKsn,
  nextAesCounter,
  parseAesKsn,
} from './dukpt-aes'
import {
  deriveTdesDukptKeys,
  deriveTdesIpek,
  deriveTdesTransactionKey,
  formatTdesKsn,
  nextTdesCounter,
  parseTdesKsn,
  TdesDukptHost,
} from './dukpt-tdes'
import { pythonCryptographyAvailable, runOracle } from './oracle.test-helper'
import { encodePinBlock } from './pinblock'
import { hex, vectors } from './vectors.test-helper'

describe('TDES DUKPT (X9.24-1)', () => {
  for (const v of vectors('tdes_dukpt')) {
    const { bdk_hex, iksn_hex, ksn_hex, pin, pan } = v.inputs as Record<string, string>
    if (v.expected.ipek_hex) {
      it(`IPEK: ${v.description} (${v.source})`, () => {
        expect(toHex(deriveTdesIpek(hex(bdk_hex), hex(iksn_hex)))).toBe(v.expected.ipek_hex)
      })
    }
    if (v.expected.transaction_key_hex) {
      it(`${v.description} (${v.source})`, () => {
        const keys = deriveTdesDukptKeys(hex(bdk_hex), hex(ksn_hex))
        expect(toHex(keys.transactionKey)).toBe(v.expected.transaction_key_hex)
        if (v.expected.pin_key_hex) expect(toHex(keys.pinKey)).toBe(v.expected.pin_key_hex)
        const epb = desEncrypt(keys.pinKey, encodePinBlock(0, pin, pan))
        expect(toHex(epb)).toBe(v.expected.encrypted_pin_block_hex)
      })
    }
  }

  it('rejects a counter with more than 10 one-bits and a KSN of the wrong length', () => {
    const ipek = Buffer.alloc(16)
    expect(() => deriveTdesTransactionKey(ipek, hex('FFFF9876543210E007FF'))).toThrow(/more than 10 one-bits/)
    expect(() => deriveTdesIpek(Buffer.alloc(16), Buffer.alloc(8))).toThrow(/10 bytes/)
  })

  it('counter advance skips counters with more than 10 one-bits and stops at exhaustion', () => {
    expect(nextTdesCounter(1)).toBe(2)
    expect(nextTdesCounter(0x3fe)).toBe(0x3ff) // 10 bits, still legal
    expect(nextTdesCounter(0x3ff)).toBe(0x400) // 0x3ff+1 has one bit
    expect(nextTdesCounter(0x7fe)).toBe(0x800) // 0x7ff has 11 bits → skip to 0x800
    expect(() => nextTdesCounter(0x1ff800)).toThrow(/exhausted/)
    const { initialKsn, counter } = parseTdesKsn(hex('FFFF9876543210E00003'))
    expect(counter).toBe(3)
    expect(toHex(formatTdesKsn(initialKsn, 0x1fffff & 0x155))).toBe('FFFF9876543210E00155')
  })

  it('X9.24-1:2009 A.4.3 rollover sequence: KSN advance and keys (openemv/dukpt: test/dukpt_tdes_test.c)', () => {
    const bdk = hex('0123456789ABCDEFFEDCBA9876543210')
    const expectedKsns = [
      'EFF800',
      'EFF801',
      'EFF802',
      'EFF804',
      'EFF808',
      'EFF810',
      'EFF820',
      'EFF840',
      'EFF880',
      'EFF900',
      'EFFA00',
      'EFFC00',
      'F00000',
    ]
    const iksn = hex('FFFF9876543210E00000')
    let counter = 0x0ff800
    const seen: string[] = []
    for (let i = 0; i < expectedKsns.length; i++) {
      seen.push(toHex(formatTdesKsn(iksn, counter)).slice(14))
      if (i < expectedKsns.length - 1) counter = nextTdesCounter(counter)
    }
    expect(seen).toEqual(expectedKsns)
    const first = deriveTdesDukptKeys(bdk, hex('FFFF9876543210EFF800'))
    expect(toHex(first.transactionKey)).toBe('F9CDFEBF4F5B1D9EB3EC12454527E176')
    expect(toHex(desEncrypt(first.pinKey, hex('041274EDCBA9876F')))).toBe('33365F5CC6F23C35')
    const last = deriveTdesDukptKeys(bdk, hex('FFFF9876543210F00000'))
    expect(toHex(last.transactionKey)).toBe('AA4D58DB653EC74A48C75F2F047DD2B5')
    expect(toHex(desEncrypt(last.pinKey, hex('041274EDCBA9876F')))).toBe('73EC88AD0AC5830E')
  })

  it.skipIf(!pythonCryptographyAvailable)(
    'agrees with the python3-cryptography oracle on random BDKs and KSNs',
    () => {
      const cases = Array.from({ length: 16 }, () => {
        let counter = 0
        for (let b = 0; b < 1 + Math.floor(Math.random() * 10); b++)
          counter |= 1 << Math.floor(Math.random() * 21)
        return { bdk: toHex(randomBytes(16)), ksn: toHex(formatTdesKsn(randomBytes(10), counter)) }
      })
      const expected = runOracle<{ ipek: string; key: string }[]>(
        `
C0 = bytes.fromhex('C0C0C0C000000000C0C0C0C000000000')
def nrkg(key, reg):
    r1 = X(E(key[:8], X(reg, key[8:])), key[8:])
    kl, kr = X(key[:8], C0[:8]), X(key[8:], C0[8:])
    return X(E(kl, X(reg, kr)), kr) + r1
out = []
for c in json.load(sys.stdin):
    bdk, ksn = bytes.fromhex(c['bdk']), bytes.fromhex(c['ksn'])
    base = bytearray(ksn[:8]); base[7] &= 0xE0
    ik = E(bdk, bytes(base)) + E(X(bdk, C0), bytes(base))
    ctr = int.from_bytes(ksn[7:10], 'big') & 0x1FFFFF
    reg = int.from_bytes(ksn[2:10], 'big') & ~0x1FFFFF
    key, bit = ik, 1 << 20
    while bit:
        if ctr & bit:
            reg |= bit; key = nrkg(key, reg.to_bytes(8, 'big'))
        bit >>= 1
    out.append({'ipek': ik.hex().upper(), 'key': key.hex().upper()})
print(json.dumps(out))
`,
        cases,
      )
      expect(
        cases.map((c) => {
          const k = deriveTdesDukptKeys(hex(c.bdk), hex(c.ksn))
          return { ipek: toHex(k.ipek), key: toHex(k.transactionKey) }
        }),
      ).toEqual(expected)
    },
  )
})

describe('AES DUKPT (X9.24-3)', () => {
  for (const v of vectors('aes_dukpt')) {
    const { bdk_hex, ksn_hex, initial_key_id_hex } = v.inputs as Record<string, string>
    it(`${v.description} (${v.source})`, () => {
      if (v.expected.error) {
        expect(() => parseAesKsn(hex(ksn_hex))).toThrow(String(v.expected.error))
        return
      }
      if (v.expected.ik_hex) {
        expect(toHex(deriveAesInitialKey(hex(bdk_hex), hex(initial_key_id_hex)))).toBe(v.expected.ik_hex)
        return
      }
      const keys = deriveAesDukptKeys(hex(bdk_hex), hex(ksn_hex))
      if (v.expected.derivation_key_hex) expect(toHex(keys.derivationKey)).toBe(v.expected.derivation_key_hex)
      if (v.expected.pin_key_hex) expect(toHex(keys.pinKey)).toBe(v.expected.pin_key_hex)
      if (v.expected.mac_generation_key_hex) {
        expect(toHex(keys.macGenerationKey)).toBe(v.expected.mac_generation_key_hex)
      }
      if (v.expected.data_encryption_key_hex) {
        expect(toHex(keys.dataEncryptionKey)).toBe(v.expected.data_encryption_key_hex)
      }
    })
  }

  it('refuses a working key stronger than the derivation key', () => {
    const ik = deriveAesInitialKey(Buffer.alloc(16), Buffer.alloc(8))
    expect(() => deriveAesWorkingKey(ik, Buffer.alloc(12), 'pinEncryption', 'aes256')).toThrow(
      /cannot be derived from a aes128/,
    )
    expect(deriveAesWorkingKey(ik, Buffer.alloc(12), 'pinEncryption', 'tdes2')).toHaveLength(16)
    expect(deriveAesWorkingKey(ik, Buffer.alloc(12), 'pinEncryption', 'tdes3')).toHaveLength(24)
  })

  it('counter advance skips counters with more than 16 one-bits and ends after FFFF0000', () => {
    expect(nextAesCounter(0xfffe)).toBe(0xffff)
    expect(nextAesCounter(0xffff)).toBe(0x10000)
    expect(nextAesCounter(0x1fffe)).toBe(0x20000)
    expect(() => nextAesCounter(0xffff0000)).toThrow(/exhausted/)
    expect(toHex(formatAesKsn(hex('1234567890123456'), 0xffff0000))).toBe('1234567890123456FFFF0000')
  })

  it.skipIf(!pythonCryptographyAvailable)(
    'agrees with the python3 oracle for AES-128 and AES-256 BDKs (IK, derivation and working keys)',
    () => {
      const cases = Array.from({ length: 12 }, (_, i) => {
        let counter = 0
        for (let b = 0; b < 1 + (i % 16); b++)
          counter = (counter | (1 << Math.floor(Math.random() * 32))) >>> 0
        return { bdk: toHex(randomBytes(i % 2 ? 32 : 16)), ikid: toHex(randomBytes(8)), counter }
      })
      const expected = runOracle<string[][]>(
        `
ALG = {16: (2, 128), 32: (4, 256)}
def derive(key, usage, out_len, tail):
    alg, bits = ALG[out_len]
    return b''.join(A(key, bytes([1, n]) + usage.to_bytes(2, 'big') + alg.to_bytes(2, 'big')
                      + bits.to_bytes(2, 'big') + tail) for n in range(1, out_len // 16 + 1))
out = []
for c in json.load(sys.stdin):
    bdk, ikid, ctr = bytes.fromhex(c['bdk']), bytes.fromhex(c['ikid']), c['counter']
    key = ik = derive(bdk, 0x8001, len(bdk), ikid)
    wc, bit = 0, 1 << 31
    while bit:
        if ctr & bit:
            wc |= bit; key = derive(key, 0x8000, len(bdk), ikid[4:] + wc.to_bytes(4, 'big'))
        bit >>= 1
    tail = ikid[4:] + ctr.to_bytes(4, 'big')
    out.append([ik.hex().upper(), key.hex().upper()] + [derive(key, u, len(bdk), tail).hex().upper() for u in (0x1000, 0x2000, 0x3000)])
print(json.dumps(out))
`,
        cases,
      )
      expect(
        cases.map((c) => {
          const ksn = formatAesKsn(hex(c.ikid), c.counter)
          const k = deriveAesDukptKeys(hex(c.bdk), ksn)
          expect(toHex(deriveAesDerivationKey(k.initialKey, ksn))).toBe(toHex(k.derivationKey))
          return [k.initialKey, k.derivationKey, k.pinKey, k.macGenerationKey, k.dataEncryptionKey].map(toHex)
        }),
      ).toEqual(expected)
    },
  )
})

describe('host derivers with a per-device key-path cache', () => {
  it('TDES: sequential, repeated and out-of-order KSNs give the same keys as the plain derivation', () => {
    const bdk = hex('0123456789ABCDEFFEDCBA9876543210')
    const host = new TdesDukptHost(bdk, 2)
    const counters: number[] = []
    for (let c = 1; counters.length < 300; c = nextTdesCounter(c)) counters.push(c)
    const order = [...counters, 5, 3, 0x155, 1, 1, 0x7fe, ...counters.slice(0, 20).reverse()]
    for (const [i, c] of order.entries()) {
      const iksn = i % 3 === 0 ? hex('FFFF9876543210E00000') : hex('FFFF0000000001E00000')
      const ksn = formatTdesKsn(iksn, c)
      expect(host.workingKey(ksn, 'pin')).toEqual(deriveTdesDukptKeys(bdk, ksn).pinKey)
    }
    expect(toHex(host.workingKey(hex('FFFF9876543210E00001'), 'pin'))).toBe(
      '042666B49184CF5C68DE9628D0397B36',
    )
  })

  it('AES: the same for AES-128 and AES-256 BDKs', () => {
    for (const bdk of [hex('FEDCBA9876543210F1F1F1F1F1F1F1F1'), randomBytes(32)]) {
      const host = new AesDukptHost(bdk)
      for (const c of [1, 2, 3, 4, 0x100, 0xff, 0xffff0000, 7, 6, 1]) {
        const ksn = formatAesKsn(hex('1234567890123456'), c)
        expect(host.workingKey(ksn, 'pinEncryption')).toEqual(deriveAesDukptKeys(bdk, ksn).pinKey)
      }
    }
  })
})
