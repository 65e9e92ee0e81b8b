import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { exportPskcChunks } from '../../src-server/dongles/pskc/export'
import type { SeedRecord } from '../../src-server/dongles/import-report'

export const BENCH_PASSWORD = 'bench-password'

/** Writes an encrypted (PBKDF2 + AES-128-CBC + HMAC-SHA1) PSKC file with `count` HOTP tokens. */
export async function writeBenchPskc(path: string, count: number): Promise<void> {
  function* seeds(): Generator<SeedRecord> {
    for (let i = 0; i < count; i++) {
      yield {
        serial: `BN${String(i).padStart(8, '0')}`,
        kind: 'hotp',
        secret: randomBytes(20),
        algorithm: 'SHA1',
        digits: 6,
        counter: 0,
        period: 30,
        manufacturer: 'Bench',
      }
    }
  }
  const out = createWriteStream(path)
  for (const chunk of exportPskcChunks(seeds(), { password: BENCH_PASSWORD, iterations: 1000 })) {
    if (!out.write(chunk)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}
