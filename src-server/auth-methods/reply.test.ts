import { describe, expect, it } from 'vitest'
import { newReference, normaliseReply, parseKeywordReply, parseReply } from './reply'

describe('SMS reply parsing', () => {
  it('normalises case, spacing, punctuation, full-width letters and invisible characters', () => {
    expect(normaliseReply('  yes\u00a0\u00a0k7qd. ')).toBe('YES K7QD')
    expect(normaliseReply('\u200b\u200eＹＥＳ　Ｋ７ＱＤ\ufeff')).toBe('YES K7QD')
    expect(normaliseReply('Yes,K7QD!')).toBe('YES K7QD')
    expect(normaliseReply('e\u0301')).toBe('É')
  })

  it('reads YES/NO with a reference, the reference alone, and nothing else', () => {
    expect(parseReply('YES K7QD')).toEqual({ verdict: 'approve', reference: 'K7QD' })
    expect(parseReply('oui k7qd')).toEqual({ verdict: 'approve', reference: 'K7QD' })
    expect(parseReply('Nein K7QD')).toEqual({ verdict: 'refuse', reference: 'K7QD' })
    expect(parseReply('k7qd')).toEqual({ verdict: 'none', reference: 'K7QD' })
    expect(parseReply('yes')).toEqual({ verdict: 'approve' })
    expect(parseReply('no')).toEqual({ verdict: 'refuse' })
    for (const odd of [
      '',
      '   ',
      'YES K7QD please',
      'YES K7-QD-X',
      'YES 🙂',
      '\u0000',
      'x'.repeat(2000),
      'YES ABCDEFGHJKMNPQRTU',
    ])
      expect(parseReply(odd).reference).toBeUndefined()
  })

  it('reads FRAUD <ref> only when FRAUD is the first word', () => {
    expect(parseKeywordReply('FRAUD', ' fraud  ab12cd ')).toEqual({ reference: 'AB12CD' })
    expect(parseKeywordReply('FRAUD', 'FRAUD')).toEqual({})
    expect(parseKeywordReply('FRAUD', 'not FRAUD AB12')).toBeUndefined()
    expect(parseKeywordReply('FRAUD', 'FRAUD AB12 CD')).toBeUndefined()
  })

  it('draws references of the requested length from an unambiguous alphabet', () => {
    let i = 0
    const seq = (max: number) => i++ % max
    const ref = newReference(16, seq)
    expect(ref).toMatch(/^[A-Z0-9]{16}$/)
    expect(ref).not.toMatch(/[0O1IL5S]/)
    expect(() => newReference(1, seq)).toThrow(RangeError)
    expect(() => newReference(17, seq)).toThrow(RangeError)
  })
})
