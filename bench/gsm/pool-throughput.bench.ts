/**
 * Pool throughput with N simulated modems (real ptys), each taking a fixed network latency per SMS,
 * against the ideal N × (1 / latency). Real modems need 2–5 s per SMS; the latency is scaled down to
 * 100 ms (and the message count to 12 per modem) so the whole bench stays under ~20 s.
 */
import { GsmModem } from '../../hardware/gsm/modem'
import { ModemPool } from '../../hardware/gsm/pool'
import { InMemoryJobQueue, Priority } from '../../hardware/gsm/queue'
import { simulatedModemOnPty } from '../../hardware/gsm/testing/sim-pty'

const LATENCY_MS = 100
const PER_MODEM = 12

async function throughput(n: number): Promise<number> {
  const sims = await Promise.all(
    Array.from({ length: n }, () => simulatedModemOnPty({ latencyMs: LATENCY_MS, reportDelayMs: -1 })),
  )
  const queue = new InMemoryJobQueue()
  const modems = sims.map((s, i) => new GsmModem({ id: `m${i}`, url: s.url, pollIntervalMs: 0 }))
  const pool = new ModemPool({ source: queue, modems, idlePollMs: 50 })
  try {
    await pool.start()
    const total = n * PER_MODEM
    const start = performance.now()
    for (let i = 0; i < total; i++) {
      queue.enqueue({
        id: `j${i}`,
        priority: Priority.notification,
        sms: { to: '+491234567890', text: `Notice ${i}` },
      })
    }
    await queue.settled(total)
    const seconds = (performance.now() - start) / 1000
    if (queue.failed.length) throw new Error(`${queue.failed.length} jobs failed`)
    return total / seconds
  } finally {
    await pool.stop()
    for (const s of sims) await s.close()
  }
}

export default {
  name: 'gsm pool: SMS/s with 16 simulated modems (baseline: 16 × one modem’s capacity)',
  async run() {
    const capacity = 1000 / LATENCY_MS
    const results: string[] = []
    let value = 0
    for (const n of [1, 4, 16]) {
      const rate = await throughput(n)
      results.push(
        `N=${n}: ${rate.toFixed(1)} SMS/s of ${(n * capacity).toFixed(0)} ideal (${((100 * rate) / (n * capacity)).toFixed(0)}%)`,
      )
      if (n === 16) value = rate
    }
    return {
      value,
      baseline: 16 * capacity,
      unit: 'SMS/s',
      note: `per-SMS latency scaled to ${LATENCY_MS} ms (real: 2-5 s), ${PER_MODEM} SMS per modem; ${results.join('; ')}`,
    }
  },
}
