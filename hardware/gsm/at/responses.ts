/** Parsers for the response lines the driver reads (27.005 / 27.007), tolerant of vendor spellings. */

export type Registration = 'not-registered' | 'home' | 'searching' | 'denied' | 'unknown' | 'roaming'

const REGISTRATION: Registration[] = ['not-registered', 'home', 'searching', 'denied', 'unknown', 'roaming']

function fieldsOf(line: string): string[] {
  const colon = line.indexOf(':')
  return line
    .slice(colon + 1)
    .split(',')
    .map((f) => f.trim().replace(/^"|"$/g, ''))
}

/** `+CSQ: 21,99` → 21 (0–31, 99 = unknown). */
export function parseCsq(lines: string[]): number | undefined {
  const line = lines.find((l) => l.startsWith('+CSQ:'))
  if (!line) return undefined
  const rssi = Number(fieldsOf(line)[0])
  return Number.isInteger(rssi) ? rssi : undefined
}

/**
 * Solicited `+CREG: <n>,<stat>[,...]` (also Motorola's `+CREG: 000,001`). An unsolicited `+CREG: <stat>`
 * may slip into the same response: a one-field line is read as the stat alone.
 */
export function parseCreg(lines: string[]): Registration | undefined {
  const line = lines.filter((l) => l.startsWith('+CREG:')).at(-1)
  if (!line) return undefined
  const f = fieldsOf(line)
  const stat = Number(f.length >= 2 && !/^[0-9A-F]{4,}$/i.test(f[1]) ? f[1] : f[0])
  return REGISTRATION[stat] ?? 'unknown'
}

/** `+COPS: 0,0,"Operator"` → `Operator`; `+COPS: 0` (no operator selected) → undefined. */
export function parseCops(lines: string[]): string | undefined {
  const line = lines.find((l) => l.startsWith('+COPS:'))
  if (!line) return undefined
  const f = fieldsOf(line)
  return f.length >= 3 && f[2] ? f[2] : undefined
}

/** Plain information lines (`ATI`, `AT+CGMI`): vendors prefix some with `+CGMI: `, which is dropped. */
export function parseInfo(lines: string[]): string | undefined {
  const text = lines
    .map((l) => l.replace(/^\+[A-Z]+:\s*/, '').trim())
    .filter(Boolean)
    .join(' ')
  return text || undefined
}

export function registrationFromUrc(line: string): Registration {
  return REGISTRATION[Number(fieldsOf(line)[0])] ?? 'unknown'
}

export function isRegistered(r: Registration | undefined): boolean {
  return r === 'home' || r === 'roaming'
}

export interface StorageUsage {
  memory: string
  used: number
  total: number
}

/** `+CPMS: "SM",3,30,"SM",3,30,"SM",3,30` → the first (read/delete) storage. */
export function parseCpms(lines: string[]): StorageUsage | undefined {
  const line = lines.find((l) => l.startsWith('+CPMS:'))
  if (!line) return undefined
  const [memory, used, total] = fieldsOf(line)
  if (!Number.isInteger(Number(used)) || !Number.isInteger(Number(total))) return undefined
  return { memory, used: Number(used), total: Number(total) }
}

export interface StoredPdu {
  index?: number
  /** TPDU length announced by the modem (octets after the SMSC field). */
  length: number
  hex: string
}

/** `+CMGR: <stat>,[<alpha>],<length>` followed by the PDU line; undefined for an empty slot. */
export function parseCmgr(lines: string[]): StoredPdu | undefined {
  const header = lines.findIndex((l) => l.startsWith('+CMGR:'))
  if (header < 0 || header + 1 >= lines.length) return undefined
  const length = Number(fieldsOf(lines[header]).at(-1))
  return { length, hex: lines[header + 1] }
}

/** `+CMGL: <index>,<stat>,[<alpha>],<length>` / PDU pairs. */
export function parseCmgl(lines: string[]): StoredPdu[] {
  const out: StoredPdu[] = []
  for (let i = 0; i < lines.length - 1; i++) {
    if (!lines[i].startsWith('+CMGL:')) continue
    const f = fieldsOf(lines[i])
    out.push({ index: Number(f[0]), length: Number(f.at(-1)), hex: lines[i + 1] })
    i++
  }
  return out
}

/** `+CMGS: <mr>[,<scts>]` → the TP-MR the modem assigned, or -1 when it gave none (gnokii's "reference -1"). */
export function parseCmgs(lines: string[]): number {
  const line = lines.find((l) => l.startsWith('+CMGS:'))
  const mr = line ? Number(fieldsOf(line)[0]) : NaN
  return Number.isInteger(mr) ? mr : -1
}

/** `+CMTI: "SM",3` / `+CDSI: "SR",0` → memory and index. */
export function parseIndexUrc(line: string): { memory: string; index: number } | undefined {
  const [memory, index] = fieldsOf(line)
  const n = Number(index)
  return Number.isInteger(n) ? { memory: memory || 'SM', index: n } : undefined
}
