import autocannon from 'autocannon'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type { Bench, BenchResult } from '../run'

const DURATION_S = 3
/** Alternating rounds: both sides are fsync-bound, and the shared disk's latency drifts within seconds. */
const ROUNDS = 3
const CONNECTIONS = 20

/** Wrong-PIN verifications spread over the pending PINs (each request hashes, checks the limit, updates). */
async function load(base: string, pinIds: string[], headers: Record<string, string>): Promise<number> {
  let n = 0
  const result = await autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: DURATION_S,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ pin: '000000' }),
        setupRequest: (req) => ({ ...req, path: `/2fa/v1/pin/${pinIds[n++ % pinIds.length]}/verify` }),
      },
    ],
  })
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${base}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return result.requests.average
}

const bench: Bench = {
  name: 'twofa pin verify',
  async run(): Promise<BenchResult> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', new URL('./servers.ts', import.meta.url).pathname],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    try {
      const lines = createInterface({ input: child.stdout! })
      const [line] = (await once(lines, 'line')) as [string]
      const setup = JSON.parse(line) as { ims: string; bare: string; apiKey: string; pinIds: string[] }
      const auth = { authorization: `App ${setup.apiKey}` }
      await load(setup.bare, setup.pinIds, {}) // warm-up
      const bare: number[] = []
      const ims: number[] = []
      for (let round = 0; round < ROUNDS; round++) {
        bare.push(await load(setup.bare, setup.pinIds, {}))
        ims.push(await load(setup.ims, setup.pinIds, auth))
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
      const baseline = median(bare)
      const value = median(ims)
      return {
        name: 'POST /2fa/v1/pin/{pinId}/verify',
        value,
        baseline,
        unit: 'req/s',
        note: `baseline: bare Koa, JSON body + one SQLite read + one update (WAL, synchronous=FULL); ${CONNECTIONS} connections, median of ${ROUNDS} alternating ${DURATION_S} s rounds`,
      }
    } finally {
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  },
}
export default bench
