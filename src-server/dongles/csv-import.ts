import { Readable } from 'node:stream'
import { parse } from 'csv-parse'
import { csvFault } from '../csv/fault'
import type { OathAlgorithm } from '../otp/oath'
import { ReportBuilder, type ImportOptions, type ImportReport, type SeedRecord } from './import-report'

export type CsvSource = string | Uint8Array | AsyncIterable<string | Uint8Array>

/** A row the format does not accept; the message names the column. */
class RowError extends Error {}

/**
 * OATH CSV as privacyIDEA reads it: `serial, key (hex), type (hotp|totp), digits, time step`, '#' comments, an
 * optional header row. The hash follows the key length (32 bytes SHA-256, 64 bytes SHA-512), as privacyIDEA does.
 */
export function importOathCsv(source: CsvSource, options: ImportOptions = {}): Promise<ImportReport> {
  return importCsv(source, options, (cols) => {
    const [serial, keyHex, type = 'hotp', digits = '6', step = '30'] = cols
    if (serial.toLowerCase() === 'serial') return null
    const secret = hexSecret(keyHex, 'key')
    const kind = type.toLowerCase()
    if (kind !== 'hotp' && kind !== 'totp') throw new RowError('type (column 3) is not hotp or totp')
    return {
      serial,
      kind,
      secret,
      algorithm: algorithmForKeyLength(secret.length),
      digits: int(digits, 'digits'),
      counter: 0,
      period: int(step, 'time step'),
    }
  })
}

/**
 * The YubiKey personalisation tool's CSV log, in both layouts (privacyIDEA and LinOTP read the same two):
 * - traditional: `OATH-HOTP, date, slot, token id, private id, secret (hex), ..., digits (column 12), ...`
 * - Yubico format: `serial, public id, private id ("0" in OATH mode), secret (hex), access code, timestamp`
 * Only OATH-HOTP rows are OATH tokens; Yubico OTP and static-password rows are refused by name.
 */
export function importYubikeyCsv(source: CsvSource, options: ImportOptions = {}): Promise<ImportReport> {
  return importCsv(source, options, (cols) => {
    const hotp = (serial: string, keyHex: string, digits: number): SeedRecord => ({
      serial,
      kind: 'hotp',
      secret: hexSecret(keyHex, 'secret'),
      algorithm: 'SHA1',
      digits,
      counter: 0,
      period: 30,
    })
    if (cols[0] === 'OATH-HOTP') {
      if (!cols[3]) throw new RowError('token id (column 4) is empty: no serial to import under')
      const digits = cols[11] === '8' ? 8 : 6
      return hotp(`UBOM${cols[3]}_${cols[2] || '1'}`, cols[5] ?? '', digits)
    }
    if (cols[0] === 'Yubico OTP' || cols[0] === 'Static Password') {
      throw new RowError(`${cols[0]} rows are not OATH tokens`)
    }
    if (!/^\d+$/.test(cols[0] ?? ''))
      throw new RowError('column 1 is neither a row type nor a YubiKey serial')
    if (cols[2] !== '0' || cols[1]) throw new RowError('not an OATH-mode row (Yubico OTP or static password)')
    return hotp(`UBOM${cols[0]}`, cols[3] ?? '', 6)
  })
}

async function importCsv(
  source: CsvSource,
  options: ImportOptions,
  toSeed: (cols: string[]) => SeedRecord | null,
): Promise<ImportReport> {
  const report = new ReportBuilder(options)
  const parser = parse({
    comment: '#',
    skip_empty_lines: true,
    relax_column_count: true,
    trim: true,
    info: true,
    bom: true,
  })
  const input =
    typeof source === 'string' || source instanceof Uint8Array
      ? Readable.from([source])
      : Readable.from(source)
  input.on('data', (chunk: string | Uint8Array) => (report.bytes += chunk.length))
  try {
    for await (const { record, info } of input.pipe(parser) as AsyncIterable<{
      record: string[]
      info: { lines: number }
    }>) {
      const line = info.lines
      try {
        const seed = toSeed(record)
        if (seed === null) continue
        report.entries++
        report.add(seed, line, `line ${line}`)
      } catch (err) {
        if (!(err instanceof RowError)) throw err
        report.entries++
        report.error({ line, message: err.message })
      }
      report.progress()
    }
  } catch (err) {
    // csv-parse reports structural faults (an unclosed quote, a stray quote) with the line it stopped at.
    const fault = csvFault(err)
    if (!fault) throw err
    report.error({ line: fault.line, message: `not valid CSV: ${fault.message}` })
  }
  report.progress(true)
  if (report.entries === 0 && !report.failed) report.error({ message: 'the file contains no tokens' })
  return report.finish()
}

function hexSecret(value: string | undefined, column: string): Buffer {
  if (!value || !/^(?:[0-9a-fA-F]{2})+$/.test(value))
    throw new RowError(`${column} is not an even-length hex string`)
  return Buffer.from(value, 'hex')
}

function int(value: string, column: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new RowError(`${column} is not a number`)
  return Number(value)
}

function algorithmForKeyLength(bytes: number): OathAlgorithm {
  return bytes === 64 ? 'SHA512' : bytes === 32 ? 'SHA256' : 'SHA1'
}
