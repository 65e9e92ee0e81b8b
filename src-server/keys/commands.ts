import { main as simulatePed } from '../../hardware/sim/ped/cli'
import type { Command } from '../cli/main'
import { runCryptoCommand } from './cli'

/**
 * `ims crypto ...`: the bench calculator on the command line. Prints one JSON object; bad input prints one
 * line naming the flag that is wrong (never its value) and exits 2.
 */
export const cryptoCommand: Command = {
  name: 'crypto',
  usage: 'ims crypto kcv|dukpt|tr31-wrap|tr31-unwrap|pinblock|cavv|aav --flag value ...',
  summary: 'payment-crypto calculator (KCV, DUKPT, TR-31, PIN blocks, CAVV, AAV) printing JSON',
  run(argv) {
    try {
      console.log(JSON.stringify(runCryptoCommand(argv), null, 2))
      return Promise.resolve(0)
    } catch (err) {
      console.error(prefixed('ims crypto', (err as Error).message))
      return Promise.resolve(2)
    }
  },
}

/** `ims ped simulate ...`: a simulated PED on a serial port (see docs/ped-protocol.md); runs until Ctrl-C. */
export const pedCommand: Command = {
  name: 'ped',
  usage: 'ims ped simulate --device TTY [--profile stx|syn] [--serial SN] [--pki DIR] [--fault SPEC]...',
  summary: 'run a simulated PIN entry device on a serial port or pty',
  async run(argv) {
    const [sub, ...rest] = argv
    if (sub !== 'simulate') {
      console.error('ims ped: the only subcommand is "simulate"')
      return 2
    }
    let running: Awaited<ReturnType<typeof simulatePed>>
    try {
      running = await simulatePed(rest)
    } catch (err) {
      // Device errors (no such port) are TransportErrors and exit 1 through the CLI's expected errors.
      if ((err as Error).name === 'TransportError') throw err
      console.error(prefixed('ims ped simulate', (err as Error).message))
      return 2
    }
    await new Promise<void>((resolve) => {
      const done = () => void running.stop().then(resolve)
      process.once('SIGINT', done)
      process.once('SIGTERM', done)
    })
    return 0
  },
}

function prefixed(prefix: string, message: string): string {
  return message.startsWith(prefix) ? message : `${prefix}: ${message}`
}
