import autocannon from 'autocannon'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import type { Bench, BenchResult } from '../run'

const DURATION_S = 5
const CONNECTIONS = 20

async function load(url: string, headers: Record<string, string> = {}): Promise<number> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, headers })
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return result.requests.average
}

const bench: Bench = {
  name: 'http',
  async run(): Promise<BenchResult[]> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', new URL('./servers.ts', import.meta.url).pathname],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    try {
      const [line] = (await once(child.stdout!, 'data')) as [Buffer]
      const urls = JSON.parse(line.toString()) as { ims: string; bare: string }
      const login = await fetch(`${urls.ims}/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'bench', password: 'quiet-meadow-4417' }),
      })
      const { token } = (await login.json()) as { token: string }
      await load(`${urls.bare}/`) // warm-up
      const bareHealth = await load(`${urls.bare}/`)
      const health = await load(`${urls.ims}/health`)
      const bareRead = await load(`${urls.bare}/read`)
      const apiRead = await load(`${urls.ims}/api/session`, { authorization: `Bearer ${token}` })
      return [
        {
          name: 'GET /health',
          value: health,
          baseline: bareHealth,
          unit: 'req/s',
          note: 'baseline: bare Koa JSON handler',
        },
        {
          name: 'GET /api/session (authenticated)',
          value: apiRead,
          baseline: bareRead,
          unit: 'req/s',
          note: 'baseline: bare Koa handler with one indexed SQLite read',
        },
      ]
    } finally {
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  },
}
export default bench
