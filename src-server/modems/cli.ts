/**
 * `ims modem ...`: the modems from a terminal. `list` and `send` without `--port` read the configuration in
 * the data folder; `probe`, `send --port` and `simulate` work on a port directly (so they also work before
 * `ims init`). A running server holds its modems' ports: stop it, or use the console, to reach those.
 */
import { parseArgs } from 'node:util'
import { AtError } from '../../hardware/gsm/at/errors'
import { GsmModem, PinError } from '../../hardware/gsm/modem'
import { probeModem } from '../../hardware/gsm/probe'
import { PROFILES } from '../../hardware/gsm/profiles'
import { main as simulate } from '../../hardware/sim/modem/cli'
import { openTransport, TransportError } from '../../hardware/serial/transport'
import { cliActor, isInitialised, openForCli } from '../cli/context'
import { UsageError } from '../cli/io'
import type { Command } from '../cli/main'
import { InvalidPortError, listCandidatePorts, validatePort } from './ports'

const USAGE =
  'ims modem list [--json] | probe PORT [--profile P] [--baud N] | send --to N --text T [--port P] [--profile P] | simulate (--device TTY | --stdio | --tcp PORT) [--profile NAME] [--latency MS] [--record FILE]'

function profileOf(name: string | undefined): string {
  const profile = name ?? 'generic'
  if (!PROFILES[profile])
    throw new UsageError(`unknown profile "${profile}" (known: ${Object.keys(PROFILES).join(', ')})`)
  return profile
}

function baudOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1200) throw new UsageError('--baud must be a serial speed such as 115200')
  return n
}

async function list(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } } })
  const configured = isInitialised()
    ? await withServices((s) => ({ gateway: s.modems.repo.gateway(), modems: s.modems.repo.list() }))
    : undefined
  const ports = await listCandidatePorts()
  if (values.json) {
    console.log(JSON.stringify({ ...configured, ports }))
    return 0
  }
  if (configured) {
    console.log(`SMS gateway: ${configured.gateway === 'modems' ? 'modem pool' : 'virtual phone'}`)
    if (configured.modems.length === 0)
      console.log('No modem configured (add one in the console or with the API).')
    for (const m of configured.modems)
      console.log(
        `  ${m.name}  ${m.port}  profile ${m.profile}, ${m.baud} baud${m.enabled ? '' : ', disabled'}${m.hasPin ? ', SIM PIN stored' : ''}${m.ratePerMinute ? `, ${m.ratePerMinute}/min` : ''}`,
      )
  } else console.log('The data folder is not initialised: no configured modems.')
  console.log('Serial ports on this machine:')
  if (ports.warning) console.log(`  (${ports.warning})`)
  if (ports.ports.length === 0) console.log('  none found')
  for (const p of ports.ports)
    console.log(
      `  ${p.path}${p.path !== p.device ? ` -> ${p.device}` : ''}${p.manufacturer ? `  ${p.manufacturer}` : ''}`,
    )
  return 0
}

async function probe(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      profile: { type: 'string' },
      baud: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  if (positionals.length !== 1)
    throw new UsageError('probe needs exactly one PORT (/dev/... or tcp://host:port)')
  const url = validatePort(positionals[0])
  const baudRate = baudOf(values.baud)
  const found = await probeModem(url, { baudRate })
  const report: Record<string, unknown> = { ...found }
  if (values.profile) {
    // A full initialisation with the profile: proves the modem works the way the pool will drive it.
    const modem = new GsmModem({
      id: 'probe',
      url,
      profile: profileOf(values.profile),
      pollIntervalMs: 0,
      open: (u) => openTransport(u, { baudRate }),
    })
    modem.on('warning', () => undefined)
    try {
      await modem.open()
      const s = modem.status()
      report.initialised = {
        profile: values.profile,
        registration: s.registration,
        signal: s.signal,
        operator: s.operator,
        storage: s.storage,
      }
    } finally {
      await modem.close()
    }
  }
  if (values.json) console.log(JSON.stringify(report))
  else
    for (const [k, v] of Object.entries(report))
      if (v !== undefined && !(Array.isArray(v) && v.length === 0))
        console.log(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`)
  return 0
}

async function send(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      to: { type: 'string' },
      text: { type: 'string' },
      port: { type: 'string' },
      profile: { type: 'string' },
      baud: { type: 'string' },
    },
  })
  if (!values.to || !/^\+?[0-9]{3,15}$/.test(values.to.replace(/[\s-]/g, '')))
    throw new UsageError('--to needs a phone number such as +447700900123')
  if (!values.text) throw new UsageError('--text needs the message text')
  const to = values.to.replace(/[\s-]/g, '')
  // A configured modem supplies its profile, speed and stored SIM PIN; --port alone is used as given.
  const configured = isInitialised()
    ? await withServices((s) => {
        const all = s.modems.repo.list()
        const m = values.port ? all.find((c) => c.port === values.port) : all.find((c) => c.enabled)
        return m && { ...m, pin: s.modems.repo.pin(m.id) }
      })
    : undefined
  const port = values.port ?? configured?.port
  if (!port) throw new UsageError('no modem is configured: give --port PORT')
  const baudRate = baudOf(values.baud) ?? configured?.baud
  const modem = new GsmModem({
    id: configured?.name ?? 'cli',
    url: validatePort(port),
    profile: profileOf(values.profile ?? configured?.profile),
    pin: () => configured?.pin,
    pollIntervalMs: 0,
    open: (u) => openTransport(u, { baudRate }),
  })
  modem.on('warning', () => undefined)
  try {
    await modem.open()
    const result = await modem.sendSms({ to, text: values.text })
    console.log(
      `sent through ${port} in ${result.parts} part(s), message reference(s) ${result.messageReferences.join(', ')}`,
    )
  } finally {
    await modem.close()
  }
  if (isInitialised())
    await withServices((s) =>
      s.audit.record({
        actor: cliActor(),
        action: 'modem.test-sms',
        target: configured?.name ?? port,
        details: { to },
      }),
    )
  return 0
}

async function withServices<T>(fn: (s: ReturnType<typeof openForCli>) => T): Promise<T> {
  const services = openForCli()
  try {
    return fn(services)
  } finally {
    await services.close()
  }
}

export const modemCommand: Command = {
  name: 'modem',
  usage: 'ims modem list | probe PORT | send --to N --text T [--port P] | simulate ...',
  summary: 'list, probe and test GSM modems; run the modem simulator',
  async run(argv) {
    const [verb, ...rest] = argv
    try {
      switch (verb) {
        case 'list':
          return await list(rest)
        case 'probe':
          return await probe(rest)
        case 'send':
          return await send(rest)
        case 'simulate':
          try {
            await simulate(rest)
            return 0
          } catch (err) {
            console.error(`ims modem simulate: ${(err as Error).message}`)
            return 2
          }
        default:
          throw new UsageError(`usage: ${USAGE}`)
      }
    } catch (err) {
      // Hardware answers an operator can act on: one line, no stack.
      if (
        err instanceof AtError ||
        err instanceof PinError ||
        err instanceof TransportError ||
        err instanceof InvalidPortError
      ) {
        console.error(`ims modem ${verb}: ${err.message}`)
        return 1
      }
      throw err
    }
  },
}
