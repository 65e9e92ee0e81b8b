import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { aesDecrypt, aesEncrypt, DesEcb, desDecrypt, desEncrypt } from './block'

const hex = (s: string) => Buffer.from(s, 'hex')

describe('block ciphers', () => {
  it('single DES matches the classic FIPS 81 known answer', () => {
    // Key 0123456789ABCDEF, plaintext "Now is t" → 3FA40E8A984D4815 (FIPS PUB 81 appendix B).
    expect(desEncrypt(hex('0123456789ABCDEF'), Buffer.from('Now is t')).toString('hex')).toBe(
      '3fa40e8a984d4815',
    )
    expect(desDecrypt(hex('0123456789ABCDEF'), hex('3fa40e8a984d4815')).toString()).toBe('Now is t')
  })

  it('2-key TDES equals single DES when both halves are the same key', () => {
    const k = hex('0123456789ABCDEF')
    const block = hex('0011223344556677')
    expect(desEncrypt(Buffer.concat([k, k]), block)).toEqual(desEncrypt(k, block))
  })

  it('a reused DesEcb context answers every block as a fresh one would, encryptions and decryptions interleaved', () => {
    const key = randomBytes(16)
    const ecb = new DesEcb(key)
    expect(ecb.encrypt(Buffer.from('Now is t'))).toEqual(desEncrypt(key, Buffer.from('Now is t')))
    for (let i = 0; i < 50; i++) {
      const block = randomBytes(8 * (1 + (i % 3)))
      expect(ecb.encrypt(block)).toEqual(desEncrypt(key, block))
      expect(ecb.decrypt(block)).toEqual(desDecrypt(key, block))
    }
    expect(() => ecb.encrypt(Buffer.alloc(7))).toThrow(RangeError)
    expect(new DesEcb(hex('0123456789ABCDEF')).encrypt(Buffer.from('Now is t')).toString('hex')).toBe(
      '3fa40e8a984d4815',
    )
  })

  it('AES-128 matches FIPS-197 appendix C.1', () => {
    const key = hex('000102030405060708090a0b0c0d0e0f')
    const ct = aesEncrypt(key, hex('00112233445566778899aabbccddeeff'))
    expect(ct.toString('hex')).toBe('69c4e0d86a7b0430d8cdb78070b4c55a')
    expect(aesDecrypt(key, ct).toString('hex')).toBe('00112233445566778899aabbccddeeff')
  })

  it('rejects wrong key and data lengths with a RangeError', () => {
    expect(() => desEncrypt(Buffer.alloc(7), Buffer.alloc(8))).toThrow(RangeError)
    expect(() => aesEncrypt(Buffer.alloc(16), Buffer.alloc(15))).toThrow(RangeError)
  })
})
