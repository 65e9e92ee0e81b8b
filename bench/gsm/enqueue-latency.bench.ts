/**
 * Time from `SmsService.enqueue()` to `AT+CMGS` reaching an idle simulated modem over a real pty, through
 * the real server path: the SQLite outbox (sealed text, synchronous=FULL commits), the dispatch loop, the
 * ModemPoolGateway and the pool. Baseline: one bare `AT` round trip on the same pty (the floor for any
 * command). Target: under 50 ms. Median of 40, one message at a time.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AtChannel } from '../../hardware/gsm/at/channel'
import { simulatedModemOnPty } from '../../hardware/gsm/testing/sim-pty'
import { openTransport } from '../../hardware/serial/transport'
import { loadConfig } from '../../src-server/config'
import { createMasterKeyFile } from '../../src-server/crypto/master-key'
import { createLogger } from '../../src-server/log'
import { createServices } from '../../src-server/services'

const ROUNDS = 40
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)
const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)]
const p95 = (xs: number[]) => sorted(xs)[Math.floor(xs.length * 0.95)]

async function atRoundTrips(url: string): Promise<number[]> {
  const transport = await openTransport(url)
  const channel = new AtChannel(transport.stream)
  try {
    const times: number[] = []
    for (let i = 0; i < ROUNDS; i++) {
      const t = performance.now()
      await channel.command('AT')
      times.push(performance.now() - t)
    }
    return times
  } finally {
    channel.shutdown('done')
    await transport.close()
  }
}

export default {
  name: 'gsm: enqueue → AT+CMGS on an idle modem through SmsService + ModemPoolGateway (baseline: one AT round trip)',
  async run() {
    const sim = await simulatedModemOnPty({ reportDelayMs: -1 })
    const dataDir = mkdtempSync(join(tmpdir(), 'ims-bench-gsm-'))
    try {
      const baseline = median(await atRoundTrips(sim.url))
      const config = loadConfig({ ...process.env, IMS_DATA_DIR: dataDir })
      const services = createServices(config, createLogger('silent'), createMasterKeyFile(dataDir), 'bench')
      try {
        services.modems.repo.add({
          name: 'gsm0',
          port: sim.url,
          profile: 'generic',
          baud: 115_200,
          enabled: true,
        })
        await services.modems.selectGateway('modems', 'bench')
        await services.modems.start()
        const deadline = Date.now() + 10_000
        while (services.modems.views()[0].state !== 'ready') {
          if (Date.now() > deadline) throw new Error('the simulated modem did not become ready')
          await new Promise((r) => setTimeout(r, 20))
        }
        services.sms.start()
        const latencies: number[] = []
        for (let i = 0; i < ROUNDS; i++) {
          const reached = new Promise<number>((resolve) => {
            const onCommand = (line: string) => {
              if (!line.startsWith('AT+CMGS')) return
              sim.sim.off('command', onCommand)
              resolve(performance.now())
            }
            sim.sim.on('command', onCommand)
          })
          const sent = new Promise<void>((resolve) => {
            const onOutbox = (e: { status: string }) => {
              if (e.status !== 'sent') return
              services.sms.off('outbox', onOutbox)
              resolve()
            }
            services.sms.on('outbox', onOutbox)
          })
          const t = performance.now()
          services.sms.enqueue({
            to: '+491234567890',
            text: `Your code is ${100000 + i}`,
            kind: 'otp',
            priority: 0,
            idempotencyKey: `bench-${i}`,
          })
          latencies.push((await reached) - t)
          await sent
        }
        return {
          value: median(latencies),
          baseline,
          unit: 'ms',
          note: `median of ${ROUNDS} (p95 ${p95(latencies).toFixed(1)} ms); target < 50 ms; includes the outbox INSERT and the "sending" UPDATE, each a synchronous=FULL commit`,
        }
      } finally {
        await services.close()
      }
    } finally {
      await sim.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  },
}
