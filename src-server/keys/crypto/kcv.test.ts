import { describe, expect, it } from 'vitest'
import { toHex } from './bytes'
import { combineComponents } from './components'
import { keyCheckValue } from './kcv'
import { hex, vectors } from './vectors.test-helper'

describe('key check values', () => {
  for (const v of vectors('kcv')) {
    it(`legacy: ${v.description} (${v.source})`, () => {
      expect(toHex(keyCheckValue('tdes', hex(v.inputs.key_hex), 'legacy'))).toBe(v.expected.kcv)
    })
  }

  it('the ANSI test BDK legacy KCV block matches the tdes_dukpt vector', () => {
    const v = vectors('tdes_dukpt').find((c) => c.expected.kcv)!
    expect(toHex(keyCheckValue('tdes', hex(v.inputs.key_hex)))).toBe(v.expected.kcv)
  })

  it('AES keys default to the CMAC method: 5 bytes of CMAC over a zero block', () => {
    // RFC 4493 key; CMAC of 16 zero bytes computed with `openssl mac -cipher AES-128-CBC ... CMAC`.
    const kcv = keyCheckValue('aes', hex('2B7E151628AED2A6ABF7158809CF4F3C'))
    expect(kcv).toHaveLength(5)
    expect(toHex(kcv)).toBe('7AD386C376')
  })
})

describe('key components', () => {
  for (const v of vectors('key_components')) {
    it(`${v.description} (${v.source})`, () => {
      const expectedKcvs = (v.inputs.component_kcvs as string[] | undefined) ?? []
      const combined = combineComponents(
        'tdes',
        (v.inputs.components_hex as string[]).map((c, i) => ({
          value: hex(c),
          expectedKcv: expectedKcvs[i] ? hex(expectedKcvs[i]) : undefined,
        })),
      )
      expect(toHex(combined.key)).toBe(v.expected.key_hex)
      expect(toHex(combined.kcv)).toBe(v.expected.kcv)
      if (expectedKcvs.length) expect(combined.componentKcvs.map(toHex)).toEqual(expectedKcvs)
      if (v.expected.odd_parity !== undefined) expect(combined.oddParity).toBe(v.expected.odd_parity)
    })
  }

  it('warns about components without odd parity instead of rejecting them', () => {
    const v = vectors('key_components')[1]
    const combined = combineComponents(
      'tdes',
      (v.inputs.components_hex as string[]).map((c) => ({ value: hex(c) })),
    )
    expect(combined.warnings.some((w) => /component \d does not have odd parity/.test(w))).toBe(true)
  })

  it('rejects a component whose KCV does not match, without echoing key material', () => {
    const v = vectors('key_components')[0]
    const components = (v.inputs.components_hex as string[]).map((c) => ({ value: hex(c) }))
    expect(() =>
      combineComponents('tdes', [{ ...components[0], expectedKcv: hex('000000') }, components[1]]),
    ).toThrow(/^component 1 does not match its check value$/)
  })

  it('rejects one component and components of different lengths', () => {
    expect(() => combineComponents('tdes', [{ value: Buffer.alloc(16) }])).toThrow(/at least two/)
    expect(() =>
      combineComponents('tdes', [{ value: Buffer.alloc(16) }, { value: Buffer.alloc(24) }]),
    ).toThrow(/component 2 is 24 bytes/)
  })
})
