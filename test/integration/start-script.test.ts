import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
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

/** Runs the start script headless until `until` matches its output or it exits; then stops it. */
async function start(dir: string, until: RegExp): Promise<{ output: string; code: number | null }> {
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
  if (child.exitCode === null) child.kill('SIGTERM')
  return { output, code: await exited }
}

describe('npm start', () => {
  it('on a new folder without a terminal: says how to create the first admin and starts the server', async () => {
    const { output } = await start(dataDir(), /IMS listening on http/)
    expect(output).toContain('No operator account exists yet. Create the first admin in the console')
    expect(output).toMatch(/IMS listening on http:\/\/127\.0\.0\.1:\d+/)
  })

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
