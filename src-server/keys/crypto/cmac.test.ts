import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { toHex } from './bytes'
import { cmac } from './cmac'
import { pythonCryptographyAvailable, runOracle } from './oracle.test-helper'
import { hex, vectors } from './vectors.test-helper'

describe('CMAC', () => {
  for (const v of vectors('cmac')) {
    it(`AES: ${v.description} (${v.source})`, () => {
      expect(toHex(cmac('aes', hex(v.inputs.key_hex), hex(v.inputs.message_hex)))).toBe(v.expected.mac_hex)
    })
  }

  it('AES-128 RFC 4493 example 4 (64-byte message, complete final block)', () => {
    const message =
      '6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E5130C81C46A35CE411E5FBC1191A0A52EFF69F2445DF4F9B17AD2B417BE66C3710'
    expect(toHex(cmac('aes', hex('2B7E151628AED2A6ABF7158809CF4F3C'), hex(message)))).toBe(
      '51F0BEBF7E3B9D92FC49741779363CFE',
    )
  })

  it('TDES: 3-key TDEA over one block, as `openssl mac -cipher DES-EDE3-CBC ... CMAC` computes it', () => {
    const key = hex('8AA83BF8CBDA10620BC1BF19FBB6CD58BC313D4A371CA8B5')
    const m = hex('6BC1BEE22E409F96E93D7E117393172A')
    expect(toHex(cmac('tdes', key, m))).toBe('286D394673448197')
  })

  it.skipIf(!pythonCryptographyAvailable)(
    'agrees with python3-cryptography on random keys and lengths',
    () => {
      const cases = Array.from({ length: 24 }, (_, i) => ({
        family: i % 2 ? 'aes' : 'tdes',
        key: toHex(randomBytes(i % 2 ? [16, 24, 32][i % 3] : [16, 24][i % 2 ? 0 : (i >> 1) % 2])),
        message: toHex(randomBytes(i * 3)),
      })) as { family: 'aes' | 'tdes'; key: string; message: string }[]
      const expected = runOracle<string[]>(
        `
args = json.load(sys.stdin)
print(json.dumps([cmac(algorithms.AES(bytes.fromhex(c['key'])) if c['family'] == 'aes' else T(bytes.fromhex(c['key'])), bytes.fromhex(c['message'])).hex().upper() for c in args]))
`,
        cases,
      )
      expect(cases.map((c) => toHex(cmac(c.family, hex(c.key), hex(c.message))))).toEqual(expected)
    },
  )
})
