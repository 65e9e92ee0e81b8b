/**
 * Child process of sim-farm.ts: N simulated modems, each on its own pty pair, in a process of their own
 * (real modems are separate hardware: their work must not share the event loop of the pool under test).
 * argv: N latencyMs. Prints `{"paths":[...]}` once ready; `count` on stdin prints `{"sent":n}`; stdin end stops.
 */
import { createInterface } from 'node:readline'
import { openTransport, type Transport } from '../../hardware/serial/transport'
import { ModemSimulator } from '../../hardware/sim/modem/simulator'
import { openPtyPair, type PtyPair } from '../../test/helpers/pty'

const [n, latencyMs] = process.argv.slice(2).map(Number)
const farm: { sim: ModemSimulator; pair: PtyPair; side: Transport }[] = []
for (let i = 0; i < n; i++) {
  const pair = await openPtyPair()
  const sim = new ModemSimulator({ latencyMs, reportDelayMs: -1 })
  const side = await openTransport(pair.b)
  sim.attach(side.stream)
  farm.push({ sim, pair, side })
}
process.stdout.write(`${JSON.stringify({ paths: farm.map((f) => f.pair.a) })}\n`)
const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  if (line.trim() === 'count')
    process.stdout.write(`${JSON.stringify({ sent: farm.reduce((s, f) => s + f.sim.sent.length, 0) })}\n`)
})
lines.on('close', async () => {
  for (const f of farm) {
    f.sim.close()
    await f.side.close()
    await f.pair.close()
  }
  process.exit(0)
})
