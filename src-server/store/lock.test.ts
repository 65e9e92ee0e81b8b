import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DataDirInUseError, lockDataDir } from './lock'

let dir: string
let other: ChildProcess
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ims-lock-'))
  other = spawn('sleep', ['30'], { stdio: 'ignore' }) // a live process that is not an IMS server
})
afterEach(() => {
  other.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

const lockFile = () => join(dir, 'ims.lock')

describe('data folder lock', () => {
  it('is taken once, names its owner, and is given back', () => {
    const release = lockDataDir(dir)
    expect(readFileSync(lockFile(), 'utf8')).toMatch(new RegExp(`^${process.pid}( |$)`))
    release()
    lockDataDir(dir)() // free again
  })

  it('refuses a folder whose lock is held by a live process, recorded as it is', () => {
    writeFileSync(
      lockFile(),
      process.platform === 'linux' ? `${other.pid} ${identityOf(other.pid!)}` : String(other.pid),
    )
    expect(() => lockDataDir(dir)).toThrow(DataDirInUseError)
  })

  it('takes over a lock whose pid now belongs to another process (a reboot, a container restart)', () => {
    if (process.platform !== 'linux') return // the identity comes from /proc
    writeFileSync(lockFile(), `${other.pid} 00000000-0000-0000-0000-000000000000/1`)
    lockDataDir(dir)()
  })

  it('takes over a lock left by a process that is gone, and reads an older pid-only lock', () => {
    writeFileSync(lockFile(), '999999999')
    lockDataDir(dir)()
    writeFileSync(lockFile(), String(other.pid))
    expect(() => lockDataDir(dir)).toThrow(/in use by another IMS server \(pid \d+\)/)
  })
})

/** A process's boot and start time, read independently of lock.ts (Linux). */
function identityOf(pid: number): string {
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return `${boot}/${fields[19]}` // field 22, starttime
}
