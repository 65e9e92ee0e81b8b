import Database from 'better-sqlite3'
import { mkdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError'
  constructor(
    readonly dataDir: string,
    /** The owner's pid, when it could be read. */
    readonly pid: number | undefined,
  ) {
    super(
      `the data folder ${dataDir} is in use by another IMS server${pid ? ` (pid ${pid})` : ''}; stop it first`,
    )
  }
}

/**
 * One server per data folder: two servers writing the same database would break the one-writer design (and
 * the outboxes would send every SMS twice).
 *
 * The lock is an exclusive SQLite lock on `ims.lock` (an empty database) held for the server's life. The
 * operating system drops it when the process ends, however it ends (a crash, kill -9, a power cut), so there
 * is no stale lock to judge and take over, and of two servers starting at once exactly one gets it (where the
 * earlier pid file had a window in which both removed a stale one and both went on). `ims.pid` names the
 * owner, for the message only.
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const file = join(dataDir, 'ims.lock')
  const pidFile = join(dataDir, 'ims.pid')
  let lock: Database.Database
  try {
    lock = holdExclusively(file)
  } catch (err) {
    if (busy(err)) throw new DataDirInUseError(dataDir, ownerPid(pidFile))
    if ((err as { code?: string }).code !== 'SQLITE_NOTADB') throw err
    // An `ims.lock` from a version before this lock: its pid decides. Emptied, not replaced: a server
    // starting beside this one then locks the same file, and only one of them gets it.
    refuseIfLegacyOwnerRuns(dataDir, file)
    truncateSync(file)
    lock = holdExclusively(file)
  }
  writeFileSync(pidFile, String(process.pid), { mode: 0o600 })
  return () => {
    try {
      if (readFileSync(pidFile, 'utf8') === String(process.pid)) unlinkSync(pidFile)
    } catch {
      // already gone
    }
    lock.close()
  }
}

function holdExclusively(file: string): Database.Database {
  // No busy wait: a lock that is held stays held while its server runs.
  const db = new Database(file, { timeout: 0 })
  try {
    // Nothing is ever written to it: no journal file beside it. Exclusive locking mode keeps the lock after
    // a transaction; this one stays open anyway.
    db.pragma('journal_mode = MEMORY')
    db.pragma('locking_mode = EXCLUSIVE')
    db.exec('BEGIN EXCLUSIVE')
    return db
  } catch (err) {
    db.close()
    throw err
  }
}

const busy = (err: unknown) =>
  ['SQLITE_BUSY', 'SQLITE_LOCKED'].includes((err as { code?: string }).code ?? '')

function ownerPid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/**
 * The earlier lock: a file holding the owner's pid and, on Linux, its identity (`identity`). It still
 * counts while that very process runs (a server of the earlier version on this folder).
 */
function refuseIfLegacyOwnerRuns(dataDir: string, file: string): void {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return // emptied meanwhile by a server starting beside this one
  }
  const [owner, recorded] = text.trim().split(' ')
  const pid = Number(owner)
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && holds(pid, recorded))
    throw new DataDirInUseError(dataDir, pid)
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

/** Whether the process a legacy lock names still holds it: alive, and the same process, not a new one with its pid. */
function holds(pid: number, recorded: string | undefined): boolean {
  if (!alive(pid)) return false
  const now = recorded ? identity(pid) : undefined
  return now === undefined || now === recorded
}
