import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DataDirInUseError, lockDataDir } from './lock'

let dir: string
const children: ChildProcess[] = []
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ims-lock-'))
})
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

/** Another process taking the folder's lock (test/helpers/lock-holder.ts): its first line of output. */
async function holder(): Promise<{ child: ChildProcess; said: Promise<string> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/lock-holder.ts', dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.push(child)
  const said = new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('\n')) resolve(out.trim())
    })
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code}) saying ${out}`)))
  })
  return { child, said }
}

const refusal = (take: () => unknown): DataDirInUseError => {
  try {
    take()
  } catch (err) {
    expect(err).toBeInstanceOf(DataDirInUseError)
    return err as DataDirInUseError
  }
  throw new Error('the lock was taken')
}

describe('data folder lock', () => {
  it('is taken once, names its owner as earlier versions read it, and is given back', () => {
    const release = lockDataDir(dir)
    expect(readFileSync(join(dir, 'ims.lock'), 'utf8')).toBe(
      `${process.platform === 'linux' ? `${process.pid} ${identityOf(process.pid)}` : process.pid}\n`,
    )
    // A second server in the same process is refused too.
    expect(refusal(() => lockDataDir(dir)).pid).toBe(process.pid)
    release()
    expect(() => statSync(join(dir, 'ims.lock'))).toThrow()
    lockDataDir(dir)() // free again
    // Nothing is written to the lock database, and no journal is left beside it.
    expect(statSync(join(dir, 'ims.lock.db')).size).toBe(0)
    expect(() => statSync(join(dir, 'ims.lock.db-journal'))).toThrow()
  })

  it('is held by a server in another process until that process ends, also by kill -9', async () => {
    const other = await holder()
    expect(await other.said).toBe('locked')
    const err = refusal(() => lockDataDir(dir))
    expect(err.pid).toBe(other.child.pid)
    expect(err.message).toMatch(/in use by another IMS server \(pid \d+\); stop it first/)
    other.child.kill('SIGKILL')
    await once(other.child, 'exit')
    // The operating system dropped the lock with the process; the owner it names is gone.
    lockDataDir(dir)()
  })

  it('stays held when the release function is garbage-collected', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    ;(() => void lockDataDir(dir))() // the release function thrown away
    // better-sqlite3 closes a collected connection in a finalizer, which runs after the collection.
    for (let i = 0; i < 3; i++) {
      gc()
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(refusal(() => lockDataDir(dir)).pid).toBe(process.pid)
  })

  it('of servers starting at once exactly one gets it, also over a lock file a crashed server left', async () => {
    writeFileSync(join(dir, 'ims.lock'), '999999999') // its owner gone
    const starting = await Promise.all(Array.from({ length: 4 }, () => holder()))
    const said = await Promise.all(starting.map((s) => s.said))
    expect(said.filter((s) => s === 'locked')).toHaveLength(1)
    const winner = starting[said.indexOf('locked')].child.pid
    // The winner names itself just after taking the lock: a loser that read the file before saw the old name.
    for (const s of said.filter((s) => s !== 'locked'))
      expect([`busy ${winner}`, 'busy 999999999']).toContain(s)
  })

  it('a file this version left names a live process: it is taken over without judging the pid', () => {
    // Where the system gives no identity (macOS, Windows), a crashed server's pid may belong to anyone now.
    const other = spawn('sleep', ['30'], { stdio: 'ignore' })
    children.push(other)
    writeFileSync(join(dir, 'ims.lock'), `${other.pid}\n`)
    lockDataDir(dir)()
  })

  it('a server of an earlier version (which writes ims.lock only) is respected while it runs', () => {
    const other = spawn('sleep', ['30'], { stdio: 'ignore' })
    children.push(other)
    writeFileSync(join(dir, 'ims.lock'), String(other.pid))
    expect(refusal(() => lockDataDir(dir)).pid).toBe(other.pid)
    if (process.platform === 'linux') {
      // As earlier versions write it on Linux: with the owner's identity.
      writeFileSync(join(dir, 'ims.lock'), `${other.pid} ${identityOf(other.pid!)}`)
      expect(refusal(() => lockDataDir(dir)).pid).toBe(other.pid)
    }
    // Recorded with another process's identity (Linux: boot and start time), the pid was reused: taken over.
    if (process.platform === 'linux') {
      writeFileSync(join(dir, 'ims.lock'), `${other.pid} 00000000-0000-0000-0000-000000000000/1`)
      lockDataDir(dir)() // the refusal above gave the lock database back
    }
  })
})

/** A process's boot and start time, read independently of lock.ts (Linux). */
function identityOf(pid: number): string {
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return `${boot}/${fields[19]}` // field 22, starttime
}
