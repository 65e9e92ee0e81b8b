/**
 * Our pool beside smstools' smsd (Debian `smstools` 3.1.21), both driving the same 4 simulated modems
 * (real ptys, simulators in their own process, 100 ms network time per SMS). Each side gets 48 messages
 * once its modems are initialised (one warm-up SMS per modem first); the clock stops when the simulators
 * have accepted them all. smsd picks files from its spool directory on a timer (`delaytime = 1`, its
 * minimum), which is part of its design and counted. Skipped (value 0) without smsd or socat.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GsmModem } from '../../hardware/gsm/modem'
import { ModemPool } from '../../hardware/gsm/pool'
import { InMemoryJobQueue, Priority } from '../../hardware/gsm/queue'
import { startSimFarm, type SimFarm } from './sim-farm'

const MODEMS = 4
const MESSAGES = 48
const LATENCY_MS = 100

function installed(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

async function waitForSent(farm: SimFarm, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while ((await farm.sent()) < count) {
    if (Date.now() > deadline) throw new Error(`only ${await farm.sent()} of ${count} SMS arrived in time`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

async function smsdRate(farm: SimFarm): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'ims-bench-smsd-'))
  const spool = ['outgoing', 'checked', 'incoming', 'sent', 'failed', 'report']
  for (const s of spool) mkdirSync(join(dir, s))
  const devices = farm.paths.map((_, i) => `GSM${i + 1}`)
  writeFileSync(
    join(dir, 'smsd.conf'),
    [
      `devices = ${devices.join(',')}`,
      ...spool.map((s) => `${s} = ${join(dir, s)}`),
      `logfile = ${join(dir, 'smsd.log')}`,
      'loglevel = 3',
      `infofile = ${join(dir, 'smsd.running')}`,
      `pidfile = ${join(dir, 'smsd.pid')}`,
      'delaytime = 1',
      'delaytime_mainprocess = 1',
      ...farm.paths.flatMap((path, i) => [`[${devices[i]}]`, `device = ${path}`, 'incoming = no']),
      '',
    ].join('\n'),
  )
  const smsd: ChildProcess = spawn('smsd', ['-c', join(dir, 'smsd.conf'), '-t'], {
    stdio: 'ignore',
    detached: true,
  })
  const spoolFile = (name: string, text: string) => {
    // Written aside and renamed in, so smsd never reads half a file.
    writeFileSync(join(dir, `.${name}`), `To: 491234567890\n\n${text}`)
    execFileSync('mv', [join(dir, `.${name}`), join(dir, 'outgoing', name)])
  }
  try {
    const before = await farm.sent()
    for (let i = 0; i < MODEMS; i++) spoolFile(`warm${i}`, `Warm-up ${i}`)
    await waitForSent(farm, before + MODEMS, 20_000)
    const start = performance.now()
    for (let i = 0; i < MESSAGES; i++) spoolFile(`m${i}`, `Notice ${i}`)
    await waitForSent(farm, before + MODEMS + MESSAGES, 30_000)
    return MESSAGES / ((performance.now() - start) / 1000)
  } finally {
    const exited = new Promise((r) => smsd.once('exit', r))
    process.kill(-smsd.pid!, 'SIGTERM')
    await exited
    rmSync(dir, { recursive: true, force: true })
  }
}

async function poolRate(farm: SimFarm): Promise<number> {
  const queue = new InMemoryJobQueue()
  const modems = farm.paths.map((p, i) => new GsmModem({ id: `m${i}`, url: p, pollIntervalMs: 0 }))
  const pool = new ModemPool({ source: queue, modems })
  await pool.start()
  try {
    const start = performance.now()
    for (let i = 0; i < MESSAGES; i++)
      queue.enqueue({
        id: `j${i}`,
        priority: Priority.notification,
        sms: { to: '+491234567890', text: `Notice ${i}` },
      })
    await queue.settled(MESSAGES)
    return MESSAGES / ((performance.now() - start) / 1000)
  } finally {
    await pool.stop()
  }
}

export default {
  name: `gsm: our pool vs smstools smsd, ${MODEMS} simulated modems, ${MESSAGES} SMS (baseline: smsd)`,
  async run() {
    if (!installed('smsd') || !installed('socat'))
      return { value: 0, baseline: 0, unit: 'SMS/s', note: 'skipped: smsd or socat is not installed' }
    const farm = await startSimFarm(MODEMS, LATENCY_MS)
    try {
      const smsd = await smsdRate(farm)
      const ours = await poolRate(farm)
      return {
        value: ours,
        baseline: smsd,
        unit: 'SMS/s',
        note: `same simulators (${LATENCY_MS} ms network time per SMS, ideal ${(MODEMS * 1000) / LATENCY_MS} SMS/s); smsd polls its spool every second (delaytime = 1, its minimum) and is timed from the files' arrival`,
      }
    } finally {
      await farm.close()
    }
  },
}
