import { createLabCa, issueParty } from '../../src-server/keys/crypto/lab-pki'
import { PedDriver } from '../../hardware/ped/driver'
import { injectDevice } from '../../hardware/ped/injection'
import { createFactoryIdentity } from '../../hardware/sim/ped/identity'
import { PedSimulator } from '../../hardware/sim/ped/simulator'
import { createWire } from '../../hardware/sim/ped/wire'

const BAUD = 115_200
const operators = { op1: 'pass-one', op2: 'pass-two' }

export default {
  name: 'One PED injection (info, TR-34 bind + KBPK load, DUKPT initial key, KCV, self-test) at 115,200 baud',
  async run() {
    const ca = createLabCa()
    const kdh = issueParty(ca, 'KDH', 'Bench station')
    const runs: { ms: number; bytes: number }[] = []
    for (let i = 0; i < 3; i++) {
      const wire = createWire(BAUD)
      const sim = new PedSimulator(wire.a, {
        identity: createFactoryIdentity(ca, { serial: `BENCH${i}` }),
        operators,
        profile: 'stx',
      })
      const ped = new PedDriver(wire.b, { profile: 'stx' })
      const start = performance.now()
      await injectDevice(ped, {
        kdh,
        trustedCa: ca.certificate,
        operators: [
          { id: 'op1', password: operators.op1 },
          { id: 'op2', password: operators.op2 },
        ],
        kbpk: { slot: 1, key: Buffer.from('00112233445566778899AABBCCDDEEFF', 'hex') },
        dukpt: {
          slot: 2,
          kind: 'tdes',
          initialKey: Buffer.from('6AC292FAA1315B4D858AB3A3D7D5933A', 'hex'),
          initialKsn: Buffer.from('FFFF9876543210E00000', 'hex'),
        },
        selfTest: { pin: '1234', pan: '4012345678909' },
      })
      runs.push({ ms: performance.now() - start, bytes: wire.bytes() })
      await ped.close()
      sim.stop()
      wire.destroy()
    }
    const best = runs.reduce((a, b) => (b.ms < a.ms ? b : a))
    return {
      value: best.ms,
      baseline: (best.bytes * 10 * 1000) / BAUD,
      unit: 'ms',
      note: `best of 3; ${best.bytes} bytes on the wire; baseline = the time those bytes take at ${BAUD} baud (10 bits/byte)`,
    }
  },
}
