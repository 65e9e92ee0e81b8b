import { closeSync, openSync, readFileSync, unlinkSync, writeSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError'
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`the data folder ${dataDir} is in use by another IMS server (pid ${pid}); stop it first`)
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * What tells a process from a later one given the same pid, where the system says (Linux): the boot and the
 * process's start time (field 22 of /proc/<pid>/stat, in clock ticks since boot). Undefined elsewhere.
 */
function identity(pid: number): string | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: count the fields after its last ')'.
    const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
    return startTime ? `${boot}/${startTime}` : undefined
  } catch {
    return undefined
  }
}

/** Whether the process a lock names still holds it: alive, and the same process, not a new one with its pid. */
function holds(pid: number, recorded: string | undefined): boolean {
  if (!alive(pid)) return false
  const now = recorded ? identity(pid) : undefined
  return now === undefined || now === recorded
}

/**
 * One server per data folder: two servers writing the same database would break the one-writer design
 * (and the outboxes would send every SMS twice). The lock file holds the owner's pid and, where the system
 * tells, its identity (`identity`); a lock left by a process that no longer exists is taken over, also when
 * its pid now belongs to another process (after a reboot or a container restart pids come round again).
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const file = join(dataDir, 'ims.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600)
      writeSync(fd, [process.pid, identity(process.pid)].filter(Boolean).join(' '))
      closeSync(fd)
      return () => {
        try {
          if (readFileSync(file, 'utf8').split(' ')[0] === String(process.pid)) unlinkSync(file)
        } catch {
          // already gone
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const [owner, recorded] = readFileSync(file, 'utf8').trim().split(' ')
      const pid = Number(owner)
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && holds(pid, recorded)) {
        throw new DataDirInUseError(dataDir, pid)
      }
      unlinkSync(file)
    }
  }
  throw new Error(`could not take the lock on ${dataDir}`)
}
