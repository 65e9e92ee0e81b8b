import type { AuditLog } from '../audit/audit-log'
import type { Vault } from '../crypto/vault'
import { HttpProblem } from '../http/problem'
import type { IssuerRepository, ResolvedRange } from '../issuers/repository'
import { statementCache, type Db } from '../store/db'
import type { AuthMethod, CardholderView, EnrolmentLine, Status } from './model'

interface CardholderRow {
  id: number
  issuer_id: number
  name: string
  mobile: string | null
  email: string | null
  language: string
  method: AuthMethod
  status: Status
  status_reason: string | null
  created_at: string
  updated_at: string
}

interface CardRow {
  id: number
  cardholder_id: number
  range_id: number
  pan_masked: string
  last4: string
  expiry: string
  status: Status
  status_reason: string | null
  brand: string
}

/** What the ACS needs to know about a card on the AReq path. */
export interface CardRecord {
  cardId: number
  cardholderId: number
  issuerId: number
  rangeId: number
  panMasked: string
  expiry: string
  cardStatus: Status
  cardholderStatus: Status
  method: AuthMethod
  mobile: string | null
  language: string
  name: string
}

export type UpsertResult = 'inserted' | 'updated'

export class UnknownRangeError extends Error {
  override name = 'UnknownRangeError'
}

export class CardholderRepository {
  private readonly byLookup
  private readonly cardsOf
  private readonly holderById
  private readonly sql: ReturnType<typeof statementCache>

  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly issuers: IssuerRepository,
    private readonly audit: AuditLog,
  ) {
    this.sql = statementCache(db)
    this.byLookup = db.prepare(
      `SELECT c.id AS cardId, c.cardholder_id AS cardholderId, h.issuer_id AS issuerId, c.range_id AS rangeId,
              c.pan_masked AS panMasked, c.expiry, c.status AS cardStatus, h.status AS cardholderStatus,
              h.method, h.mobile, h.language, h.name
       FROM cards c JOIN cardholders h ON h.id = c.cardholder_id WHERE c.pan_lookup = ?`,
    )
    this.cardsOf = db.prepare(
      `SELECT c.*, r.brand FROM cards c JOIN card_ranges r ON r.id = c.range_id WHERE c.cardholder_id = ? ORDER BY c.id`,
    )
    this.holderById = db.prepare('SELECT * FROM cardholders WHERE id = ?')
  }

  findByPan(pan: string): CardRecord | undefined {
    return this.findByLookup(this.vault.panLookup(pan))
  }

  /** By the PAN's lookup hash (`Vault.panLookup`), for a caller that needs the hash anyway. */
  findByLookup(lookup: Buffer): CardRecord | undefined {
    return this.byLookup.get(lookup) as CardRecord | undefined
  }

  private rangeFor(pan: string): ResolvedRange {
    const range = this.issuers.findRange(pan)
    if (!range) throw new UnknownRangeError('no card range covers this PAN')
    return range
  }

  /**
   * Creates the card and its cardholder, or, when the PAN is already enrolled, updates the card's expiry and
   * its cardholder's details. Call inside a transaction for batches.
   */
  upsert(line: EnrolmentLine, now = new Date().toISOString()): UpsertResult {
    const range = this.rangeFor(line.pan)
    const lookup = this.vault.panLookup(line.pan)
    const existing = this.sql('SELECT id, cardholder_id FROM cards WHERE pan_lookup = ?').get(lookup) as
      { id: number; cardholder_id: number } | undefined
    if (existing) {
      this.sql(
        `UPDATE cardholders SET name = ?, mobile = ?, email = ?, language = ?, method = ?, updated_at = ? WHERE id = ?`,
      ).run(
        line.name,
        line.mobile ?? null,
        line.email ?? null,
        line.language,
        line.method,
        now,
        existing.cardholder_id,
      )
      this.sql('UPDATE cards SET expiry = ?, range_id = ?, updated_at = ? WHERE id = ?').run(
        line.expiry,
        range.id,
        now,
        existing.id,
      )
      return 'updated'
    }
    const holder = this.sql(
      `INSERT INTO cardholders (issuer_id, name, mobile, email, language, method, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      range.issuerId,
      line.name,
      line.mobile ?? null,
      line.email ?? null,
      line.language,
      line.method,
      now,
      now,
    )
    const sealed = this.vault.sealPan(line.pan)
    this.sql(
      `INSERT INTO cards (cardholder_id, range_id, pan_ct, pan_lookup, pan_masked, last4, expiry, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      holder.lastInsertRowid,
      range.id,
      sealed.ciphertext,
      sealed.lookup,
      sealed.masked,
      sealed.last4,
      line.expiry,
      now,
      now,
    )
    return 'inserted'
  }

  /** Enrols one card for a new or existing cardholder through the API, audited. */
  enrolOne(line: EnrolmentLine, actor: string): CardholderView {
    const id = this.db.transaction(() => {
      let result: UpsertResult
      try {
        result = this.upsert(line)
      } catch (err) {
        if (err instanceof UnknownRangeError)
          throw new HttpProblem(422, 'No card range', 'No active card range covers this PAN')
        throw err
      }
      const card = this.findByPan(line.pan)!
      this.audit.record({
        actor,
        action: `cardholder.${result === 'inserted' ? 'enrol' : 'update'}`,
        target: `card:${card.panMasked}`,
      })
      return card.cardholderId
    })()
    return this.get(id)
  }

  get(id: number): CardholderView {
    const row = this.holderById.get(id) as CardholderRow | undefined
    if (!row) throw new HttpProblem(404, 'Not found', `No cardholder with id ${id}`)
    const cards = this.cardsOf.all(id) as CardRow[]
    return {
      id: row.id,
      issuerId: row.issuer_id,
      name: row.name,
      ...(row.mobile ? { mobile: row.mobile } : {}),
      ...(row.email ? { email: row.email } : {}),
      language: row.language,
      method: row.method,
      status: row.status,
      ...(row.status_reason ? { statusReason: row.status_reason } : {}),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      cards: cards.map((c) => ({
        id: c.id,
        panMasked: c.pan_masked,
        last4: c.last4,
        brand: c.brand,
        expiry: c.expiry,
        status: c.status,
        ...(c.status_reason ? { statusReason: c.status_reason } : {}),
      })),
    }
  }

  /**
   * Customer-service search: by full PAN (through the lookup hash, the PAN is never stored or shown), last
   * four digits, mobile number or name prefix. Keyset paging by id.
   */
  search(q: {
    pan?: string
    last4?: string
    mobile?: string
    name?: string
    after?: number
    limit: number
  }): CardholderView[] {
    let ids: number[]
    const after = q.after ?? 0
    if (q.pan) {
      const card = this.findByPan(q.pan)
      ids = card && card.cardholderId > after ? [card.cardholderId] : []
    } else if (q.last4) {
      ids = this.sql(
        'SELECT DISTINCT cardholder_id FROM cards WHERE last4 = ? AND cardholder_id > ? ORDER BY cardholder_id LIMIT ?',
      )
        .pluck()
        .all(q.last4, after, q.limit) as number[]
    } else if (q.mobile) {
      ids = this.sql('SELECT id FROM cardholders WHERE mobile = ? AND id > ? ORDER BY id LIMIT ?')
        .pluck()
        .all(q.mobile, after, q.limit) as number[]
    } else if (q.name) {
      // Prefix match on the NOCASE index (`name >= x AND name < x + U+FFFF` keeps it an index range scan),
      // ordered by (name, id): the page after a cardholder continues from that cardholder's name and id.
      const afterName = q.after
        ? ((this.sql('SELECT name FROM cardholders WHERE id = ?').pluck().get(q.after) as
            string | undefined) ?? '')
        : ''
      ids = this.sql(
        `SELECT id FROM cardholders WHERE name COLLATE NOCASE >= ? AND name COLLATE NOCASE < ?
             AND (name COLLATE NOCASE, id) > (?, ?)
           ORDER BY name COLLATE NOCASE, id LIMIT ?`,
      )
        .pluck()
        .all(q.name, q.name + '\uffff', afterName, after, q.limit) as number[]
    } else {
      ids = this.sql('SELECT id FROM cardholders WHERE id > ? ORDER BY id LIMIT ?')
        .pluck()
        .all(after, q.limit) as number[]
    }
    return ids.map((id) => this.get(id))
  }

  update(
    id: number,
    patch: {
      mobile?: string
      email?: string
      method?: AuthMethod
      language?: string
      status?: Status
      reason: string
    },
    actor: string,
  ): CardholderView {
    const before = this.get(id)
    const { reason, ...fields } = patch
    this.db.transaction(() => {
      this.sql(
        `UPDATE cardholders SET mobile = coalesce(?, mobile), email = coalesce(?, email), method = coalesce(?, method),
           language = coalesce(?, language), status = coalesce(?, status),
           status_reason = CASE WHEN ? IS NULL THEN status_reason ELSE ? END, updated_at = ? WHERE id = ?`,
      ).run(
        fields.mobile ?? null,
        fields.email ?? null,
        fields.method ?? null,
        fields.language ?? null,
        fields.status ?? null,
        fields.status ?? null,
        reason,
        new Date().toISOString(),
        id,
      )
      this.audit.record({
        actor,
        action: 'cardholder.update',
        target: `cardholder:${id}`,
        details: {
          reason,
          changes: Object.fromEntries(
            Object.keys(fields).map((k) => [
              k,
              { from: before[k as keyof CardholderView] ?? null, to: fields[k as keyof typeof fields] },
            ]),
          ),
        },
      })
    })()
    return this.get(id)
  }

  /** Enrolled mobile numbers (E.164) that end with these digits: at most two, enough to tell one from many. */
  mobilesEndingWith(digits: string): string[] {
    return this.sql(`SELECT DISTINCT mobile FROM cardholders WHERE mobile LIKE '%' || ? LIMIT 2`)
      .pluck()
      .all(digits) as string[]
  }

  setCardStatus(cardId: number, status: Status, reason: string, actor: string): void {
    const card = this.sql('SELECT pan_masked, status FROM cards WHERE id = ?').get(cardId) as
      { pan_masked: string; status: Status } | undefined
    if (!card) throw new HttpProblem(404, 'Not found', `No card with id ${cardId}`)
    this.db.transaction(() => {
      this.sql('UPDATE cards SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?').run(
        status,
        reason,
        new Date().toISOString(),
        cardId,
      )
      this.audit.record({
        actor,
        action: 'card.status',
        target: `card:${card.pan_masked}`,
        details: { from: card.status, to: status, reason },
      })
    })()
  }
}
