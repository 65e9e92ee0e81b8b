/** Test support: a simulated modem on the far end of a real pty pair (socat), for driver tests and benches. */
import { openTransport } from '../../serial/transport'
import { ModemSimulator, type SimulatorOptions } from '../../sim/modem/simulator'
import { openPtyPair, type PtyPair } from '../../../test/helpers/pty'

export interface SimulatedModem {
  sim: ModemSimulator
  pair: PtyPair
  /** The device path the driver opens. */
  url: string
  close(): Promise<void>
}

export async function simulatedModemOnPty(options: SimulatorOptions = {}): Promise<SimulatedModem> {
  const pair = await openPtyPair()
  const sim = new ModemSimulator(options)
  const simSide = await openTransport(pair.b)
  sim.attach(simSide.stream)
  return {
    sim,
    pair,
    url: pair.a,
    async close() {
      sim.close()
      await simSide.close()
      await pair.close()
    },
  }
}
