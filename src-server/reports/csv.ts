/**
 * CSV for report exports (RFC 4180 quoting). Reports are opened in spreadsheets, which execute a cell that
 * starts with = + - @ (or a tab/CR that some of them strip first) as a formula: such cells get a leading
 * apostrophe so they are shown as text (OWASP "CSV injection").
 */
const FORMULA_START = /^[=+\-@\t\r]/

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return ''
  let text = String(value)
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

export function toCsv(
  columns: readonly { key: string; label: string }[],
  rows: readonly Record<string, unknown>[],
): string {
  const lines = [columns.map((c) => csvCell(c.label)).join(',')]
  for (const row of rows) lines.push(columns.map((c) => csvCell(row[c.key])).join(','))
  return lines.join('\r\n') + '\r\n'
}
