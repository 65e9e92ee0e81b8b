import { randomBytes } from 'node:crypto'
import type { SeedRecord } from '../import-report'

/** Test seeds covering HOTP and TOTP, every hash, 6–8 digits, counters, steps and text needing escapes. */
export function sampleSeeds(n: number, prefix = 'TK'): SeedRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    serial: `${prefix}${String(i).padStart(6, '0')}`,
    kind: i % 2 ? ('totp' as const) : ('hotp' as const),
    secret: randomBytes(20 + (i % 3) * 6),
    algorithm: (['SHA1', 'SHA256', 'SHA512'] as const)[i % 3],
    digits: 6 + (i % 3),
    counter: i % 2 ? 0 : i * 7,
    period: i % 2 ? 30 + (i % 4) * 15 : 30,
    manufacturer: 'Acme & Sons <Tokens>',
    model: 'OTP-c200',
  }))
}
