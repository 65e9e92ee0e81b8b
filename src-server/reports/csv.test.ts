import { parse } from 'csv-parse/sync'
import { describe, expect, it } from 'vitest'
import { csvCell, toCsv } from './csv'

describe('report CSV', () => {
  it('prefixes every cell a spreadsheet would run as a formula with an apostrophe', () => {
    for (const dangerous of ['=1+1', '+447700900123', '-2+3', '@SUM(A1)', '\t=cmd', '\r=cmd']) {
      expect(csvCell(dangerous).replace(/^"/, '').startsWith("'"), JSON.stringify(dangerous)).toBe(true)
    }
    expect(csvCell('plain')).toBe('plain')
    // Numbers are numbers, not text a spreadsheet would evaluate.
    expect(csvCell(-5)).toBe('-5')
    expect(csvCell(null)).toBe('')
  })

  it('quotes separators, quotes and line breaks so an independent parser reads the same cells back', () => {
    const columns = [
      { key: 'a', label: 'A, with comma' },
      { key: 'b', label: 'B' },
    ]
    const rows = [
      { a: 'say "hi"', b: 'two\nlines' },
      { a: '=HYPERLINK("http://x")', b: 42 },
      { a: null, b: 'x' },
    ]
    const parsed = parse(toCsv(columns, rows)) as string[][]
    expect(parsed).toEqual([
      ['A, with comma', 'B'],
      ['say "hi"', 'two\nlines'],
      [`'=HYPERLINK("http://x")`, '42'],
      ['', 'x'],
    ])
  })
})
