import { parseArgs } from 'node:util'
import { openTransport } from '../../serial/transport'
import { SerialProgrammerSim, type SimToken } from './serial-programmer-sim'

const USAGE = `usage: ims dongle simulate --device TTY [--tokens N] [--serial-prefix P] [--baud N]
  Runs a simulated bench token programmer on TTY (a pty, a serial port or tcp://host:port).
  A blank token is in the cradle; after each EJECT the next blank token is inserted, until N are used.`

/**
 * `ims dongle simulate`: serve the serial programmer protocol on a device until SIGINT/SIGTERM (or `signal`).
 * Returns the exit code.
 */
export async function main(argv: string[], signal?: AbortSignal): Promise<number> {
  let args
  try {
    args = parseArgs({
      args: argv,
      options: {
        device: { type: 'string' },
        tokens: { type: 'string', default: '10' },
        'serial-prefix': { type: 'string', default: 'SIM' },
        baud: { type: 'string', default: '115200' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`)
    return 2
  }
  if (args.help) {
    console.log(USAGE)
    return 0
  }
  const count = Number(args.tokens)
  if (!args.device || !Number.isInteger(count) || count < 1) {
    console.error(USAGE)
    return 2
  }
  const transport = await openTransport(args.device, { baudRate: Number(args.baud) }).catch(
    (err: Error) => err,
  )
  if (transport instanceof Error) {
    console.error(transport.message)
    return 1
  }
  const tokens: SimToken[] = Array.from({ length: count }, (_, i) => ({
    serial: `${args['serial-prefix']}${String(i + 1).padStart(6, '0')}`,
  }))
  const sim = new SerialProgrammerSim(transport.stream)
  let next = 0
  const feed = () => {
    if (next < tokens.length) sim.insert(tokens[next++])
    else console.log('all simulated tokens used')
  }
  // The operator takes the ejected token out and puts the next blank one in.
  sim.onEject = (token) => {
    console.log(`token ${token.serial} ejected${token.config ? ' (programmed)' : ''}`)
    setTimeout(feed, 200)
  }
  console.log(`dongle programmer simulator on ${args.device} with ${count} blank tokens`)
  feed()

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      signal?.removeEventListener('abort', stop)
      transport.stream.off('close', stop)
      resolve()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    signal?.addEventListener('abort', stop, { once: true })
    transport.stream.once('close', stop)
    if (signal?.aborted) stop()
  })
  sim.detach()
  await transport.close()
  return 0
}
