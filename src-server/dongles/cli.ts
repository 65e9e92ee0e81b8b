import { createReadStream, createWriteStream, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'
import { DongleError } from '../../hardware/dongle/programmer'
import { SerialProgrammer } from '../../hardware/dongle/serial/driver'
import { openTransport } from '../../hardware/serial/transport'
import { main as simulate } from '../../hardware/sim/dongle/cli'
import { cliActor, openForCli } from '../cli/context'
import { readStdin, UsageError } from '../cli/io'
import type { Command } from '../cli/main'
import { BenchFlowError } from './bench-flow'
import { provisionAndStore } from './bench-runs'
import { Code, ImportFormat, Serial, SlotParams } from './model'
import { exportPskcChunks } from './pskc/export'

const USAGE = `ims dongle <import|export|program|simulate|assign|verify> …
  import FILE [--password P | --password-stdin | --key HEX] [--format pskc|oath-csv|yubikey-csv] [--batch NAME]
  export FILE [--password P | --password-stdin]       assigned tokens as password-protected PSKC
  program --port P [--kind hotp|totp] [--algorithm SHA1|SHA256|SHA512] [--digits 6|8] [--count N] [--labels DIR]
  simulate --device TTY [--tokens N] [--serial-prefix P]
  assign SERIAL CARDHOLDER_ID
  verify SERIAL CODE                                  exit status 0 when the code is valid, 1 otherwise`

async function secretOption(values: {
  password?: string
  'password-stdin'?: boolean
}): Promise<string | undefined> {
  if (values.password !== undefined && values['password-stdin']) {
    throw new UsageError('give --password or --password-stdin, not both')
  }
  return values['password-stdin'] ? readStdin() : values.password
}

/** Progress on stderr: one rewritten line on a terminal, a line per tenth of the way otherwise. */
function progressLine(): (text: string, percent: number, final?: boolean) => void {
  const tty = process.stderr.isTTY
  let lastTenth = -1
  return (text, percent, final = false) => {
    if (tty) process.stderr.write(`\r${text}\x1b[K${final ? '\n' : ''}`)
    else if (final || Math.floor(percent / 10) !== lastTenth) {
      lastTenth = Math.floor(percent / 10)
      process.stderr.write(`${text}\n`)
    }
  }
}

async function importCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      password: { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
      key: { type: 'string' },
      format: { type: 'string' },
      batch: { type: 'string' },
    },
    allowPositionals: true,
  })
  if (positionals.length !== 1) throw new UsageError('name one file to import')
  const file = positionals[0]
  const password = await secretOption(values)
  if (password !== undefined && values.key !== undefined)
    throw new UsageError('give a password or a key, not both')
  if (values.key !== undefined && !/^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{48}|[0-9a-fA-F]{64})$/.test(values.key)) {
    throw new UsageError('--key is a 128-, 192- or 256-bit AES key in hex')
  }
  const format = values.format === undefined ? undefined : ImportFormat.safeParse(values.format)
  if (format && !format.success) throw new UsageError('--format is pskc, oath-csv or yubikey-csv')
  let size: number
  try {
    size = statSync(file).size
  } catch (err) {
    throw new UsageError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    )
  }
  const services = openForCli()
  try {
    const show = progressLine()
    const { job, done } = await services.dongles.importer.start({
      source: basename(file),
      format: format?.data,
      batch: values.batch,
      bytes: createReadStream(file, { highWaterMark: 1 << 20 }),
      size,
      password,
      preSharedKey: values.key ? Buffer.from(values.key, 'hex') : undefined,
      actor: cliActor(),
      onProgress: (j) =>
        show(
          j.status === 'parsing'
            ? `reading… ${j.entries} entries (${j.percent}%)`
            : `importing… ${j.inserted}/${j.total} (${j.percent}%)`,
          j.percent,
        ),
    })
    const result = await done
    show(`import ${job.id}: ${result.status}`, 100, true)
    for (const w of result.warnings) console.error(`warning: ${where(w)}${w.message}`)
    for (const e of result.errors) console.error(`error: ${where(e)}${e.message}`)
    if (result.moreErrors) console.error(`… and ${result.moreErrors} more error(s)`)
    if (result.status !== 'done') {
      console.error(`nothing imported (${result.status})`)
      return 1
    }
    console.log(
      `import ${result.id}: ${result.inserted} token(s) added to the inventory (batch ${result.batch ?? '-'})`,
    )
    return 0
  } finally {
    await services.close()
  }
}

function where(issue: { line?: number; element?: string }): string {
  const parts = [issue.line !== undefined ? `line ${issue.line}` : '', issue.element ?? ''].filter(Boolean)
  return parts.length ? `${parts.join(', ')}: ` : ''
}

async function exportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { password: { type: 'string' }, 'password-stdin': { type: 'boolean', default: false } },
    allowPositionals: true,
  })
  if (positionals.length !== 1) throw new UsageError('name the file to write')
  const password = await secretOption(values)
  if (!password || password.length < 12)
    throw new UsageError('a backup password of at least 12 characters is needed')
  const services = openForCli()
  try {
    const { count, seeds } = services.dongles.inventory.assignedSeeds()
    const out = createWriteStream(positionals[0], { mode: 0o600 })
    for (const chunk of exportPskcChunks(seeds, { password })) {
      if (!out.write(chunk)) await once(out, 'drain')
    }
    out.end()
    await once(out, 'finish')
    services.audit.record({
      actor: cliActor(),
      action: 'dongle.export',
      details: { tokens: count, format: 'pskc' },
    })
    console.log(`${count} assigned token(s) written to ${positionals[0]} (PSKC, password-protected)`)
    return 0
  } finally {
    await services.close()
  }
}

async function programCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      kind: { type: 'string', default: 'hotp' },
      algorithm: { type: 'string', default: 'SHA1' },
      digits: { type: 'string', default: '6' },
      period: { type: 'string', default: '30' },
      count: { type: 'string', default: '1' },
      labels: { type: 'string', default: '.' },
      timeout: { type: 'string', default: '120' },
    },
  })
  if (!values.port) throw new UsageError('--port names the serial programmer (a tty or tcp://host:port)')
  const parsed = SlotParams.safeParse({
    kind: values.kind,
    algorithm: values.algorithm,
    digits: Number(values.digits),
    ...(values.kind === 'totp' ? { period: Number(values.period) } : { counter: 0 }),
  })
  if (!parsed.success) throw new UsageError(`invalid token parameters: ${parsed.error.issues[0].message}`)
  const count = Number(values.count)
  if (!Number.isInteger(count) || count < 1) throw new UsageError('--count is a positive number')
  const transport = await openTransport(values.port)
  const programmer = new SerialProgrammer(transport)
  const services = openForCli()
  try {
    mkdirSync(values.labels, { recursive: true })
    for (let i = 0; i < count; i++) {
      console.error(`waiting for a token in the programmer (${i + 1}/${count})…`)
      const { result, source } = await provisionAndStore(programmer, parsed.data, {
        inventory: services.dongles.inventory,
        actor: cliActor(),
        timeoutMs: Number(values.timeout) * 1000,
        onStep: (s) => console.error(`  ${s.step}${s.step === 'failed' ? `: ${s.reason}` : ''}`),
      })
      const label = join(values.labels, `label-${result.device.serial}.pdf`)
      writeFileSync(label, result.label)
      console.log(`${result.device.serial}: programmed (${source} seed), verified, stored; label ${label}`)
    }
    return 0
  } catch (err) {
    // The bench said what failed, step by step, above; a device or flow failure is not a bug.
    if (err instanceof BenchFlowError || err instanceof DongleError) {
      console.error(`ims dongle program: ${err.message}`)
      return 1
    }
    throw err
  } finally {
    await programmer.close()
    await services.close()
  }
}

async function assignCommand(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true })
  if (positionals.length !== 2) throw new UsageError('give a serial and a cardholder id')
  const serial = Serial.safeParse(positionals[0])
  const holder = Number(positionals[1])
  if (!serial.success) throw new UsageError('that is not a token serial')
  if (!Number.isInteger(holder) || holder < 1) throw new UsageError('the cardholder id is a positive number')
  const services = openForCli()
  try {
    const t = services.dongles.inventory.assign(serial.data, holder, cliActor())
    console.log(`token ${t.serial} assigned to cardholder ${holder}`)
    return 0
  } finally {
    await services.close()
  }
}

async function verifyCommand(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true })
  if (positionals.length !== 2) throw new UsageError('give a serial and a code')
  const serial = Serial.safeParse(positionals[0])
  if (!serial.success) throw new UsageError('that is not a token serial')
  const services = openForCli()
  try {
    // Malformed codes are verified (and counted) like any other: the answer never says why.
    const code = Code.safeParse(positionals[1]).success ? positionals[1] : ''
    const { ok } = services.dongles.inventory.testCode(serial.data, code, cliActor())
    console.log(ok ? 'code accepted' : 'code not accepted')
    return ok ? 0 : 1
  } finally {
    await services.close()
  }
}

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  import: importCommand,
  export: exportCommand,
  program: programCommand,
  simulate: (argv) => simulate(argv),
  assign: assignCommand,
  verify: verifyCommand,
}

export const dongleCommand: Command = {
  name: 'dongle',
  usage: USAGE.split('\n')[0],
  summary: 'OTP dongles: import/export seeds, program on the bench, assign, verify',
  async run(argv) {
    const [sub, ...rest] = argv
    const run = sub ? SUBCOMMANDS[sub] : undefined
    if (!run) {
      if (sub === undefined || sub === 'help' || sub === '--help') {
        console.log(USAGE)
        return sub ? 0 : 2
      }
      throw new UsageError(`unknown subcommand "${sub}"\n${USAGE}`)
    }
    return run(rest)
  },
}
