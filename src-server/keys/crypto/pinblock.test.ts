import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { toHex, xor } from './bytes'
import {
  decipherFormat4,
  decodePinBlock,
  encipherFormat4,
  encodePinBlock,
  format4PanField,
  format4PinField,
} from './pinblock'
import { pythonCryptographyAvailable, runOracle } from './oracle.test-helper'
import { hex, vectors } from './vectors.test-helper'

describe('ISO 9564 PIN blocks', () => {
  for (const v of vectors('pinblock')) {
    const { format, pin, pan } = v.inputs as { format: 0 | 3; pin?: string; pan: string }
    it(`format ${format}: ${v.description} (${v.source})`, () => {
      if (v.expected.clear_pin_block_hex) {
        const block = encodePinBlock(format, pin!, pan)
        expect(toHex(block)).toBe(v.expected.clear_pin_block_hex)
        expect(decodePinBlock(format, block, pan)).toBe(pin)
      } else {
        expect(decodePinBlock(format, hex(v.inputs.clear_pin_block_hex), pan)).toBe(v.expected.pin)
      }
    })
  }

  it('format 3 uses random A–F fill and round-trips', () => {
    for (let i = 0; i < 20; i++) {
      const block = encodePinBlock(3, '98765', '5555555551234567')
      const field = toHex(xor(block, hex('0000555555123456')))
      // The fill of the PIN field (after the 5-digit PIN) lies in A–F.
      expect(field.slice(7)).toMatch(/^[A-F]+$/)
      expect(decodePinBlock(3, block, '5555555551234567')).toBe('98765')
    }
  })

  it('format 1 needs no PAN', () => {
    const block = encodePinBlock(1, '1234', undefined, (n) => Buffer.alloc(n, 0x05))
    expect(toHex(block)).toBe('1412345555555555')
    expect(decodePinBlock(1, block)).toBe('1234')
  })

  it('rejects wrong formats, lengths and fills with errors free of PIN digits', () => {
    expect(() => encodePinBlock(0, '12', '4012345678909')).toThrow(/4 to 12 decimal digits/)
    expect(() => encodePinBlock(0, '1234')).toThrow(/needs the PAN/)
    expect(() => decodePinBlock(3, hex('041274EDCBA9876F'), '4012345678909')).toThrow(
      /not PIN block format 3/,
    )
    // Format 0 block with a non-F fill nibble.
    expect(() => decodePinBlock(0, hex('041274EDCBA9876E'), '4012345678909')).toThrow(/invalid format 0 fill/)
  })

  it('format 4 PIN and PAN fields match openemv/pinblock (X9.24-3 supplement p.31 and hand-made cases)', () => {
    expect(toHex(format4PinField('1234').subarray(0, 8))).toBe('441234AAAAAAAAAA')
    expect(toHex(format4PinField('12345').subarray(0, 8))).toBe('4512345AAAAAAAAA')
    expect(toHex(format4PanField('4111111111111111'))).toBe('44111111111111111000000000000000')
    expect(toHex(format4PanField('411111111111111'))).toBe('34111111111111110000000000000000')
    expect(toHex(format4PanField('123456789'))).toBe('00001234567890000000000000000000')
  })

  it('format 4 enciphers and deciphers with AES', () => {
    const key = randomBytes(16)
    const { block } = encipherFormat4(key, '2468', '4111111111111111')
    expect(decipherFormat4(key, block, '4111111111111111')).toBe('2468')
    expect(() => decipherFormat4(key, block, '4111111111111112')).toThrow(/PIN block/)
  })

  it.skipIf(!pythonCryptographyAvailable)('format 4 agrees with an independent python3 encipherment', () => {
    const cases = Array.from({ length: 8 }, (_, i) => {
      const key = randomBytes([16, 24, 32][i % 3])
      const pan = '4' + '0123456789012345678'.slice(0, 11 + i)
      const fixedRandom = randomBytes(8)
      const { block } = encipherFormat4(key, '1234567'.slice(0, 4 + (i % 4)), pan, () => fixedRandom)
      return {
        key: toHex(key),
        pin: '1234567'.slice(0, 4 + (i % 4)),
        pan,
        rnd: toHex(fixedRandom),
        block: toHex(block),
      }
    })
    const expected = runOracle<string[]>(
      `
out = []
for c in json.load(sys.stdin):
    k = bytes.fromhex(c['key']); pin = c['pin']; pan = c['pan']
    pinf = bytes.fromhex(('4%X%s' % (len(pin), pin)).ljust(16, 'A')) + bytes.fromhex(c['rnd'])
    panf = bytes.fromhex(('%d%s' % (max(0, len(pan) - 12), pan.rjust(12, '0'))).ljust(32, '0'))
    out.append(A(k, X(A(k, pinf), panf)).hex().upper())
print(json.dumps(out))
`,
      cases,
    )
    expect(cases.map((c) => c.block)).toEqual(expected)
  })
})
