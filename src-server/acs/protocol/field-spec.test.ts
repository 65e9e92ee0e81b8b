import { describe, expect, it } from 'vitest'
import { validateTable, type FieldIssue, type FieldTable } from './field-spec'

const ctx = (msg: Record<string, unknown>) => ({
  version: '2.2.0' as const,
  channel: '02',
  category: '01',
  msg,
})

function issuesFor(msg: Record<string, unknown>, table: FieldTable): FieldIssue[] {
  const issues: FieldIssue[] = []
  validateTable(msg, table, ctx(msg), issues)
  return issues
}

describe('object maxLength', () => {
  it('measures the JSON text exactly as JSON.stringify writes it', () => {
    const strings = [
      '',
      'EC',
      'P-256',
      'é',
      '"',
      '\\',
      '\n',
      '\u0001',
      '\u007f',
      '\ud83d\ude00',
      '\ud800',
      'x'.repeat(43),
    ]
    const others = [1, -0.5, true, null, ['a'], { a: '"' }]
    let seed = 7
    const pick = <T>(items: readonly T[]): T => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return items[seed % items.length]
    }
    for (let n = 0; n < 2000; n++) {
      const obj: Record<string, unknown> = {}
      const size = 1 + (n % 5)
      for (let i = 0; i < size; i++) obj[pick(strings) + i] = n % 3 === 0 ? pick(others) : pick(strings)
      if (n % 7 === 0) Object.defineProperty(obj, '__proto__', { value: 'p', enumerable: true })
      const length = JSON.stringify(obj).length
      const msg = JSON.parse(JSON.stringify({ o: obj })) as Record<string, unknown>
      expect(issuesFor(msg, { o: { type: 'object', maxLength: length } }), JSON.stringify(obj)).toEqual([])
      expect(issuesFor(msg, { o: { type: 'object', maxLength: length - 1 } })).toEqual([
        { code: '203', path: 'o' },
      ])
    }
  })
})

describe('validateTable', () => {
  it('applies version overrides and channel limits, and reports nested and array paths', () => {
    const table: FieldTable = {
      code: { type: 'string', pattern: /^0[1-2]$/, byVersion: { '2.2.0': { pattern: /^0[1-3]$/ } } },
      onlyOld: { type: 'string', versions: ['2.1.0'], required: true },
      appOnly: { type: 'string', channels: ['01'], required: true },
      browserOnly: { type: 'string', channels: ['02'], required: true },
      nested: {
        type: 'object',
        fields: {
          inner: { type: 'string', required: (c) => c.msg.flag === true },
          flag: { type: 'boolean' },
        },
      },
      list: { type: 'array', items: { type: 'string', pattern: /^\d$/ } },
    }
    const msg = { code: '03', nested: { flag: true }, list: ['1', 'x', ''] }
    expect(issuesFor(msg, table)).toEqual([
      { code: '201', path: 'browserOnly' },
      { code: '201', path: 'nested.inner' },
      { code: '203', path: 'list[1]' },
      { code: '201', path: 'list[2]' },
    ])
    const old: FieldIssue[] = []
    validateTable(msg, table, { ...ctx(msg), version: '2.1.0', channel: '01' }, old)
    expect(old.map((i) => i.path)).toEqual([
      'code',
      'onlyOld',
      'appOnly',
      'nested.inner',
      'list[1]',
      'list[2]',
    ])
    // A 2.2.0 override holds in later versions unless one of them has its own.
    const later: FieldIssue[] = []
    validateTable({ code: '03' }, { code: table.code }, { ...ctx({}), version: '2.3.1' }, later)
    expect(later).toEqual([])
    const own: FieldIssue[] = []
    const ownTable: FieldTable = {
      code: { ...table.code, byVersion: { ...table.code.byVersion, '2.3.1': { pattern: /^0[1-4]$/ } } },
    }
    validateTable({ code: '04' }, ownTable, { ...ctx({}), version: '2.3.1' }, own)
    expect(own).toEqual([])
    validateTable({ code: '04' }, ownTable, { ...ctx({}), version: '2.2.0' }, own)
    expect(own).toEqual([{ code: '203', path: 'code' }])
    const unknownChannel: FieldIssue[] = []
    validateTable({ code: '01' }, table, { ...ctx({}), channel: '07' }, unknownChannel)
    expect(unknownChannel).toEqual([])
  })
})
