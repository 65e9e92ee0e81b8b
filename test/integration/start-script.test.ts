import { spawn } from 'node:child_process'
import { once } from 'node:events'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../helpers/process'

/** `npm start` (scripts/start.js) as an operator runs it without a terminal: what it says and what it leaves. */
const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ims-start-'))
  dirs.push(dir)
  chmodSync(dir, 0o700)
  return dir
}

/** The command lines of a process's children, from /proc (Linux). */
function childCommandLines(pid: number): string[][] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
        return ppid === pid
          ? [readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean)]
          : []
      } catch {
        return [] // gone meanwhile
      }
    })
}

/**
 * Runs the start script headless until `until` matches its output or it exits; then (after `inspect`, given
 * the start script's pid) stops it.
 */
async function start(
  dir: string,
  until: RegExp,
  inspect: (pid: number) => void = () => {},
): Promise<{ output: string; code: number | null }> {
  const child = spawn(process.execPath, ['scripts/start.js', '--headless'], {
    cwd: REPO_ROOT,
    env: { ...process.env, IMS_DATA_DIR: dir, IMS_PORT: '0', IMS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  await new Promise<void>((resolve) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString()
      if (until.test(output)) resolve()
    }
    child.stdout.on('data', read)
    child.stderr.on('data', read)
    void exited.then(() => resolve())
  })
  if (child.exitCode === null) {
    inspect(child.pid!)
    child.kill('SIGTERM')
  }
  return { output, code: await exited }
}

describe('npm start', () => {
  it('on a new folder without a terminal: says how to create the first admin and starts the server', async () => {
    const { output } = await start(dataDir(), /IMS listening on http/)
    expect(output).toContain('No operator account exists yet. Create the first admin in the console')
    expect(output).toMatch(/IMS listening on http:\/\/127\.0\.0\.1:\d+/)
  })

  it.runIf(process.platform === 'linux')(
    "runs the server with node-flags.json's V8 and Node platform flags",
    async () => {
      const flags = JSON.parse(readFileSync(join(REPO_ROOT, 'src-server/node-flags.json'), 'utf8')) as {
        v8: string[]
        nodePlatform: string[]
      }
      let server: string[] | undefined
      await start(dataDir(), /IMS listening on http/, (pid) => {
        server = childCommandLines(pid).find((args) => args.some((a) => a.endsWith('out/main/server.js')))
      })
      expect(server).toBeDefined()
      expect(flags.nodePlatform).toContain('--v8-pool-size=0')
      for (const flag of [...flags.v8, ...flags.nodePlatform]) expect(server).toContain(flag)
    },
  )

  it('on a folder whose master key the desktop app sealed: never offers to initialise it, and makes no key', async () => {
    const dir = dataDir()
    mkdirSync(join(dir, 'keys'), { mode: 0o700 })
    writeFileSync(join(dir, 'keys', 'master.key.sealed'), randomBytes(64), { mode: 0o600 })
    new Database(join(dir, 'ims.db')).close()
    chmodSync(join(dir, 'ims.db'), 0o600)
    const { output, code } = await start(dir, /$^/)
    expect(output).toContain("Could not read the data folder's state")
    expect(output).toMatch(/OS keychain/)
    expect(output).not.toContain('No operator account exists yet')
    expect(code).not.toBe(0)
    expect(existsSync(join(dir, 'keys', 'master.key'))).toBe(false)
  })
})
