import autocannon from 'autocannon'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { randomUUID } from 'node:crypto'
import { makeAReq } from '../../src-server/acs/fixtures/areq'
import type { Bench, BenchResult } from '../run'

/**
 * The ACS over HTTP, server in its own process: frictionless AReq → ARes throughput against a bare Koa
 * endpoint doing one indexed SQLite read and one insert (target ≥ 0.5×), p99 latency at half that load
 * (target < 10 ms), the server time of a whole browser challenge (AReq, CReq, code check with the RReq
 * round trip to the lab DS; target p99 < 20 ms) and the server's RSS afterwards (target < 200 MB).
 */
const DURATION_S = 4
const CONNECTIONS = 16
const CHALLENGES = 150

function areqBodies(pans: string[], dsURL: string, challenge: boolean): string[] {
  return pans.map((pan) =>
    JSON.stringify({
      ...makeAReq('2.2.0', 'BRW', 'PA'),
      acctNumber: pan,
      purchaseAmount: '1999',
      dsURL,
      notificationURL: dsURL.replace(
        '/lab/ds/rreq',
        '/lab/merchant/notify/00000000-0000-4000-8000-000000000000',
      ),
      threeDSServerTransID: randomUUID(),
      threeDSRequestorChallengeInd: challenge ? '04' : '02',
    }),
  )
}

async function load(url: string, bodies: string[], overallRate?: number) {
  let i = 0
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: DURATION_S,
    overallRate,
    headers: { 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }) }],
  })
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return result
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now()
  const r = await f()
  return [r, performance.now() - t]
}

const bench: Bench = {
  name: 'acs http',
  async run(): Promise<BenchResult[]> {
    const child = spawn(
      process.execPath,
      [
        ...(process.env.IMS_BENCH_PROFILE
          ? ['--cpu-prof', '--cpu-prof-dir', process.env.IMS_BENCH_PROFILE]
          : []),
        '--import',
        'tsx',
        new URL('./servers.ts', import.meta.url).pathname,
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    try {
      let out = ''
      while (!out.includes('\n')) out += ((await once(child.stdout!, 'data')) as [Buffer])[0].toString()
      const { ims, bare, pans } = JSON.parse(out) as { ims: string; bare: string; pans: string[] }
      const frictionless = areqBodies(pans, `${ims}/lab/ds/rreq`, false)
      const check = (await (
        await fetch(`${ims}/acs/v2/areq`, { method: 'POST', body: frictionless[0] })
      ).json()) as { transStatus: string }
      if (check.transStatus !== 'Y') throw new Error(`expected a frictionless Y, got ${check.transStatus}`)
      await load(`${bare}/`, frictionless) // warm-up
      await load(`${ims}/acs/v2/areq`, frictionless)
      const baseline = (await load(`${bare}/`, frictionless)).requests.average
      const full = (await load(`${ims}/acs/v2/areq`, frictionless)).requests.average
      const half = await load(`${ims}/acs/v2/areq`, frictionless, Math.max(1, Math.floor(full / 2)))

      const login = await fetch(`${ims}/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'bench', password: 'quiet-meadow-4417' }),
      })
      const { token } = (await login.json()) as { token: string }
      const challengeBodies = areqBodies(['4000000000000002'], `${ims}/lab/ds/rreq`, true)
      const serverTimes: number[] = []
      for (let n = 0; n < CHALLENGES; n++) {
        const body = challengeBodies[0].replace(
          /"threeDSServerTransID":"[^"]+"/,
          `"threeDSServerTransID":"${randomUUID()}"`,
        )
        const [ares, tAReq] = await timed(
          async () =>
            (await (await fetch(`${ims}/acs/v2/areq`, { method: 'POST', body })).json()) as Record<
              string,
              string
            >,
        )
        if (ares.transStatus !== 'C') throw new Error(`expected C, got ${ares.transStatus}`)
        const creq = Buffer.from(
          JSON.stringify({
            threeDSServerTransID: ares.threeDSServerTransID,
            acsTransID: ares.acsTransID,
            challengeWindowSize: '05',
            messageType: 'CReq',
            messageVersion: '2.2.0',
          }),
        ).toString('base64url')
        const form = (f: Record<string, string>) => ({
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(f).toString(),
        })
        const [page, tCReq] = await timed(async () => (await fetch(ares.acsURL, form({ creq }))).text())
        const nonce = /name="nonce" value="([^"]+)"/.exec(page)![1]
        const phone = (await (
          await fetch(`${ims}/api/virtual-phone/messages?to=%2B447700900002`, {
            headers: { authorization: `Bearer ${token}` },
          })
        ).json()) as { text: string }[]
        const code = /code (\d{6})/.exec(phone.at(-1)!.text)![1]
        const [final, tCode] = await timed(async () =>
          (
            await fetch(
              ares.acsURL,
              form({ acsTransID: ares.acsTransID, nonce, action: 'submit', otp: code }),
            )
          ).text(),
        )
        if (!final.includes('name="cres"')) throw new Error('challenge did not finish')
        serverTimes.push(tAReq + tCReq + tCode)
      }
      const rss = ((await (await fetch(`${bare}/rss`)).json()) as { rss: number }).rss / 1024 / 1024
      return [
        {
          name: 'frictionless AReq→ARes throughput',
          value: full,
          baseline,
          unit: 'req/s',
          note: 'baseline: bare Koa, JSON parse + one indexed SQLite read + one insert; target ratio ≥ 0.5',
        },
        {
          name: 'frictionless p99 at half load',
          value: half.latency.p99,
          baseline: 10,
          unit: 'ms',
          note: `at ${Math.floor(full / 2)} req/s; baseline = the 10 ms target (ratio < 1 meets it)`,
        },
        {
          name: 'browser challenge server time p99',
          value: p99(serverTimes),
          baseline: 20,
          unit: 'ms',
          note: `AReq + CReq + code check incl. RReq/RRes to the lab DS, ${CHALLENGES} sequential challenges; baseline = the 20 ms target`,
        },
        {
          name: 'server RSS after the runs',
          value: rss,
          baseline: 200,
          unit: 'MB',
          note: 'baseline = the 200 MB target',
        },
      ]
    } finally {
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  },
}
export default bench
