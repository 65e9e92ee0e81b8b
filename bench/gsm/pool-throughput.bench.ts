/**
 * Pool throughput with N = 1, 4, 16 simulated modems (real ptys; the simulators run in a process of their
 * own, as real modems are separate hardware), each taking a fixed network time per SMS. Baseline: the same
 * N modems each driven directly by its own `sendSms` loop, with no pool (N × one modem's capacity, the AT
 * dialogue included, under the same load). Target ≥ 95 %.
 *
 * Why the first measurement read ~80 %: its baseline was N / network time, which leaves out the AT dialogue
 * (`AT+CMGS` → `> ` → PDU → `+CMGS:`, 5-15 % of a 100 ms send here); the simulators shared the pool's event
 * loop; and the pool lost wake-ups that came between `source.next()` answering "nothing" and its idle
 * sleep, so a burst could start a whole idle poll late (fixed in pool.ts). Dispatch itself (a modem
 * finishing → its next AT+CMGS) measured ~0.03 ms.
 *
 * Real modems need 2-5 s per SMS: scaled to 100 ms and 12 SMS per modem. The machine is shared and noisy:
 * both sides run twice in A-B-B-A order and the better run of each counts.
 */
import { GsmModem } from '../../hardware/gsm/modem'
import { ModemPool } from '../../hardware/gsm/pool'
import { InMemoryJobQueue, Priority } from '../../hardware/gsm/queue'
import { startSimFarm } from './sim-farm'

const LATENCY_MS = 100
const PER_MODEM = 12

const driver = (id: string, url: string) => new GsmModem({ id, url, pollIntervalMs: 0 })

/** SMS/s of the N modems each sending back to back on its own, without a pool. */
async function directRate(paths: string[]): Promise<number> {
  const modems = paths.map((p, i) => driver(`d${i}`, p))
  await Promise.all(modems.map((m) => m.open()))
  try {
    const start = performance.now()
    await Promise.all(
      modems.map(async (m) => {
        for (let i = 0; i < PER_MODEM; i++) await m.sendSms({ to: '+491234567890', text: `Direct ${i}` })
      }),
    )
    return (paths.length * PER_MODEM) / ((performance.now() - start) / 1000)
  } finally {
    await Promise.all(modems.map((m) => m.close()))
  }
}

async function poolRate(paths: string[]): Promise<number> {
  const queue = new InMemoryJobQueue()
  const pool = new ModemPool({
    source: queue,
    modems: paths.map((p, i) => driver(`m${i}`, p)),
    idlePollMs: 50,
  })
  await pool.start()
  try {
    const total = paths.length * PER_MODEM
    const start = performance.now()
    for (let i = 0; i < total; i++)
      queue.enqueue({
        id: `j${i}`,
        priority: Priority.notification,
        sms: { to: '+491234567890', text: `Notice ${i}` },
      })
    await queue.settled(total)
    if (queue.failed.length) throw new Error(`${queue.failed.length} jobs failed`)
    return total / ((performance.now() - start) / 1000)
  } finally {
    await pool.stop()
  }
}

export default {
  name: 'gsm pool throughput',
  async run() {
    const results = []
    for (const n of [1, 4, 16]) {
      const farm = await startSimFarm(n, LATENCY_MS)
      try {
        const d1 = await directRate(farm.paths)
        const p1 = await poolRate(farm.paths)
        const p2 = await poolRate(farm.paths)
        const direct = Math.max(d1, await directRate(farm.paths))
        const rate = Math.max(p1, p2)
        results.push({
          name: `gsm pool: SMS/s with ${n} simulated modem${n > 1 ? 's' : ''} (baseline: the ${n} driven directly, no pool)`,
          value: rate,
          baseline: direct,
          unit: 'SMS/s',
          note: `${(direct / n).toFixed(2)} SMS/s per modem directly (${1000 / LATENCY_MS}/s if the AT dialogue took no time); ${PER_MODEM} SMS per modem, network time scaled to ${LATENCY_MS} ms (real: 2-5 s); best of 2 runs each; target ≥ 0.95`,
        })
      } finally {
        await farm.close()
      }
    }
    return results
  },
}
