import { execFileSync } from 'node:child_process'
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { importPskc } from '../../src-server/dongles/pskc/import'
import { BENCH_PASSWORD, writeBenchPskc } from './pskc-fixture'

const TOKENS = 100_000
/** python3-pskc needs ~10x longer per token; it gets a 10,000-token file so the bench stays within ~20 s. */
const BASELINE_TOKENS = 10_000

/** python3-pskc (Debian) parsing the same file and decrypting every secret: the baseline. */
const PYTHON_PSKC = `
import sys, time, pskc
t = time.perf_counter()
p = pskc.PSKC(sys.argv[1])
p.encryption.derive_key(sys.argv[2])
n = sum(1 for k in p.keys if k.secret)
print(n, time.perf_counter() - t)
`

export default {
  name: 'dongles: streaming decrypting import of a 100,000-token PBKDF2 PSKC file (baseline: python3-pskc)',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'pskc-bench-'))
    try {
      const file = join(dir, 'tokens.pskcxml')
      const baselineFile = join(dir, 'baseline.pskcxml')
      await writeBenchPskc(file, TOKENS)
      await writeBenchPskc(baselineFile, BASELINE_TOKENS)

      const start = performance.now()
      const report = await importPskc(createReadStream(file), { password: BENCH_PASSWORD })
      const oursS = (performance.now() - start) / 1000
      if (!report.ok || report.seeds.length !== TOKENS) throw new Error('bench import failed')

      const [count, pythonS] = execFileSync(
        '/usr/bin/python3',
        ['-c', PYTHON_PSKC, baselineFile, BENCH_PASSWORD],
        {
          encoding: 'utf8',
          maxBuffer: 1 << 20,
        },
      )
        .trim()
        .split(' ')
        .map(Number)
      if (count !== BASELINE_TOKENS) throw new Error('python3-pskc did not decrypt every token')
      const mb = (statSync(file).size / 1e6).toFixed(0)
      return {
        value: TOKENS / oursS,
        baseline: BASELINE_TOKENS / pythonS,
        unit: 'tokens/s',
        note:
          `ours: ${TOKENS} tokens (${mb} MB) in ${oursS.toFixed(2)} s (target < 10 s); ` +
          `python3-pskc: ${BASELINE_TOKENS} tokens of the same make in ${pythonS.toFixed(2)} s`,
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  },
}
