import Database from 'better-sqlite3'
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs'
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
 * The lock databases held, so that none is garbage-collected while its server runs: better-sqlite3 closes a
 * collected connection, and closing it would drop the lock.
 */
const held = new Set<Database.Database>()

/**
 * One server per data folder: two servers writing the same database would break the one-writer design (and
 * the outboxes would send every SMS twice).
 *
 * The lock is an exclusive SQLite lock on `ims.lock.db` (an empty database) held for the server's life. The
 * operating system drops it when the process ends, however it ends (a crash, kill -9, a power cut), so a
 * crashed server leaves nothing to judge, and of two servers starting at once exactly one gets it (where a pid
 * file alone had a window in which both removed a stale one and both went on).
 *
 * `ims.lock` still names the owner (pid and, on Linux, its `identity`), as earlier versions wrote it: for the
 * message, and so that a server of an earlier version, which knows only that file, refuses this folder while
 * this server runs, and this one refuses while such a server runs. This version ends the line with a newline
 * (earlier ones read past it): holding the lock, a server knows such a file was left by a server of this
 * version that has ended, and takes it over without judging its pid, which another process may have by now
 * where the system gives no identity (macOS, Windows).
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const ownerFile = join(dataDir, 'ims.lock')
  let lock: Database.Database
  try {
    lock = holdExclusively(join(dataDir, 'ims.lock.db'))
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
      throw new DataDirInUseError(dataDir, recordedOwner(ownerFile)?.pid)
    throw err
  }
  try {
    // Holding the lock, this is the only server of this version here; one of an earlier version takes none.
    const earlier = recordedOwner(ownerFile)
    if (
      earlier &&
      !earlier.thisVersion &&
      earlier.pid !== process.pid &&
      holds(earlier.pid, earlier.identity)
    )
      throw new DataDirInUseError(dataDir, earlier.pid)
    // Written whole, then renamed over: an earlier version reading it never sees it empty (and takes over).
    const written = `${ownerFile}.${process.pid}`
    writeFileSync(written, `${[process.pid, identity(process.pid)].filter(Boolean).join(' ')}\n`, {
      mode: 0o600,
    })
    renameSync(written, ownerFile)
  } catch (err) {
    lock.close()
    throw err
  }
  held.add(lock)
  return () => {
    try {
      if (recordedOwner(ownerFile)?.pid === process.pid) unlinkSync(ownerFile)
    } catch {
      // already gone
    }
    held.delete(lock)
    lock.close()
  }
}

function holdExclusively(file: string): Database.Database {
  // A short busy wait: a lock that is held stays held while its server runs, but two servers starting at
  // once can each meet the other half-way through taking it, and without one both would give up.
  const db = new Database(file, { timeout: 1000 })
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

/** The owner `ims.lock` names: "pid" or "pid identity", a newline after it when this version wrote it. */
function recordedOwner(file: string): { pid: number; identity?: string; thisVersion: boolean } | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  const [owner, recorded] = text.trim().split(' ')
  const pid = Number(owner)
  return Number.isInteger(pid) && pid > 0
    ? { pid, identity: recorded, thisVersion: text.endsWith('\n') }
    : undefined
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

/**
 * Whether the process `ims.lock` names still runs: alive, and the same process, not a later one given its
 * pid (after a reboot or a container restart pids come round again).
 */
function holds(pid: number, recorded: string | undefined): boolean {
  if (!alive(pid)) return false
  const now = recorded ? identity(pid) : undefined
  return now === undefined || now === recorded
}
