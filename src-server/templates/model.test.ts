import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { analyzeText } from '../../hardware/gsm/pdu'
import {
  DEFAULT_TEMPLATES,
  LANGUAGES,
  renderTemplate,
  TEMPLATE_KINDS,
  templateProblems,
  smsSafe,
} from './model'
import { sampleValues } from './store'

describe('template validation', () => {
  it('accepts every built-in text', () => {
    for (const kind of TEMPLATE_KINDS)
      for (const lang of LANGUAGES)
        expect(templateProblems(kind, DEFAULT_TEMPLATES[kind][lang]), `${kind}/${lang}`).toEqual([])
  })

  it('names each problem', () => {
    expect(templateProblems('otp', '')).toEqual(['the template is empty'])
    expect(templateProblems('otp', 'Your code {{pin}}')).toEqual(
      expect.arrayContaining([
        expect.stringContaining('unknown placeholder {{pin}}'),
        'a otp template needs {{code}}',
      ]),
    )
    expect(templateProblems('otp', 'Use {{code}} as your code')).toEqual([
      'the code must come right after the word "code" ("… code {{code}} …")',
    ])
    expect(templateProblems('otp', 'Code {{code}} {{#merchant}}at {{merchant}}')).toEqual([
      'section {{#merchant}} is never closed',
    ])
    expect(templateProblems('otp', 'Code {{code}} {{/amount}}')).toEqual([
      'section {{/amount}} closes nothing open',
    ])
    expect(templateProblems('otp', 'Code {{code}} {{ref}}')).toEqual([
      'a otp template may not contain {{ref}}',
    ])
    expect(templateProblems('otp', 'Code {{code}} {{amount}')).toEqual([
      'unbalanced braces: write placeholders as {{name}}',
    ])
    expect(templateProblems('fraud-alert', 'Card {{card}} {{code}} FRAUD {{ref}}')).toEqual([
      'a fraud-alert template may not contain {{code}}',
    ])
    expect(templateProblems('fraud-alert', 'Card {{card}}: reply STOP {{ref}}')).toEqual([
      'the text must show the reply to send: "FRAUD {{ref}}"',
    ])
    expect(templateProblems('reply-request', 'Reply {{ref}}')).toEqual([
      'the text must show the reply to send: "YES {{ref}}"',
    ])
    expect(templateProblems('otp', 'Code {{code}}\u0007')).toEqual([
      'the template contains control characters',
    ])
  })

  it('fills placeholders and drops sections without a value', () => {
    const t =
      'Your code {{code}} for {{#amount}}{{amount}} {{/amount}}{{#merchant}}at {{merchant}}, {{/merchant}}card {{card}}.'
    expect(renderTemplate(t, { code: '123456', amount: 'EUR 1.00', merchant: 'Shop', card: '*1234' })).toBe(
      'Your code 123456 for EUR 1.00 at Shop, card *1234.',
    )
    expect(renderTemplate(t, { code: '123456', card: '*1234' })).toBe('Your code 123456 for card *1234.')
    expect(smsSafe('  A\u0000B {{x}}  ')).toBe('A B x')
    expect(smsSafe('M'.repeat(60))).toHaveLength(40)
  })

  it('the preview segment count agrees with python3-gammu for every built-in text (GSM-7 and UCS-2)', () => {
    const texts = TEMPLATE_KINDS.flatMap((k) =>
      LANGUAGES.map((l) => renderTemplate(DEFAULT_TEMPLATES[k][l], sampleValues())),
    )
    texts.push(renderTemplate(DEFAULT_TEMPLATES.otp.en, { ...sampleValues(), merchant: 'Магазин Ёлка' }))
    texts.push('{}[]~€ '.repeat(30))
    const ours = texts.map((t) => analyzeText(t))
    const script = `
import gammu, json, sys
out = []
for t, u in json.load(sys.stdin):
    parts = gammu.EncodeSMS({'Class': -1, 'Unicode': u, 'Entries': [{'ID': 'ConcatenatedTextLong', 'Buffer': t}]})
    out.append(len(parts))
print(json.dumps(out))`
    const gammu = JSON.parse(
      execFileSync('/usr/bin/python3', ['-c', script], {
        input: JSON.stringify(texts.map((t, i) => [t, ours[i].encoding === 'ucs2'])),
      }).toString(),
    ) as number[]
    expect(ours.map((a) => a.segments)).toEqual(gammu)
    expect(ours.at(-2)!.encoding).toBe('ucs2')
    expect(ours[0].encoding).toBe('gsm7')
  })
})
