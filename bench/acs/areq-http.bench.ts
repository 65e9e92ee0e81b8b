import autocannon from 'autocannon'
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { makeAReq } from '../../src-server/acs/fixtures/areq'
import type { Bench, BenchResult } from '../run'
import serverNodeFlags from '../../src-server/node-flags.json'
import { pacedLoad } from './paced-load'

/**
 * The ACS over HTTP, server in its own process: frictionless AReq → ARes throughput against a bare Koa
 * endpoint doing one indexed SQLite read and one insert (target ≥ 0.5×), p99 latency at half that load
 * (target < 10 ms), the server time of a whole browser challenge (AReq, CReq, code check with the RReq
 * round trip to the lab DS; target p99 < 20 ms) and the server's RSS afterwards (target < 200 MB).
 */
const DURATION_S = 4
const WARM_UP_S = 2
const CLOCK_TICKS = 100 // USER_HZ of /proc/<pid>/stat on Linux
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

async function load(url: string, bodies: string[]) {
  let i = 0
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: DURATION_S,
    headers: { 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }) }],
  })
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return result
}

/**
 * What one durable write costs on this disk right now: append 4 kB and fdatasync, `n` times (ms). Every
 * request that wrote waits for one such sync (a whole challenge for several), so its tail bounds ours.
 */
function fsyncTimes(file: string, n: number): number[] {
  const fd = openSync(file, 'w')
  const block = Buffer.alloc(4096, 1)
  const times: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    writeSync(fd, block)
    fdatasyncSync(fd)
    times.push(performance.now() - t)
  }
  closeSync(fd)
  return times
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
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

const servers = new URL('./servers.ts', import.meta.url).pathname
const builtServer = new URL('../../out/main/server.js', import.meta.url).pathname

/** Starts a server process; resolves once it printed its first line (which `url` turns into its URL). */
async function serverProcess(
  args: string[],
  url: (line: string) => string,
  env: Record<string, string> = {},
) {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  })
  let out = ''
  while (!out.includes('\n')) out += ((await once(child.stdout!, 'data')) as [Buffer])[0].toString()
  return {
    url: url(out.slice(0, out.indexOf('\n'))),
    /** Resident set size from /proc: what the operating system charges the process, workers included. */
    /** CPU time the process has used (user + system, all threads), from /proc, in ms. */
    cpuMs: () => {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ')
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS
    },
    rssMB: () =>
      Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024,
    async stop() {
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}

/** Seeds a data folder (in its own process, through the TypeScript sources); returns the enrolled PANs. */
function seed(dataDir: string): string[] {
  const out = execFileSync(process.execPath, ['--import', 'tsx', servers, 'seed', dataDir], {
    encoding: 'utf8',
  })
  return (JSON.parse(out) as { pans: string[] }).pans
}

const bench: Bench = {
  name: 'acs http',
  async run(): Promise<BenchResult[]> {
    if (!existsSync(builtServer)) throw new Error('out/main/server.js is missing: run `npm run build` first')
    const dataDir = mkdtempSync(join(tmpdir(), 'ims-acs-bench-'))
    const pans = seed(dataDir)
    // The shipped server (the bundle `npm start` and the desktop app run), not the sources through tsx.
    const profile = process.env.IMS_BENCH_PROFILE
    const imsProcess = await serverProcess(
      // Launched as `npm start` launches it: with the server's V8 and Node platform flags (node-flags.json).
      [
        ...serverNodeFlags.v8,
        ...serverNodeFlags.nodePlatform,
        ...(profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : []),
        builtServer,
      ],
      (line) => line.replace('IMS listening on ', ''),
      { IMS_DATA_DIR: dataDir, IMS_PORT: '0', IMS_LOG_LEVEL: 'silent' },
    )
    // The baseline runs on the same Node platform (V8 worker threads) as the server it is compared with.
    const bareProcess = await serverProcess(
      [...serverNodeFlags.nodePlatform, '--import', 'tsx', servers, 'bare'],
      (line) => (JSON.parse(line) as { url: string }).url,
    )
    try {
      const ims = imsProcess.url
      const bare = bareProcess.url
      const frictionless = areqBodies(pans, `${ims}/lab/ds/rreq`, false)
      const check = (await (
        await fetch(`${ims}/acs/v2/areq`, { method: 'POST', body: frictionless[0] })
      ).json()) as { transStatus: string }
      if (check.transStatus !== 'Y') throw new Error(`expected a frictionless Y, got ${check.transStatus}`)
      await load(`${bare}/`, frictionless) // warm-up
      await load(`${ims}/acs/v2/areq`, frictionless)
      // Interleaved, best of each: a neighbour's burst of CPU on this shared machine lowers one run, not both.
      let baseline = 0
      let full = 0
      const cpu = { ims: 0, imsRequests: 0, bare: 0, bareRequests: 0 }
      for (let round = 0; round < 2; round++) {
        const bareCpu = bareProcess.cpuMs()
        const b = await load(`${bare}/`, frictionless)
        cpu.bare += bareProcess.cpuMs() - bareCpu
        cpu.bareRequests += b.requests.total
        baseline = Math.max(baseline, b.requests.average)
        const imsCpu = imsProcess.cpuMs()
        const r = await load(`${ims}/acs/v2/areq`, frictionless)
        cpu.ims += imsProcess.cpuMs() - imsCpu
        cpu.imsRequests += r.requests.total
        full = Math.max(full, r.requests.average)
      }
      // Half load as an even arrival rate (paced-load.ts), on fresh transaction IDs, measured after WARM_UP_S at
      // that rate: the steady state, not the minutes after the full-load rounds (whose backlog of WAL to
      // checkpoint and outbox to drain doubled the p99 of the first seconds; measured with a timeline of 100 ms
      // windows). The warm-up runs on into the measured part on the same connections: measured as a second
      // load after it, its first 30 ms (new connections, an audited request just before) held a quarter of the
      // answers over 8 ms (a timeline of one run).
      const halfRate = Math.max(1, Math.floor(full / 2))
      const login = await fetch(`${ims}/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'bench', password: 'quiet-meadow-4417' }),
      })
      const { token } = (await login.json()) as { token: string }
      const authorization = { authorization: `Bearer ${token}` }
      const halfLoad = async (url: string) => {
        let reset: Promise<Response> | undefined
        const r = await pacedLoad(
          url,
          areqBodies(pans, `${ims}/lab/ds/rreq`, false),
          halfRate,
          DURATION_S,
          CONNECTIONS,
          {
            seconds: WARM_UP_S,
            // The ACS's server-time histogram starts afresh where the measured requests start, the load going on.
            then: url.startsWith(ims)
              ? () =>
                  void (reset = fetch(`${ims}/api/acs/latency/reset`, {
                    method: 'POST',
                    headers: authorization,
                  }))
              : undefined,
          },
        )
        if (reset && !(await reset).ok) throw new Error('resetting the ACS latency figures failed')
        if (r.errors > 0) throw new Error(`${url}: ${r.errors} failed requests at half load`)
        return { p50: median(r.latencies), p99: p99(r.latencies) }
      }
      const half = await halfLoad(`${ims}/acs/v2/areq`)
      // The same run as the ACS's own histogram times it (request reaching the ACS → answer handed to the OS):
      // the client above shares the two cores, and its own late sends count in its figures.
      const halfServer = (
        (await (await fetch(`${ims}/api/acs/latency`, { headers: authorization })).json()) as {
          areq: { p50: number; p99: number }
        }
      ).areq
      // The same rate on the bare endpoint: what this machine and disk alone do to a p99 (context for the note).
      const bareHalf = await halfLoad(`${bare}/`)

      // The ACS's own server-time histograms (GET /api/acs/latency) cover the challenge runs only.
      await fetch(`${ims}/api/acs/latency/reset`, { method: 'POST', headers: authorization })
      const disk = fsyncTimes(join(dataDir, 'fsync-probe'), CHALLENGES)
      const challengeBodies = areqBodies(['4000000000000002'], `${ims}/lab/ds/rreq`, true)
      const serverTimes: number[] = []
      const steps = { areq: [] as number[], creq: [] as number[], code: [] as number[] }
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
        steps.areq.push(tAReq)
        steps.creq.push(tCReq)
        steps.code.push(tCode)
      }
      const rss = imsProcess.rssMB()
      const server = (await (
        await fetch(`${ims}/api/acs/latency`, { headers: authorization })
      ).json()) as Record<
        'areq' | 'browserCReq' | 'browserStep' | 'browserChallenge',
        { count: number; p50: number; p99: number }
      >
      return [
        {
          name: 'frictionless AReq→ARes throughput',
          value: full,
          baseline,
          unit: 'req/s',
          note: 'baseline: bare Koa, JSON parse + one indexed SQLite read + one insert; target ratio ≥ 0.5',
        },
        {
          name: 'CPU per frictionless AReq',
          value: cpu.ims / cpu.imsRequests,
          baseline: cpu.bare / cpu.bareRequests,
          unit: 'ms',
          note: "server CPU time (all threads, from /proc) per request under full load vs the bare Koa baseline: the throughput ratio idle cores would give (≤ 2 ⇔ ≥ 0.5×); the baseline's fsync system time still moves with the disk's load",
        },
        {
          name: 'frictionless p99 at half load',
          value: half.p99,
          baseline: 10,
          unit: 'ms',
          note: `at ${halfRate} req/s arriving evenly for ${DURATION_S} s after ${WARM_UP_S} s at that rate (open loop, latency from each request's due time; the bare Koa endpoint, which fsyncs each insert, at that rate: p99 ${bareHalf.p99.toFixed(1)} ms, p50 ${bareHalf.p50.toFixed(1)} ms; ours p50 ${half.p50.toFixed(1)} ms; the ACS's own server time for the same run: p99 ${halfServer.p99} ms, p50 ${halfServer.p50} ms); baseline = the 10 ms target (ratio < 1 meets it)`,
        },
        {
          name: 'browser challenge server time p99 (server-side)',
          value: server.browserChallenge.p99,
          baseline: 20,
          unit: 'ms',
          note: `from the ACS's own histograms (GET /api/acs/latency: request reaching the ACS → answer handed to the OS, fsync and RReq round trip included), AReq + CReq + code check summed per challenge (${server.browserChallenge.count} challenges; p50 ${server.browserChallenge.p50} ms); p99 per step: AReq ${server.areq.p99}, CReq ${server.browserCReq.p99}, code ${server.browserStep.p99} ms (a challenge waits for four fsyncs in sequence: one per step, two in the code check, before the RReq and before the final page; this disk's 4 kB write + fdatasync just before: p50 ${median(disk).toFixed(2)}, p99 ${p99(disk).toFixed(2)} ms); baseline = the 20 ms target`,
        },
        {
          name: 'browser challenge time p99 (client-side)',
          value: p99(serverTimes),
          baseline: 20,
          unit: 'ms',
          note: `AReq + CReq + code check as the bench's HTTP client times them (its own overhead included), incl. RReq/RRes to the lab DS, ${CHALLENGES} sequential challenges (p99 per step: AReq ${p99(steps.areq).toFixed(1)}, CReq ${p99(steps.creq).toFixed(1)}, code ${p99(steps.code).toFixed(1)} ms); baseline = the 20 ms target`,
        },
        {
          name: 'server RSS after the runs',
          value: rss,
          baseline: 200,
          unit: 'MB',
          note: 'the IMS server process alone, from /proc (worker threads included); baseline = the 200 MB target',
        },
      ]
    } finally {
      await Promise.all([imsProcess.stop(), bareProcess.stop()])
      rmSync(dataDir, { recursive: true, force: true })
    }
  },
}
export default bench
