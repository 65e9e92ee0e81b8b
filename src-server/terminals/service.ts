import { createHash, createSign, randomBytes, timingSafeEqual } from 'node:crypto'
import type { z } from 'zod'
import type { AuditLog } from '../audit/audit-log'
import type { Vault } from '../crypto/vault'
import { maskPan } from '../crypto/mask'
import { conflict, HttpProblem, notFound } from '../http/problem'
import type { KeyStore } from '../keys/store'
import type { Db } from '../store/db'
import type {
  CardListName,
  ListChange,
  NewParameterSet,
  NewTerminal,
  ParameterSet,
  StatusReport,
  Terminal,
  TerminalParameters,
} from './model'

/** Name of the signed format; terminals refuse a payload whose format they do not know. */
export const PARAMETER_FORMAT = 'ims-tms-parameters/1'

interface TerminalRow {
  id: number
  terminal_id: string
  merchant_id: string
  acquirer_id: string
  name: string
  api_key_hash: Buffer
  parameter_set_id: number | null
  applied_parameter_set_id: number | null
  exception_list_version: number
  allow_list_version: number
  status: 'new' | 'ok' | 'error'
  status_message: string | null
  last_seen_at: string | null
  created_at: string
}

interface SetRow {
  id: number
  name: string
  version: number
  payload: string
  signature: string
  signing_key_id: number
  created_by: string
  created_at: string
}

type Entry = { pan: string; psn?: string } | { bin: string }

const sha256 = (s: string) => createHash('sha256').update(s).digest()

/**
 * The terminal management system: terminals with their merchant and acquirer, signed and versioned EMV
 * parameter sets assigned to them, versioned exception (hot-card) and BIN allow lists with delta downloads,
 * and the status each terminal reports back.
 */
export class TerminalService {
  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly audit: AuditLog,
    private readonly keys: KeyStore,
  ) {}

  // ---- parameter sets -------------------------------------------------------------------------------

  /**
   * Signs a new version of a named parameter set. The payload is canonical JSON (fixed key order, no
   * whitespace) of {format, name, version, issuedAt, parameters}; the signature is ECDSA P-256 with
   * SHA-256 over its UTF-8 bytes, DER-encoded, base64.
   */
  createParameterSet(input: z.infer<typeof NewParameterSet>, actor: string): ParameterSet {
    const { privateKey, record } = this.keys.signingKey(input.signingKeyId)
    return this.db.transaction(() => {
      const version =
        (this.db
          .prepare('SELECT max(version) FROM terminal_parameter_sets WHERE name = ?')
          .pluck()
          .get(input.name) as number | null) ?? 0
      const payload = canonicalPayload(input.name, version + 1, new Date().toISOString(), input.parameters)
      const signature = createSign('sha256').update(payload, 'utf8').sign(privateKey).toString('base64')
      const info = this.db
        .prepare(
          `INSERT INTO terminal_parameter_sets (name, version, payload, signature, signing_key_id, created_by, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(input.name, version + 1, payload, signature, record.id, actor, new Date().toISOString())
      const id = Number(info.lastInsertRowid)
      this.audit.record({
        actor,
        action: 'terminals.parameters.create',
        target: `parameter-set:${id}`,
        details: { name: input.name, version: version + 1, signingKey: record.id, signingKeyKcv: record.kcv },
      })
      return this.parameterSet(id)
    })()
  }

  parameterSet(id: number): ParameterSet {
    const row = this.db.prepare('SELECT * FROM terminal_parameter_sets WHERE id = ?').get(id) as
      SetRow | undefined
    if (!row) throw notFound(`No parameter set with id ${id}`)
    const key = this.keys.get(row.signing_key_id)
    return {
      id: row.id,
      name: row.name,
      version: row.version,
      payload: row.payload,
      signature: row.signature,
      signingKey: { id: key.id, name: key.name, kcv: key.kcv },
      createdBy: row.created_by,
      createdAt: row.created_at,
    }
  }

  listParameterSets(): ParameterSet[] {
    const ids = this.db
      .prepare('SELECT id FROM terminal_parameter_sets ORDER BY name, version DESC')
      .pluck()
      .all() as number[]
    return ids.map((id) => this.parameterSet(id))
  }

  /** The public half of the key that signed `set` (SPKI PEM), for the terminal to verify with. */
  signingPublicKey(set: ParameterSet): string {
    return this.keys.get(set.signingKey.id).publicKey!
  }

  // ---- terminals ------------------------------------------------------------------------------------

  /** Registers a terminal; its API key is returned this once and only a hash is stored. */
  createTerminal(input: z.infer<typeof NewTerminal>, actor: string): { terminal: Terminal; apiKey: string } {
    if (this.db.prepare('SELECT 1 FROM terminals WHERE terminal_id = ?').get(input.terminalId)) {
      throw conflict(`Terminal ${input.terminalId} already exists`)
    }
    const apiKey = randomBytes(32).toString('base64url')
    const info = this.db
      .prepare(
        `INSERT INTO terminals (terminal_id, merchant_id, acquirer_id, name, api_key_hash, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(
        input.terminalId,
        input.merchantId,
        input.acquirerId,
        input.name,
        sha256(apiKey),
        new Date().toISOString(),
      )
    const id = Number(info.lastInsertRowid)
    this.audit.record({
      actor,
      action: 'terminals.create',
      target: `terminal:${input.terminalId}`,
      details: { ...input },
    })
    return { terminal: this.terminal(id), apiKey }
  }

  listTerminals(): Terminal[] {
    return (this.db.prepare('SELECT * FROM terminals ORDER BY terminal_id').all() as TerminalRow[]).map((r) =>
      this.toTerminal(r),
    )
  }

  terminal(id: number): Terminal {
    return this.toTerminal(this.row(id))
  }

  private row(id: number): TerminalRow {
    const row = this.db.prepare('SELECT * FROM terminals WHERE id = ?').get(id) as TerminalRow | undefined
    if (!row) throw notFound(`No terminal with id ${id}`)
    return row
  }

  private toTerminal(r: TerminalRow): Terminal {
    const brief = (id: number | null) => {
      if (id === null) return undefined
      const s = this.db
        .prepare('SELECT id, name, version FROM terminal_parameter_sets WHERE id = ?')
        .get(id) as {
        id: number
        name: string
        version: number
      }
      return { id: s.id, name: s.name, version: s.version }
    }
    const outOfDate =
      r.parameter_set_id !== r.applied_parameter_set_id ||
      r.exception_list_version !== this.listVersion('exception') ||
      r.allow_list_version !== this.listVersion('allow')
    return {
      id: r.id,
      terminalId: r.terminal_id,
      merchantId: r.merchant_id,
      acquirerId: r.acquirer_id,
      name: r.name,
      parameterSet: brief(r.parameter_set_id),
      appliedParameterSet: brief(r.applied_parameter_set_id),
      exceptionListVersion: r.exception_list_version,
      allowListVersion: r.allow_list_version,
      status: r.status,
      ...(r.status_message ? { statusMessage: r.status_message } : {}),
      ...(r.last_seen_at ? { lastSeenAt: r.last_seen_at } : {}),
      outOfDate,
      createdAt: r.created_at,
    }
  }

  assignParameters(terminalId: number, parameterSetId: number, actor: string): Terminal {
    const t = this.row(terminalId)
    const set = this.parameterSet(parameterSetId)
    this.db.transaction(() => {
      this.db.prepare('UPDATE terminals SET parameter_set_id = ? WHERE id = ?').run(set.id, t.id)
      this.audit.record({
        actor,
        action: 'terminals.parameters.assign',
        target: `terminal:${t.terminal_id}`,
        details: { parameterSet: set.id, name: set.name, version: set.version },
      })
    })()
    return this.terminal(t.id)
  }

  /** Terminal authentication: `Authorization: Terminal <terminalId>:<apiKey>`, compared in constant time. */
  authenticate(header: string): TerminalRow {
    const m = /^Terminal ([0-9A-Za-z]{8}):([A-Za-z0-9_-]{43})$/.exec(header)
    const row = m
      ? (this.db.prepare('SELECT * FROM terminals WHERE terminal_id = ?').get(m[1]) as
          TerminalRow | undefined)
      : undefined
    const given = sha256(m?.[2] ?? '')
    const expected = row?.api_key_hash ?? sha256('no such terminal')
    if (!row || !timingSafeEqual(given, expected)) {
      throw new HttpProblem(
        401,
        'Terminal not authenticated',
        'Send Authorization: Terminal <terminalId>:<apiKey>',
      )
    }
    return row
  }

  assignedParameters(t: TerminalRow): ParameterSet {
    if (t.parameter_set_id === null) throw notFound('No parameter set is assigned to this terminal')
    return this.parameterSet(t.parameter_set_id)
  }

  /** A terminal's acknowledgement: what it has applied, and whether it is healthy. */
  report(t: TerminalRow, input: z.infer<typeof StatusReport>): Terminal {
    if (input.parameterSetId !== undefined) {
      const set = this.parameterSet(input.parameterSetId)
      if (input.parameterVersion !== undefined && input.parameterVersion !== set.version) {
        throw new HttpProblem(
          400,
          'Invalid status report',
          'parameterVersion does not match that parameter set',
        )
      }
    }
    for (const list of ['exception', 'allow'] as const) {
      const v = list === 'exception' ? input.exceptionListVersion : input.allowListVersion
      if (v !== undefined && v > this.listVersion(list)) {
        throw new HttpProblem(400, 'Invalid status report', `the ${list} list has no version ${v}`)
      }
    }
    this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE terminals SET applied_parameter_set_id = coalesce(?, applied_parameter_set_id),
             exception_list_version = coalesce(?, exception_list_version), allow_list_version = coalesce(?, allow_list_version),
             status = ?, status_message = ?, last_seen_at = ? WHERE id = ?`,
        )
        .run(
          input.parameterSetId ?? null,
          input.exceptionListVersion ?? null,
          input.allowListVersion ?? null,
          input.status,
          input.message ?? null,
          new Date().toISOString(),
          t.id,
        )
      this.audit.record({
        actor: `terminal:${t.terminal_id}`,
        action: 'terminals.status',
        target: `terminal:${t.terminal_id}`,
        details: { ...input },
      })
    })()
    return this.terminal(t.id)
  }

  // ---- card lists -----------------------------------------------------------------------------------

  listVersion(list: CardListName): number {
    return (
      (this.db.prepare('SELECT max(version) FROM card_list_versions WHERE list = ?').pluck().get(list) as
        number | null) ?? 0
    )
  }

  /** Applies one change set as the next version of the list. */
  changeList(list: CardListName, change: z.infer<typeof ListChange>, actor: string) {
    const key = (e: Entry) => this.entryKey(list, e)
    return this.db.transaction(() => {
      const current = new Set(this.currentEntries(list).map((c) => c.entry_key))
      const adds = dedupe(change.add.map((e) => [key(e), e] as const)).filter(([k]) => !current.has(k))
      const removes = dedupe(change.remove.map((e) => [key(e), e] as const)).filter(([k]) => current.has(k))
      if (!adds.length && !removes.length) throw conflict('The change set changes nothing in the list')
      const version = this.listVersion(list) + 1
      this.db
        .prepare(
          'INSERT INTO card_list_versions (list, version, added, removed, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(list, version, adds.length, removes.length, actor, new Date().toISOString())
      const insert = this.db.prepare(
        'INSERT INTO card_list_changes (list, version, op, entry_key, pan_sealed, display) VALUES (?, ?, ?, ?, ?, ?)',
      )
      for (const [op, items] of [
        ['add', adds],
        ['remove', removes],
      ] as const) {
        for (const [k, e] of items) {
          if ('pan' in e)
            insert.run(list, version, op, k, this.vault.seal('pan-enc', panText(e)), displayOf(e))
          else insert.run(list, version, op, k, null, e.bin)
        }
      }
      this.audit.record({
        actor,
        action: 'terminals.list.change',
        target: `list:${list}`,
        details: { version, added: adds.length, removed: removes.length },
      })
      return { version, added: adds.length, removed: removes.length }
    })()
  }

  private entryKey(list: CardListName, e: Entry): string {
    if (list === 'exception') {
      if (!('pan' in e))
        throw new HttpProblem(400, 'Invalid list change', 'exception list entries are {pan, psn?}')
      return `${this.vault.panLookup(e.pan).toString('hex')}:${e.psn ?? ''}`
    }
    if (!('bin' in e)) throw new HttpProblem(400, 'Invalid list change', 'allow list entries are {bin}')
    return e.bin
  }

  /** The latest change of each entry whose last operation is an add: the list as it stands. */
  private currentEntries(list: CardListName, atVersion = Number.MAX_SAFE_INTEGER) {
    return this.db
      .prepare(
        `SELECT c.* FROM card_list_changes c
         JOIN (SELECT entry_key, max(id) AS id FROM card_list_changes WHERE list = ? AND version <= ? GROUP BY entry_key) l
           ON l.id = c.id
         WHERE c.op = 'add' ORDER BY c.display`,
      )
      .all(list, atVersion) as { entry_key: string; pan_sealed: Buffer | null; display: string; op: string }[]
  }

  listView(list: CardListName) {
    const versions = (
      this.db
        .prepare('SELECT * FROM card_list_versions WHERE list = ? ORDER BY version DESC LIMIT 50')
        .all(list) as {
        list: CardListName
        version: number
        added: number
        removed: number
        created_by: string
        created_at: string
      }[]
    ).map((v) => ({
      list: v.list,
      version: v.version,
      added: v.added,
      removed: v.removed,
      createdBy: v.created_by,
      createdAt: v.created_at,
    }))
    return {
      list,
      version: this.listVersion(list),
      entries: this.currentEntries(list).map((e) => e.display),
      versions,
    }
  }

  /** Full list (since = 0 or unknown) or the net changes after `since`, in clear for the terminal. */
  download(list: CardListName, since: number) {
    const version = this.listVersion(list)
    if (since > version)
      throw new HttpProblem(400, 'Invalid list request', `the ${list} list has no version ${since}`)
    const entry = (row: { pan_sealed: Buffer | null; display: string }): Entry => {
      if (!row.pan_sealed) return { bin: row.display }
      const [pan, psn] = this.vault.open(row.pan_sealed).toString('utf8').split(':')
      return psn ? { pan, psn } : { pan }
    }
    if (since === 0)
      return { list, version, since, full: true, add: this.currentEntries(list).map(entry), remove: [] }
    const changes = this.db
      .prepare(
        `SELECT c.* FROM card_list_changes c
         JOIN (SELECT entry_key, max(id) AS id FROM card_list_changes WHERE list = ? AND version > ? GROUP BY entry_key) l
           ON l.id = c.id`,
      )
      .all(list, since) as {
      entry_key: string
      op: 'add' | 'remove'
      pan_sealed: Buffer | null
      display: string
    }[]
    // Net effect against what the terminal holds: an entry added then removed after `since` is not sent.
    const held = new Set(this.currentEntries(list, since).map((e) => e.entry_key))
    const add = changes.filter((c) => c.op === 'add' && !held.has(c.entry_key)).map(entry)
    const remove = changes.filter((c) => c.op === 'remove' && held.has(c.entry_key)).map(entry)
    return { list, version, since, full: false, add, remove }
  }
}

function canonicalPayload(name: string, version: number, issuedAt: string, p: TerminalParameters): string {
  // Key order is fixed here, not left to the input object, so the signed bytes are reproducible.
  const parameters = {
    currencyCode: p.currencyCode,
    countryCode: p.countryCode,
    terminalType: p.terminalType,
    terminalCapabilities: p.terminalCapabilities.toUpperCase(),
    additionalTerminalCapabilities: p.additionalTerminalCapabilities.toUpperCase(),
    floorLimit: p.floorLimit,
    randomSelection: {
      threshold: p.randomSelection.threshold,
      targetPercent: p.randomSelection.targetPercent,
      maxTargetPercent: p.randomSelection.maxTargetPercent,
    },
    tacDenial: p.tacDenial.toUpperCase(),
    tacOnline: p.tacOnline.toUpperCase(),
    tacDefault: p.tacDefault.toUpperCase(),
    ...(p.contactless
      ? {
          contactless: {
            floorLimit: p.contactless.floorLimit,
            transactionLimit: p.contactless.transactionLimit,
            cvmRequiredLimit: p.contactless.cvmRequiredLimit,
          },
        }
      : {}),
  }
  return JSON.stringify({ format: PARAMETER_FORMAT, name, version, issuedAt, parameters })
}

function dedupe<T>(items: (readonly [string, T])[]): (readonly [string, T])[] {
  return [...new Map(items.map((i) => [i[0], i])).values()]
}

const panText = (e: { pan: string; psn?: string }) => (e.psn ? `${e.pan}:${e.psn}` : e.pan)
const displayOf = (e: { pan: string; psn?: string }) =>
  e.psn ? `${maskPan(e.pan)} (PSN ${e.psn})` : maskPan(e.pan)
