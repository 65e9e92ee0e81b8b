/**
 * `ims modem simulate`: runs the GSM modem simulator as a user tool, so a pilot without a modem (and
 * any AT client: gammu, smsd, our driver) can send and receive SMS against it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Duplex } from 'node:stream'
import { openTransport, type Transport } from '../../serial/transport'
import { CONTROL_HELP, listenControl, serveControl } from './control'
import { SIM_PROFILES } from './profiles'
import { ModemSimulator } from './simulator'

export const USAGE = `usage: ims modem simulate (--device TTY | --stdio | --tcp PORT) [options]

  --device TTY        serve on a tty; if TTY does not exist a linked pty pair is created and TTY is the
                      end AT clients open (needs socat)
  --stdio             serve on stdin/stdout (gammu "connection = proxyat", socat EXEC:)
  --tcp PORT          serve on 127.0.0.1:PORT (smsd "device = @127.0.0.1:PORT", tcp:// in our driver)
  --profile NAME      quirk profile: ${Object.keys(SIM_PROFILES).join(', ')} (default generic)
  --latency MS        network time per SMS before +CMGS answers (default 0)
  --report-delay MS   delay of the automatic status report when one is requested (default 500; -1 = none)
  --pin PIN           SIM starts locked with this PIN
  --record FILE       append every SMS-SUBMIT received as a JSON line
  --control PORT|PATH control socket (127.0.0.1:PORT or unix socket); stdin also takes control
                      commands unless --stdio is used

${CONTROL_HELP}`

interface Args {
  device?: string
  stdio: boolean
  tcp?: number
  profile?: string
  latency?: number
  reportDelay?: number
  pin?: string
  record?: string
  control?: string
}

function parseArgs(argv: string[]): Args {
  const list = [...argv]
  // Accept the full `modem simulate ...` form as well as the arguments after it.
  if (list[0] === 'modem') list.shift()
  if (list[0] === 'simulate') list.shift()
  const args: Args = { stdio: false }
  const value = (flag: string) => {
    const v = list.shift()
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value\n\n${USAGE}`)
    return v
  }
  const number = (flag: string) => {
    const n = Number(value(flag))
    if (!Number.isInteger(n)) throw new Error(`${flag} must be an integer`)
    return n
  }
  while (list.length) {
    const flag = list.shift()!
    switch (flag) {
      case '--device':
        args.device = value(flag)
        break
      case '--stdio':
        args.stdio = true
        break
      case '--tcp':
        args.tcp = number(flag)
        break
      case '--profile':
        args.profile = value(flag)
        if (!SIM_PROFILES[args.profile])
          throw new Error(
            `unknown profile "${args.profile}" (known: ${Object.keys(SIM_PROFILES).join(', ')})`,
          )
        break
      case '--latency':
        args.latency = number(flag)
        break
      case '--report-delay':
        args.reportDelay = number(flag)
        break
      case '--pin':
        args.pin = value(flag)
        break
      case '--record':
        args.record = value(flag)
        break
      case '--control':
        args.control = value(flag)
        break
      case '--help':
      case '-h':
        throw new Error(USAGE)
      default:
        throw new Error(`unknown option ${flag}\n\n${USAGE}`)
    }
  }
  const modes = [args.device !== undefined, args.stdio, args.tcp !== undefined].filter(Boolean).length
  if (modes !== 1) throw new Error(`choose exactly one of --device, --stdio, --tcp\n\n${USAGE}`)
  return args
}

/** A pty pair whose client end is `clientPath`; the simulator takes the other end. */
function spawnPtyPair(clientPath: string): { emulatorPath: string; proc: ChildProcess; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ims-modem-'))
  const emulatorPath = join(dir, 'emulator')
  const proc = spawn('socat', [`pty,raw,echo=0,link=${clientPath}`, `pty,raw,echo=0,link=${emulatorPath}`], {
    stdio: 'ignore',
  })
  return { emulatorPath, proc, dir }
}

async function waitForPath(path: string, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + 5000
  while (!existsSync(path)) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error('socat exited before creating the pty pair (is socat installed?)')
    if (Date.now() > deadline) throw new Error('socat did not create the pty pair within 5 s')
    await new Promise((r) => setTimeout(r, 20))
  }
}

export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv)
  const log = (msg: string) => process.stderr.write(`modem-sim: ${msg}\n`)
  const sim = new ModemSimulator({
    profile: args.profile,
    latencyMs: args.latency,
    reportDelayMs: args.reportDelay,
    pin: args.pin,
    onSubmit: args.record ? (sms) => appendFileSync(args.record!, `${JSON.stringify(sms)}\n`) : undefined,
  })
  const cleanups: Array<() => Promise<void> | void> = [() => sim.close()]
  let stop!: () => void
  const stopped = new Promise<void>((resolve) => (stop = resolve))
  const onSignal = () => stop()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  cleanups.push(() => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  })

  if (args.stdio) {
    const stream = Duplex.from({ readable: process.stdin, writable: process.stdout })
    sim.attach(stream)
    process.stdin.once('end', () => stop())
    log(`profile ${sim.profile.name} on stdio`)
  } else if (args.tcp !== undefined) {
    const server: Server = createServer((socket) => {
      socket.setNoDelay(true)
      sim.attach(socket)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(args.tcp, '127.0.0.1', resolve)
    })
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())))
    log(`profile ${sim.profile.name} on tcp://127.0.0.1:${args.tcp}`)
  } else {
    const device = args.device!
    let pair: ReturnType<typeof spawnPtyPair> | undefined
    let transport: Transport | undefined
    const connect = async () => {
      let path = device
      if (!existsSync(device) || pair) {
        pair?.proc.kill('SIGTERM')
        pair = spawnPtyPair(device)
        await waitForPath(pair.emulatorPath, pair.proc)
        await waitForPath(device, pair.proc)
        path = pair.emulatorPath
      }
      transport = await openTransport(path)
      sim.attach(transport.stream)
    }
    await connect()
    // A 'disconnect' fault drops the line; like a re-plugged USB modem it comes back after a second.
    sim.on('disconnect', () => {
      void transport?.close()
      setTimeout(
        () =>
          void connect().then(
            () => log(`back on ${device}`),
            (e: Error) => log(e.message),
          ),
        1000,
      ).unref()
    })
    cleanups.push(async () => {
      await transport?.close()
      pair?.proc.kill('SIGTERM')
      if (pair) rmSync(pair.dir, { recursive: true, force: true })
    })
    log(
      `profile ${sim.profile.name} on ${device}${pair ? ' (pty pair created; point your AT client at it)' : ''}`,
    )
  }

  if (args.control) {
    const control = await listenControl(sim, args.control)
    cleanups.push(() => new Promise<void>((r) => control.close(() => r())))
    log(`control socket on ${/^\d+$/.test(args.control) ? `127.0.0.1:${args.control}` : args.control}`)
  }
  if (!args.stdio) {
    serveControl(sim, process.stdin, process.stdout)
    log("type 'help' for control commands")
  }

  await stopped
  for (const cleanup of cleanups.reverse()) await cleanup()
  if (!args.stdio) process.stdin.pause()
}
