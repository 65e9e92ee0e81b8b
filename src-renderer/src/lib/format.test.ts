import { describe, expect, it } from 'vitest'
import { utcDate } from './format'

describe('utcDate', () => {
  it('names the UTC day, not the local one, and counts days across month and year ends', () => {
    // 21:00 in New York on 2026-03-31 is already 1 April in UTC, the ledger's day.
    const evening = new Date('2026-04-01T01:00:00Z')
    expect(utcDate(0, evening)).toBe('2026-04-01')
    expect(utcDate(-6, evening)).toBe('2026-03-26')
    expect(utcDate(1, new Date('2026-12-31T23:59:59Z'))).toBe('2027-01-01')
  })
})
