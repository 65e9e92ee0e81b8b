// Quick: main-thread and all-thread CPU per frictionless AReq of the built server at full load.
import autocannon from 'autocannon'
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { randomUUID } from 'node:crypto'
import { makeAReq } from '../src-server/acs/fixtures/areq'
import flags from '../src-server/node-flags.json' with { type: 'json' }
const dir = mkdtempSync(join(tmpdir(), 'ims-cpu-'))
const pans = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', 'bench/acs/servers.ts', 'seed', dir], { encoding: 'utf8' })).pans as string[]
const child = spawn(process.execPath, [...(flags as string[]), ...(process.env.EXTRA ?? '').split(' ').filter(Boolean), process.env.SERVER ?? 'out/main/server.js'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, IMS_DATA_DIR: dir, IMS_PORT: '0', IMS_LOG_LEVEL: 'silent' } })
let out = ''
while (!out.includes('\n')) out += ((await once(child.stdout!, 'data')) as [Buffer])[0].toString()
const url = out.slice(0, out.indexOf('\n')).replace('IMS listening on ', '')
const bodies = pans.map((pan) => JSON.stringify({ ...makeAReq('2.2.0', 'BRW', 'PA'), acctNumber: pan, purchaseAmount: '1999', dsURL: `${url}/lab/ds/rreq`, notificationURL: `${url}/lab/merchant/notify/00000000-0000-4000-8000-000000000000`, threeDSServerTransID: randomUUID(), threeDSRequestorChallengeInd: '02' }))
const ticks = (f: string) => { const x = readFileSync(f, 'utf8').split(') ')[1].split(' '); return (Number(x[11]) + Number(x[12])) * 10 }
const main = () => ticks(`/proc/${child.pid}/task/${child.pid}/stat`)
const all = () => ticks(`/proc/${child.pid}/stat`)
async function run(rate?: number) {
  let i = 0
  const m0 = main(), a0 = all()
  const r = await autocannon({ url: `${url}/acs/v2/areq`, method: 'POST', connections: 16, duration: 4, overallRate: rate, headers: { 'content-type': 'application/json' }, requests: [{ setupRequest: (req: any) => ({ ...req, body: bodies[i++ % bodies.length] }) }] })
  const n = r.requests.total
  return { rps: Math.round(r.requests.average), mainMs: ((main() - m0) / n).toFixed(3), allMs: ((all() - a0) / n).toFixed(3), p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors }
}
await run()
const rounds = Number(process.env.ROUNDS ?? 3)
for (let k = 0; k < rounds; k++) console.log(JSON.stringify(await run()))
if (process.env.HALF) console.log('half', JSON.stringify(await run(Number(process.env.HALF))))
child.kill('SIGTERM'); await once(child, 'exit'); if (process.env.KEEP) console.log('dir', dir); else rmSync(dir, { recursive: true, force: true })
