import { describe, expect, it } from 'vitest'
import { forDisplay, forSending } from '../sms/redact'
import { fillPlaceholders, insertPin, placeholdersOf, TemplateError } from './template'

describe('2FA message templates', () => {
  const text = 'Hello {{name}}, your {{ service }} PIN is {{pin}}. Valid {{minutes}} min.'

  it('lists the placeholders once each', () => {
    expect(placeholdersOf(text)).toEqual(['name', 'service', 'pin', 'minutes'])
    expect(placeholdersOf('{{pin}} {{pin}}')).toEqual(['pin'])
  })

  it('fills placeholders, then the PIN as a masked secret', () => {
    const filled = fillPlaceholders(text, { name: 'Ann', service: 'Bank', minutes: '15' })
    expect(filled).toBe('Hello Ann, your Bank PIN is {{pin}}. Valid 15 min.')
    const withPin = insertPin(filled, '482913')
    expect(forSending(withPin)).toBe('Hello Ann, your Bank PIN is 482913. Valid 15 min.')
    expect(forDisplay(withPin)).toBe('Hello Ann, your Bank PIN is ••••••. Valid 15 min.')
  })

  it('refuses missing values and neutralises injected markup', () => {
    expect(() => fillPlaceholders(text, { name: 'Ann' })).toThrow(TemplateError)
    expect(() => fillPlaceholders(text, { name: 'Ann' })).toThrow(/service, minutes/)
    const filled = fillPlaceholders('Hi {{name}}: {{pin}}', { name: '{{pin}}\u2063x\u2063\n' })
    expect(insertPin(filled, '1234')).toBe('Hi pinx: \u20631234\u2063')
  })
})
