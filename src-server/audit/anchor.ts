import { createHmac, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { open, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * The newest audit entry as it was last seen committed: its number and MAC, and when that was written down.
 * Kept outside the database (see AnchorFile) so that removing the newest entries from the table, which leaves
 * a shorter but perfectly valid chain, no longer goes unnoticed.
 */
export interface Anchor {
  seq: number
  mac: string
  /** When the anchor was written (ISO 8601): shown when it has to be explained. */
  at: string
}

export type AnchorRead =
  | { state: 'missing' }
  /** Unparseable, or its HMAC does not hold under this installation's key: edited, forged or foreign. */
  | { state: 'invalid'; detail: string }
  | { state: 'valid'; anchor: Anchor }

/** Next to the database, so that copying the database with its siblings (`ims.db*`) copies the anchor too. */
export function anchorPathFor(databaseFile: string): string {
  return `${databaseFile}.audit-anchor`
}

const FORMAT = 1
let tempCounter = 0

/**
 * The anchor file: one small JSON object `{v, seq, mac, at, hmac}` whose HMAC (under a key derived from the
 * audit key, so from the master key) covers the other fields. Someone who can write the database but does not
 * hold the master key can neither move the anchor back nor make one up; what they can do — delete the file —
 * is reported by verification.
 */
export class AnchorFile {
  constructor(
    readonly path: string,
    /** The HMAC key; a function because the audit key may not exist yet when the log is built. */
    private readonly key: () => Buffer,
  ) {}

  private hmac(a: Anchor): string {
    return createHmac('sha256', this.key())
      .update(`ims audit anchor v${FORMAT}\n${a.seq}\n${a.mac}\n${a.at}`)
      .digest('hex')
  }

  read(): AnchorRead {
    let text: string
    try {
      text = readFileSync(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' }
      throw err
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      return { state: 'invalid', detail: 'it is not valid JSON' }
    }
    const p = parsed as Partial<Record<'v' | 'seq' | 'mac' | 'at' | 'hmac', unknown>>
    if (
      p.v !== FORMAT ||
      !Number.isSafeInteger(p.seq) ||
      (p.seq as number) < 1 ||
      typeof p.mac !== 'string' ||
      !/^[0-9a-f]{64}$/.test(p.mac) ||
      typeof p.at !== 'string' ||
      typeof p.hmac !== 'string'
    ) {
      return { state: 'invalid', detail: 'its fields are not those of an anchor' }
    }
    const anchor = { seq: p.seq as number, mac: p.mac, at: p.at }
    const expected = Buffer.from(this.hmac(anchor), 'hex')
    const actual = Buffer.from(p.hmac, 'hex')
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
      return { state: 'invalid', detail: 'its HMAC does not match' }
    }
    return { state: 'valid', anchor }
  }

  /**
   * Replaces the file atomically and durably: a temporary file is written and synced, renamed over the anchor,
   * and the folder synced so the rename itself survives a power cut. A reader sees the old anchor or the new
   * one, never half of one. Asynchronous, so the event loop does not wait for the two syncs.
   */
  async write(anchor: Anchor): Promise<void> {
    const text = `${JSON.stringify({ v: FORMAT, ...anchor, hmac: this.hmac(anchor) })}\n`
    // Unique per process and write: a CLI command and the server may anchor the same log at the same moment.
    const temp = `${this.path}.${process.pid}.${++tempCounter}.tmp`
    try {
      const file = await open(temp, 'wx', 0o600)
      try {
        await file.writeFile(text)
        await file.sync()
      } finally {
        await file.close()
      }
      await rename(temp, this.path)
    } catch (err) {
      await unlink(temp).catch(() => undefined)
      throw err
    }
    // Windows cannot open a folder for syncing (and NTFS journals the rename itself).
    if (process.platform !== 'win32') {
      const dir = await open(dirname(this.path), 'r')
      try {
        await dir.sync()
      } finally {
        await dir.close()
      }
    }
  }
}
