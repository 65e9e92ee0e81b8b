import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src-server/config'
import { createLogger } from '../../src-server/log'
import { defaultParseWorkers } from '../../src-server/dongles/pskc/import'
import { createServices } from '../../src-server/services'
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
  name: 'dongles: server import of a 100,000-token PBKDF2 PSKC file: parse, decrypt, seal, insert (baseline: python3-pskc parse)',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'pskc-bench-'))
    try {
      const file = join(dir, 'tokens.pskcxml')
      const baselineFile = join(dir, 'baseline.pskcxml')
      await writeBenchPskc(file, TOKENS)
      await writeBenchPskc(baselineFile, BASELINE_TOKENS)

      // The whole server import as the API and CLI run it, into a real SQLite inventory.
      const dataDir = join(dir, 'data')
      const services = createServices(
        loadConfig({ IMS_DATA_DIR: dataDir }),
        createLogger('silent'),
        randomBytes(32),
        'bench',
      )
      let oursS: number
      let parsedS = 0
      try {
        const start = performance.now()
        const { done } = await services.dongles.importer.start({
          source: 'tokens.pskcxml',
          bytes: createReadStream(file, { highWaterMark: 1 << 20 }),
          size: statSync(file).size,
          password: BENCH_PASSWORD,
          actor: 'bench',
          onProgress: (j) => {
            if (j.status === 'importing' && !parsedS) parsedS = (performance.now() - start) / 1000
          },
        })
        const job = await done
        oursS = (performance.now() - start) / 1000
        if (job.status !== 'done' || job.inserted !== TOKENS) throw new Error(`bench import ${job.status}`)
      } finally {
        await services.close()
      }

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
          `ours: ${TOKENS} tokens (${mb} MB) parsed, decrypted, sealed and inserted in ${oursS.toFixed(2)} s (target < 10 s; ` +
          `read, checked and staged by ${parsedS.toFixed(2)} s, ${defaultParseWorkers()} parse worker(s)); ` +
          `python3-pskc: parse + decrypt only, on ${BASELINE_TOKENS} tokens of the same make (${pythonS.toFixed(2)} s; ` +
          `it needs ~10x longer per token, so 100,000 would not fit the bench), compared per token`,
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  },
}
