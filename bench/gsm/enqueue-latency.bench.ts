/**
 * Time from `enqueue()` to the `AT+CMGS` command reaching an idle simulated modem over a real pty,
 * against the round trip of a bare `AT` on the same pty (the floor for any command). Median of 40.
 */
import { GsmModem } from '../../hardware/gsm/modem'
import { ModemPool } from '../../hardware/gsm/pool'
import { InMemoryJobQueue, Priority } from '../../hardware/gsm/queue'
import { simulatedModemOnPty } from '../../hardware/gsm/testing/sim-pty'

const ROUNDS = 40
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

export default {
  name: 'gsm pool: enqueue → AT+CMGS latency on an idle modem (baseline: one AT round trip)',
  async run() {
    const sim = await simulatedModemOnPty({ reportDelayMs: -1 })
    const queue = new InMemoryJobQueue()
    const probe = new GsmModem({ id: 'probe', url: sim.url, pollIntervalMs: 0 })
    try {
      // Baseline: AT round trips through the driver's channel on the same pty.
      await probe.open()
      const roundTrips: number[] = []
      for (let i = 0; i < ROUNDS; i++) {
        const t = performance.now()
        await probe.refreshStatus()
        roundTrips.push((performance.now() - t) / 2) // refreshStatus is two commands
      }
      await probe.close()

      const pool = new ModemPool({
        source: queue,
        modems: [new GsmModem({ id: 'm0', url: sim.url, pollIntervalMs: 0 })],
        idlePollMs: 1000,
      })
      await pool.start()
      const latencies: number[] = []
      try {
        for (let i = 0; i < ROUNDS; i++) {
          const reached = new Promise<number>((resolve) => {
            const onCommand = (line: string) => {
              if (!line.startsWith('AT+CMGS')) return
              sim.sim.off('command', onCommand)
              resolve(performance.now())
            }
            sim.sim.on('command', onCommand)
          })
          const t = performance.now()
          queue.enqueue({
            id: `j${i}`,
            priority: Priority.code,
            sms: { to: '+491234567890', text: `Your code is ${100000 + i}` },
          })
          latencies.push((await reached) - t)
          await queue.settled(i + 1)
        }
      } finally {
        await pool.stop()
      }
      return {
        value: median(latencies),
        baseline: median(roundTrips),
        unit: 'ms',
        note: `median of ${ROUNDS}; the pool wakes on enqueue (JobSource.subscribe), no polling delay`,
      }
    } finally {
      await sim.close()
    }
  },
}
