import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openTransport } from '../../serial/transport'
import type { FramingProfile } from '../../ped/framing'
import { createFactoryIdentity, loadOrCreateLabCa } from './identity'
import { PedSimulator, type PedFault } from './simulator'

/**
 * `ims ped simulate --device TTY [--profile stx|syn] [--baud N] [--serial SN] [--pki DIR]
 *                   [--operators id:pw,id:pw] [--fault SPEC]...`
 * `argv` is what follows `ims ped simulate`. Runs until stop() or SIGINT/SIGTERM. The lab root CA lives in
 * --pki DIR (ca.pem, ca.key; created if missing) so a station can issue its KDH certificate under it.
 * Fault SPECs: corrupt-byte[:N], lost-ack[:N], slow:MS, wrong-mac, tamper[:AFTER_COMMANDS].
 */
export interface RunningSimulator {
  simulator: PedSimulator
  pkiDir: string
  stop(): Promise<void>
}

const USAGE =
  'usage: ims ped simulate --device TTY [--profile stx|syn] [--baud N] [--serial SN] [--pki DIR] [--operators id:pw,id:pw] [--fault SPEC]'

export function parseFault(spec: string): PedFault {
  const [name, arg] = spec.split(':', 2)
  const n = arg === undefined ? undefined : Number(arg)
  if (n !== undefined && (!Number.isInteger(n) || n < 0))
    throw new Error(`--fault ${name}: ${arg} is not a count`)
  switch (name) {
    case 'corrupt-byte':
      return { type: 'corrupt-byte', count: n ?? 1 }
    case 'lost-ack':
      return { type: 'lost-ack', count: n ?? 1 }
    case 'slow':
      if (n === undefined) throw new Error('--fault slow needs a delay: slow:MS')
      return { type: 'slow', delayMs: n }
    case 'wrong-mac':
      return { type: 'wrong-mac' }
    case 'tamper':
      return { type: 'tamper', afterCommands: n ?? 0 }
    default:
      throw new Error(
        `unknown fault ${JSON.stringify(name)} (corrupt-byte, lost-ack, slow, wrong-mac, tamper)`,
      )
  }
}

function parseArgs(argv: string[]) {
  const opts = {
    device: '',
    profile: 'stx' as FramingProfile,
    baud: 115_200,
    serial: 'SIM00000001',
    pki: '',
    operators: { op1: '1111', op2: '2222' } as Record<string, string>,
    faults: [] as PedFault[],
  }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = argv[i + 1]
    if (!flag.startsWith('--') || value === undefined || value.startsWith('--')) {
      throw new Error(
        flag.startsWith('--') ? `${flag} needs a value\n${USAGE}` : `unexpected argument\n${USAGE}`,
      )
    }
    i++
    switch (flag) {
      case '--device':
        opts.device = value
        break
      case '--profile':
        if (value !== 'stx' && value !== 'syn') throw new Error('--profile must be stx or syn')
        opts.profile = value
        break
      case '--baud':
        opts.baud = Number(value)
        if (!Number.isInteger(opts.baud) || opts.baud <= 0)
          throw new Error('--baud must be a positive integer')
        break
      case '--serial':
        if (!/^[0-9A-Za-z-]{1,32}$/.test(value))
          throw new Error('--serial must be 1-32 letters, digits or dashes')
        opts.serial = value
        break
      case '--pki':
        opts.pki = value
        break
      case '--operators':
        opts.operators = Object.fromEntries(
          value.split(',').map((pair) => {
            const [id, password] = pair.split(':', 2)
            if (!id || !password) throw new Error('--operators takes id:password,id:password')
            return [id, password]
          }),
        )
        if (Object.keys(opts.operators).length < 2)
          throw new Error('--operators needs at least two operators')
        break
      case '--fault':
        opts.faults.push(parseFault(value))
        break
      default:
        throw new Error(`unknown flag ${flag}\n${USAGE}`)
    }
  }
  if (!opts.device) throw new Error(`missing --device\n${USAGE}`)
  return opts
}

export async function main(argv: string[]): Promise<RunningSimulator> {
  const opts = parseArgs(argv)
  const pkiDir = opts.pki || mkdtempSync(join(tmpdir(), 'ped-sim-pki-'))
  const ca = loadOrCreateLabCa(pkiDir)
  const identity = createFactoryIdentity(ca, { serial: opts.serial })
  const port = await openTransport(opts.device, { baudRate: opts.baud })
  const simulator = new PedSimulator(port.stream, {
    identity,
    operators: opts.operators,
    profile: opts.profile,
  })
  for (const fault of opts.faults) simulator.injectFault(fault)
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    simulator.stop()
    await port.close()
  }
  const onSignal = () => void stop()
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  console.log(
    `PED simulator ${identity.serial} on ${opts.device} (profile ${opts.profile}, ${opts.baud} baud); lab CA in ${pkiDir}`,
  )
  return { simulator, pkiDir, stop }
}
