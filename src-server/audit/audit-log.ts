import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import type { Db } from '../store/db'
import type { Keyring } from '../crypto/keyring'
import { AnchorFile, anchorPathFor, type Anchor, type AnchorRead } from './anchor'

const GENESIS = '0'.repeat(64)

export interface AuditEntry {
  /** Who did it: `operator:<username>`, `cli:<user>`, `system`, `cardholder:<masked>` … */
  actor: string
  /** What was done, dotted: `operator.login`, `cardholder.suspend`, `keys.rotate` … */
  action: string
  /** What it was done to, if anything (masked: never a PAN, code or key). */
  target?: string
  details?: Record<string, unknown>
}

export interface AuditRow {
  id: number
  at: string
  actor: string
  action: string
  target: string | null
  details: string
  prev_mac: string
  mac: string
}

/**
 * What a failed verification found: a broken link in the chain, entries removed from its end (`truncated`),
 * its end replaced by a rebuilt chain (`replaced`), or an anchor that is not genuine or not there.
 */
export type VerifyProblem = 'chain' | 'truncated' | 'replaced' | 'anchor-invalid' | 'anchor-missing'

export type VerifyResult =
  /** `anchoredAt`: the entry the chain-head anchor names (absent when the log keeps no anchor, or is empty). */
  | { ok: true; rows: number; anchoredAt?: number }
  | {
      ok: false
      rows: number
      problem: VerifyProblem
      reason: string
      /** The first entry that is wrong or missing, when there is one to name. */
      brokenAt?: number
    }

export interface AuditLogOptions {
  /**
   * The chain-head anchor file. Default: next to a file database (`<db>.audit-anchor`); none for an in-memory
   * one. `null`: no anchor.
   */
  anchorFile?: string | null
  /**
   * Resolves once every commit made before the call is on disk (the server's durability barrier): the anchor
   * is written only after the rows it names are, or a power cut could leave it ahead of the table (a cut-back
   * log, to verification). Without one, the rows are taken as durable at commit.
   */
  durable?: () => Promise<void>
}

function canonical(row: Omit<AuditRow, 'prev_mac' | 'mac'>): string {
  return JSON.stringify([row.id, row.at, row.actor, row.action, row.target, row.details])
}

/**
 * Append-only, hash-chained audit trail. Each row's MAC covers the previous row's MAC and the row itself,
 * under a key from the key hierarchy, so editing, inserting or deleting a row in the middle breaks the
 * chain at that row, and a forger without the master key cannot rebuild it.
 *
 * Removing the newest rows leaves a shorter chain that is just as valid, so the chain alone cannot show it. The
 * log therefore keeps a chain-head anchor outside the database (anchor.ts): the newest committed (id, MAC),
 * HMAC'd under a key derived from the audit key.
 *
 * The rule that ties anchor and table together:
 * - The anchor is written only after the rows it names have committed (a pass after the appending
 *   transaction, never inside it), so it is never ahead of the table. It may lag behind: by the rows of the
 *   last commits when the process stopped or crashed before the write landed, or by the rows another process
 *   (a CLI command beside the server) appended since. Lagging is not tampering.
 * - Verification therefore requires that the table holds entry #seq of the anchor with the anchored MAC.
 *   Entries after it are accepted (they are chained and MAC'd like all others; only their own removal would
 *   go unseen until the next anchor). A table that ends before #seq was cut back; a different MAC at #seq
 *   means the end was cut back and rebuilt.
 * - An append moves the anchor forward only while the current one still holds against the table. One that is
 *   missing, not genuine, or ahead of or different from the table is evidence and stays as it is, so later
 *   activity cannot paper over a cut, until an operator re-anchors (`reanchor`, `ims audit anchor`), which is
 *   itself an audit entry recording what the anchor said before. The exception is the first anchor of a
 *   chain this log began (it wrote entry #1): a new installation, which has nothing earlier to protect.
 *
 * Cost: anchoring is coalesced. An append only queues a pass for after the current synchronous work (by which
 * time the caller's transaction has committed or rolled back); while a write is in flight, further appends
 * share the next one. The file is written and synced off the event loop. Some appends are on cardholder paths
 * (dongle code checks in challenges, mobile approvals, FRAUD replies), none on the AReq path, and a burst of
 * them costs one anchor write per write-and-sync, not one per entry.
 */
export class AuditLog {
  private readonly insert
  private readonly last
  private readonly macAt
  /** The anchor file; null when this log keeps none (in-memory databases). */
  readonly anchor: AnchorFile | null
  private anchorKeyBytes: Buffer | undefined
  /**
   * MAC of entry #1 when this log wrote it and has not anchored yet: the chain began here, so a missing anchor
   * may be created.
   */
  private began: string | undefined
  /** A pass is queued (planAnchor). */
  private anchorQueued = false
  /** The anchor to write once the write in flight (`writing`) is done. */
  private nextAnchor: Anchor | undefined
  private writing: Promise<void> | undefined
  /** Set by `reanchor`: the next pass writes the anchor whatever the current one says. */
  private forceAnchor = false
  /** Why the latest pass left the anchor as it was, for `reanchor`'s error. */
  private anchorTrouble: string | undefined
  private readonly durable: () => Promise<void>

  constructor(
    private readonly db: Db,
    private readonly keyring: Keyring,
    options: AuditLogOptions = {},
  ) {
    this.insert = db.prepare(
      'INSERT INTO audit_log (id, at, actor, action, target, details, prev_mac, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    )
    this.last = db.prepare('SELECT id, mac FROM audit_log ORDER BY id DESC LIMIT 1')
    this.macAt = db.prepare('SELECT mac FROM audit_log WHERE id = ?').pluck()
    const file =
      options.anchorFile !== undefined
        ? options.anchorFile
        : db.memory || !db.name
          ? null
          : anchorPathFor(db.name)
    this.anchor = file ? new AnchorFile(file, () => this.anchorKey()) : null
    this.durable = options.durable ?? (() => Promise.resolve())
  }

  /** A key of its own for the anchor, derived from the (fixed) audit key: never the chain's MAC key itself. */
  private anchorKey(): Buffer {
    this.anchorKeyBytes ??= Buffer.from(
      hkdfSync(
        'sha256',
        this.keyring.active('audit-mac').key,
        Buffer.alloc(0),
        'ims audit chain-head anchor',
        32,
      ),
    )
    return this.anchorKeyBytes
  }

  private mac(prev: string, row: Omit<AuditRow, 'prev_mac' | 'mac'>): string {
    return createHmac('sha256', this.keyring.active('audit-mac').key)
      .update(prev)
      .update('\n')
      .update(canonical(row))
      .digest('hex')
  }

  /** Appends an entry. Runs inside the caller's transaction when there is one, so the action and its record commit together. */
  record(entry: AuditEntry): number {
    const write = () => {
      const prev = this.last.get() as { id: number; mac: string } | undefined
      const row = {
        id: (prev?.id ?? 0) + 1,
        at: new Date().toISOString(),
        actor: entry.actor,
        action: entry.action,
        target: entry.target ?? null,
        details: JSON.stringify(entry.details ?? {}),
      }
      const prevMac = prev?.mac ?? GENESIS
      const mac = this.mac(prevMac, row)
      this.insert.run(row.id, row.at, row.actor, row.action, row.target, row.details, prevMac, mac)
      if (row.id === 1) this.began = mac
      return row.id
    }
    const id = this.db.inTransaction ? write() : this.db.transaction(write).immediate()
    this.anchorSoon()
    return id
  }

  /** Queues an anchoring pass for when the current synchronous work, and so any transaction in it, is over. */
  private anchorSoon(): void {
    if (!this.anchor || this.anchorQueued) return
    this.anchorQueued = true
    queueMicrotask(() => {
      this.anchorQueued = false
      this.planAnchor()
    })
  }

  /**
   * Decides what the anchor becomes, synchronously: the database is certainly open here (a command may close
   * it right after its last append) and the appending transaction is over. Only the file write is left for later.
   */
  private planAnchor(): void {
    const force = this.forceAnchor
    this.forceAnchor = false
    try {
      if (!this.db.open) return
      if (this.db.inTransaction) {
        // Only a transaction held open across an await could still be open here; its rows may yet roll back.
        this.forceAnchor ||= force
        this.anchorQueued = true
        setTimeout(() => {
          this.anchorQueued = false
          this.planAnchor()
        }, 1)
        return
      }
      // The anchor before the table: the anchor names committed rows only, so the table read after it has them.
      const current = this.anchor!.read()
      const head = this.last.get() as { id: number; mac: string } | undefined
      if (!head) return
      if (!force) {
        const verdict = this.holds(current, head.id)
        if (verdict === 'current') return
        if (verdict !== 'advance') {
          this.anchorTrouble = verdict
          return
        }
      }
      this.anchorTrouble = undefined
      this.nextAnchor = { seq: head.id, mac: head.mac, at: new Date().toISOString() }
      this.writing ??= this.writeAnchors()
    } catch (err) {
      this.anchorTrouble = `the anchor could not be checked: ${(err as Error).message}`
    }
  }

  /** One write at a time; the newest planned anchor wins, so a burst of appends shares one write. */
  private async writeAnchors(): Promise<void> {
    try {
      while (this.nextAnchor) {
        const anchor = this.nextAnchor
        this.nextAnchor = undefined
        try {
          await this.durable()
          await this.anchor!.write(anchor)
          // From now on a missing anchor is one someone deleted, even for the chain this log began.
          this.began = undefined
        } catch (err) {
          this.anchorTrouble = `the anchor could not be written: ${(err as Error).message}`
        }
      }
    } finally {
      this.writing = undefined
    }
  }

  /** Resolves once the anchor reflects every append made before the call (or was left as it was: see class). */
  async anchored(): Promise<void> {
    while (this.anchorQueued || this.writing)
      await (this.writing ?? new Promise((resolve) => setImmediate(resolve)))
  }

  /** Whether an append may move the anchor to `headId`: 'advance', 'current' (already there) or why not. */
  private holds(current: AnchorRead, headId: number): 'advance' | 'current' | string {
    if (current.state === 'missing') {
      return this.began !== undefined && this.macAt.get(1) === this.began
        ? 'advance'
        : 'the anchor is missing for a chain begun elsewhere'
    }
    if (current.state === 'invalid') return `the anchor is not genuine: ${current.detail}`
    const { seq, mac } = current.anchor
    if (seq > headId) return `the log ends at #${headId} but was anchored at #${seq}`
    if (this.macAt.get(seq) !== mac) return `entry #${seq} is not the one anchored`
    return seq === headId ? 'current' : 'advance'
  }

  /**
   * Walks the whole chain and reports the first row whose link or MAC does not hold; then checks the chain's
   * end against the anchor (see the class comment for the rule).
   */
  verify(): VerifyResult {
    // Read before the table, as in `planAnchor`: otherwise a process anchoring a newer entry in between would
    // make an older snapshot of the table look cut back.
    const anchored = this.anchor?.read()
    const anchoredSeq = anchored?.state === 'valid' ? anchored.anchor.seq : 0
    let macAtAnchor: string | undefined
    let prevMac = GENESIS
    let expectedId = 1
    let rows = 0
    for (const row of this.db
      .prepare('SELECT * FROM audit_log ORDER BY id')
      .iterate() as Iterable<AuditRow>) {
      rows++
      if (row.id !== expectedId) {
        return {
          ok: false,
          rows,
          problem: 'chain',
          brokenAt: row.id,
          reason: `row ${expectedId} is missing before row ${row.id}`,
        }
      }
      if (row.prev_mac !== prevMac) {
        return {
          ok: false,
          rows,
          problem: 'chain',
          brokenAt: row.id,
          reason: 'link to the previous row does not match',
        }
      }
      const expected = Buffer.from(this.mac(prevMac, row), 'hex')
      const actual = Buffer.from(row.mac, 'hex')
      if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
        return {
          ok: false,
          rows,
          problem: 'chain',
          brokenAt: row.id,
          reason: 'row content does not match its MAC (edited)',
        }
      }
      if (row.id === anchoredSeq) macAtAnchor = row.mac
      prevMac = row.mac
      expectedId++
    }
    return this.checkEnd(anchored, rows, macAtAnchor)
  }

  /** The end of an intact chain of `rows` entries against the anchor read before it. */
  private checkEnd(
    anchored: AnchorRead | undefined,
    rows: number,
    macAtAnchor: string | undefined,
  ): VerifyResult {
    if (!anchored) return { ok: true, rows }
    const file = this.anchor!.path
    const remedy =
      'check the newest entries, then anchor its current end with "ims audit anchor --reason TEXT" (itself audited)'
    if (anchored.state === 'missing') {
      if (rows === 0) return { ok: true, rows }
      return {
        ok: false,
        rows,
        problem: 'anchor-missing',
        reason:
          `the log has ${rows} entries but no chain-head anchor (${file}), so removal of the newest entries ` +
          `cannot be ruled out. Expected once on an installation from before anchoring, or after restoring a ` +
          `database without its anchor file; otherwise the anchor was deleted. To accept the log as it is: ${remedy}.`,
      }
    }
    if (anchored.state === 'invalid') {
      return {
        ok: false,
        rows,
        problem: 'anchor-invalid',
        reason:
          `the chain-head anchor (${file}) is not genuine: ${anchored.detail}. It was edited or forged, or ` +
          `comes from another installation, so the newest entries cannot be vouched for. To accept the log as it ` +
          `is: ${remedy}.`,
      }
    }
    const { seq, at } = anchored.anchor
    if (rows < seq) {
      return {
        ok: false,
        rows,
        problem: 'truncated',
        brokenAt: rows + 1,
        reason:
          `the log ends at #${rows} but was anchored at #${seq} (${at}): entries were removed from its end. ` +
          `If a database backup was restored on purpose: ${remedy}.`,
      }
    }
    if (macAtAnchor !== anchored.anchor.mac) {
      return {
        ok: false,
        rows,
        problem: 'replaced',
        brokenAt: seq,
        reason:
          `entry #${seq} is not the one anchored (${at}): the end of the log was removed and replaced by a ` +
          `rebuilt chain. To accept the log as it is: ${remedy}.`,
      }
    }
    return { ok: true, rows, anchoredAt: seq }
  }

  /**
   * Anchors the current end of the log whatever the anchor said before: after restoring a database from a
   * backup, on an installation from before anchoring, or once a reported problem has been looked into. It is
   * an audit entry of its own (`audit.anchor.reset`, with the reason and what verification found before), and
   * the new anchor covers that entry, so the reset cannot be undone quietly either.
   */
  async reanchor(actor: string, reason: string): Promise<{ seq: number; before: VerifyResult }> {
    const anchor = this.anchor
    if (!anchor) throw new Error('this audit log keeps no anchor (in-memory database)')
    await this.anchored()
    const before = this.verify()
    const previous = anchor.read()
    this.forceAnchor = true
    let seq: number
    try {
      seq = this.record({
        actor,
        action: 'audit.anchor.reset',
        details: {
          reason,
          rows: before.rows,
          found: before.ok ? 'intact' : before.problem,
          ...(previous.state === 'valid' ? { anchoredAt: previous.anchor.seq } : {}),
        },
      })
    } catch (err) {
      this.forceAnchor = false
      throw err
    }
    await this.anchored()
    const after = anchor.read()
    if (after.state !== 'valid' || after.anchor.seq < seq)
      throw new Error(this.anchorTrouble ?? `the anchor ${anchor.path} was not written`)
    return { seq: after.anchor.seq, before }
  }
}
