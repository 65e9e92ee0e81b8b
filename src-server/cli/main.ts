import { ConfigError } from '../config'
import { MasterKeyError } from '../crypto/master-key'
import { auditCommand, initCommand, keysCommand, operatorCommand, statusCommand } from './foundation'
import { UsageError } from './io'
import { enrolCommand } from './enrol'
import { modemCommand } from '../modems/cli'
import { cryptoCommand, pedCommand } from '../keys/commands'
import { dongleCommand } from '../dongles/cli'

export interface Command {
  name: string
  usage: string
  summary: string
  /** Resolves to the process exit status. */
  run(argv: string[]): Promise<number>
}

/** Errors that describe a situation the user can fix, not a bug: printed as one line. */
const EXPECTED_ERRORS = new Set([
  'DataDirInUseError',
  'SelfTestError',
  'InvalidPanError',
  'HttpProblem',
  'TransportError',
])

const COMMANDS: Command[] = [
  initCommand,
  statusCommand,
  auditCommand,
  operatorCommand,
  keysCommand,
  enrolCommand,
  modemCommand,
  cryptoCommand,
  pedCommand,
  dongleCommand,
]

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length))
  return [
    'Usage: ims <command> [options]',
    '',
    ...COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
  ].join('\n')
}

/** Expected failures (bad usage, missing data folder, bad config) print one line; anything else is a bug. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(help())
    return name ? 0 : 2
  }
  const command = COMMANDS.find((c) => c.name === name)
  if (!command) {
    console.error(`ims: unknown command "${name}"\n\n${help()}`)
    return 2
  }
  try {
    return await command.run(rest)
  } catch (err) {
    const e = err as Error & { code?: string }
    if (err instanceof UsageError || e.code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`ims ${name}: ${e.message}\nusage: ${command.usage}`)
      return 2
    }
    if (EXPECTED_ERRORS.has(e.name) || err instanceof ConfigError || err instanceof MasterKeyError) {
      console.error(`ims ${name}: ${e.message}`)
      return 1
    }
    throw err
  }
}
