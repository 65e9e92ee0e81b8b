import { ErrorCode } from './erro'

/**
 * SQLite result codes (better-sqlite3's `SqliteError.code`, extended codes such as SQLITE_IOERR_FSYNC or
 * SQLITE_READONLY_DBMOVED included) that the same message would meet again: the database file is damaged,
 * missing, read-only or full, or the disk under it fails. SQLITE_BUSY and SQLITE_LOCKED (another connection
 * holds the database for a while) are not among them.
 */
const PERMANENT_SQLITE = /^SQLITE_(CORRUPT|NOTADB|CANTOPEN|READONLY|IOERR|FULL)(_|$)/
/** The same faults as a file system call reports them (Node's ErrnoException `code`). */
const PERMANENT_ERRNO = new Set(['EIO', 'ENOSPC', 'EROFS', 'EDQUOT'])

/** Erro 404: the ACS storage cannot keep or give what the message needs, and a retry would not change it. */
export const STORAGE_FAILURE = { code: ErrorCode.PERMANENT_FAILURE, detail: 'ACS storage' } as const
/** Erro 403: anything else the ACS failed at (a busy database, a bug one message hit), which may pass. */
const PROCESSING_FAILURE = { code: ErrorCode.TRANSIENT_FAILURE, detail: 'ACS processing' } as const

export type SystemFailure = typeof STORAGE_FAILURE | typeof PROCESSING_FAILURE

/**
 * The Erro code and detail for a failure of the ACS itself. Only a fault known to last is permanent (404,
 * which tells the sender not to retry); an unknown error stays transient (403), so a passing fault never
 * turns away a retry that would have worked.
 */
export function systemFailure(err: unknown): SystemFailure {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined
  if (typeof code === 'string' && (PERMANENT_SQLITE.test(code) || PERMANENT_ERRNO.has(code)))
    return STORAGE_FAILURE
  return PROCESSING_FAILURE
}
