/**
 * What to tell about a file csv-parse could not read, without its contents. csv-parse's own messages quote
 * the field it stopped at (`value is "4111111111111111"`), and in the files we import that field is a PAN or a
 * token seed: so the report names the line and the column, never the text.
 */
export interface CsvFault {
  line?: number
  message: string
}

const DESCRIPTIONS: Record<string, (column: string) => string> = {
  INVALID_OPENING_QUOTE: (column) => `a quote in the middle of ${column} (quote the whole field)`,
  CSV_INVALID_CLOSING_QUOTE: (column) => `characters after the closing quote of ${column}`,
  CSV_QUOTE_NOT_CLOSED: () => 'a quoted field is never closed',
}

/** The fault, when `err` is a csv-parse error (they carry a string `code` and the `lines` read); else undefined. */
export function csvFault(err: unknown): CsvFault | undefined {
  const e = err as { code?: unknown; lines?: unknown; column?: unknown }
  if (typeof e?.code !== 'string' || typeof e.lines !== 'number') return undefined
  const column = typeof e.column === 'number' ? `column ${e.column + 1}` : 'a field'
  const describe = DESCRIPTIONS[e.code]
  return { line: e.lines, message: describe ? describe(column) : `malformed CSV (${e.code})` }
}
