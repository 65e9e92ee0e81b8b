import { parseArgs } from 'node:util'
import { cliActor, isInitialised, openForCli } from './context'
import { prompt, readStdin, UsageError } from './io'
import { seedDemo } from '../lab/demo'
import { Username } from '../operators/credentials'
import type { Command } from './main'

export const initCommand: Command = {
  name: 'init',
  usage: 'ims init --admin NAME [--password-stdin] [--display-name TEXT] [--demo]',
  summary: 'create the data folder, its keys and the first admin',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        admin: { type: 'string' },
        'password-stdin': { type: 'boolean', default: false },
        'display-name': { type: 'string' },
        demo: { type: 'boolean', default: false },
      },
      strict: true,
    })
    let admin = values.admin
    if (!admin) {
      if (!process.stdin.isTTY) throw new UsageError('--admin NAME is required')
      admin = (await prompt('Admin username: ')).trim()
    }
    const username = Username.safeParse(admin)
    if (!username.success) throw new UsageError(`the admin username: ${username.error.issues[0].message}`)
    const password = await newPassword(values['password-stdin'], 'Admin password')

    const services = openForCli({ createKey: true })
    try {
      const admins = services.db
        .prepare(`SELECT count(*) FROM operators WHERE role = 'admin'`)
        .pluck()
        .get() as number
      if (admins > 0) {
        console.error(`${services.config.dataDir} is already initialised (it has an admin); nothing changed`)
        return 1
      }
      await services.operators.create(
        { username: admin, displayName: values['display-name'] ?? admin, role: 'admin', password },
        cliActor(),
      )
      services.audit.record({ actor: cliActor(), action: 'system.init', details: { admin } })
      console.log(`Initialised ${services.config.dataDir}: admin "${admin}" can now sign in.`)
      if (values.demo) {
        const demo = seedDemo(services, cliActor())
        console.log(
          `Demo pilot ready: issuer "Demo Bank" (id ${demo.issuerId}), Visa and Mastercard ranges with test keys and a test PKI, demo cardholders on the virtual phone.`,
        )
      }
      return 0
    } finally {
      await services.close()
    }
  },
}

export const statusCommand: Command = {
  name: 'status',
  usage: 'ims status [--json]',
  summary: 'say whether the data folder is initialised',
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } } })
    let operators = 0
    const initialised = isInitialised()
    if (initialised) {
      const services = openForCli()
      operators = services.operators.count()
      await services.close()
    }
    if (values.json) console.log(JSON.stringify({ initialised: initialised && operators > 0, operators }))
    else
      console.log(
        initialised && operators > 0
          ? `initialised, ${operators} operator(s)`
          : 'not initialised: run "npx ims init"',
      )
    return 0
  },
}

const AUDIT_USAGE = 'ims audit verify | ims audit anchor --reason TEXT'

export const auditCommand: Command = {
  name: 'audit',
  usage: AUDIT_USAGE,
  summary: 'verify the hash-chained audit log; re-anchor its end after a restore',
  async run(argv) {
    const [verb, ...rest] = argv
    if (verb === 'verify' && rest.length === 0) return auditVerify()
    if (verb === 'anchor') {
      const { values } = parseArgs({ args: rest, options: { reason: { type: 'string' } }, strict: true })
      const reason = values.reason?.trim()
      if (!reason) throw new UsageError('say why with --reason TEXT (it goes into the audit log)')
      return auditAnchor(reason)
    }
    throw new UsageError(verb ? `unknown audit command "${argv.join(' ')}"` : 'say verify or anchor')
  },
}

async function auditVerify(): Promise<number> {
  const services = openForCli()
  try {
    const result = services.audit.verify()
    if (result.ok) {
      const { rows, anchoredAt } = result
      let anchor = ''
      if (anchoredAt !== undefined) {
        anchor = `, anchored at #${anchoredAt}`
        // Not a problem (see audit-log.ts): the anchor is written just after each commit and may trail it.
        if (rows > anchoredAt)
          anchor += ` (#${anchoredAt + 1}–#${rows} are newer than the anchor: written just before a stop, or by a process still running)`
      }
      console.log(`audit log intact: ${rows} rows verified${anchor}`)
      return 0
    }
    const where = result.brokenAt !== undefined ? `BROKEN at row ${result.brokenAt}` : 'NOT VERIFIED'
    console.error(`audit log ${where}: ${result.reason} (${result.rows} rows read)`)
    return 1
  } finally {
    await services.close()
  }
}

/** The operator's answer to a reported anchor problem they have looked into (a restore, an older install). */
async function auditAnchor(reason: string): Promise<number> {
  const services = openForCli()
  try {
    const { seq, before } = await services.audit.reanchor(cliActor(), reason)
    const found = before.ok ? 'the log was intact' : `verification had found: ${before.reason}`
    console.log(`audit log anchored at #${seq} (entry #${seq} records this reset; ${found})`)
    return 0
  } finally {
    await services.close()
  }
}

export const keysCommand: Command = {
  name: 'keys',
  usage: 'ims keys rotate pan-enc|secret-enc|otp-hash',
  summary: 'rotate a data key and re-encrypt what it protects',
  async run(argv) {
    const [verb, purpose] = argv
    if (verb !== 'rotate' || !['pan-enc', 'secret-enc', 'otp-hash'].includes(purpose ?? '')) {
      throw new UsageError('usage: ims keys rotate pan-enc|secret-enc|otp-hash')
    }
    const services = openForCli()
    try {
      const result = await services.vault.rotate(purpose as 'pan-enc' | 'secret-enc' | 'otp-hash')
      services.audit.record({ actor: cliActor(), action: 'keys.rotate', target: purpose, details: result })
      console.log(JSON.stringify(result))
      return 0
    } finally {
      await services.close()
    }
  },
}

/**
 * Break-glass for admin accounts: a new password (and, on request, no second factor) for an admin who cannot
 * sign in while no other admin can approve the reset in the console (dual control, operators/service.ts).
 * Whoever runs it holds the server machine, its data folder and its master key, which is the approval; the
 * audit rows name it. Key custodians are not recovered here: theirs stays a two-admin reset in the console.
 */
export const operatorCommand: Command = {
  name: 'operator',
  usage: 'ims operator recover USERNAME [--password-stdin] [--remove-second-factor]',
  summary: 'recover an admin account on the server machine (new password, optionally no second factor)',
  async run(argv) {
    const [verb, ...rest] = argv
    if (verb !== 'recover') throw new UsageError(verb ? `unknown operator command "${verb}"` : 'say recover')
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        'password-stdin': { type: 'boolean', default: false },
        'remove-second-factor': { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    })
    const [username] = positionals
    if (!username || positionals.length > 1) throw new UsageError('name one account: USERNAME')
    const password = await newPassword(values['password-stdin'], 'New password')
    const services = openForCli()
    try {
      const account = services.operators.list().find((o) => o.username === username)
      if (!account) throw new UsageError(`no operator "${username}"`)
      if (account.role !== 'admin')
        throw new UsageError(`"${username}" is not an admin: reset other accounts in the console (Operators)`)
      const actor = cliActor()
      const approvedBy = `${actor} (on the server machine)`
      await services.operators.changePassword(account.id, null, password, actor, approvedBy)
      if (values['remove-second-factor']) services.operators.disableTotp(account.id, actor, approvedBy)
      console.log(
        `Recovered admin "${username}": new password${values['remove-second-factor'] ? ', no second factor' : ''}; their sessions are ended.`,
      )
      return 0
    } finally {
      await services.close()
    }
  },
}

/** A password from standard input, or typed twice at the terminal. */
async function newPassword(fromStdin: boolean, label: string): Promise<string> {
  if (fromStdin) return readStdin()
  if (!process.stdin.isTTY) throw new UsageError('pass the password on standard input with --password-stdin')
  const password = await prompt(`${label} (12+ characters): `, true)
  if ((await prompt('Repeat the password: ', true)) !== password) throw new UsageError('the passwords differ')
  return password
}
