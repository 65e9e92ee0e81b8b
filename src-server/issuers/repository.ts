import { statementCache, type Db } from '../store/db'
import { HttpProblem } from '../http/problem'
import type { AuditLog } from '../audit/audit-log'
import {
  padPan,
  rangeBounds,
  type AuthValueConfig,
  type Brand,
  type Branding,
  type CardRange,
  type Issuer,
} from './model'

interface IssuerRow {
  id: number
  name: string
  acs_reference_number: string
  acs_operator_id: string | null
  branding: string
  created_at: string
}

interface RangeRow {
  id: number
  issuer_id: number
  brand: Brand
  start_prefix: string
  end_prefix: string
  low: string
  high: string
  production: number
  method_url: string | null
  auth_value: string
  status: 'active' | 'disabled'
  created_at: string
}

const toIssuer = (r: IssuerRow): Issuer => ({
  id: r.id,
  name: r.name,
  acsReferenceNumber: r.acs_reference_number,
  ...(r.acs_operator_id ? { acsOperatorId: r.acs_operator_id } : {}),
  branding: JSON.parse(r.branding) as Branding,
  createdAt: r.created_at,
})

const toRange = (r: RangeRow): CardRange & { low: string; high: string } => ({
  id: r.id,
  issuerId: r.issuer_id,
  brand: r.brand,
  startPrefix: r.start_prefix,
  endPrefix: r.end_prefix,
  production: r.production === 1,
  ...(r.method_url ? { methodUrl: r.method_url } : {}),
  authValue: JSON.parse(r.auth_value) as Record<string, unknown>,
  status: r.status,
  createdAt: r.created_at,
  low: r.low,
  high: r.high,
})

export type ResolvedRange = ReturnType<typeof toRange>

/**
 * Issuers and their card ranges. Both are few and read on every AReq, so they are held in memory (ranges
 * most specific first) and reloaded whenever one changes.
 */
export class IssuerRepository {
  private ranges: ResolvedRange[] | undefined
  private readonly issuers = new Map<number, Issuer>()
  private readonly sql: ReturnType<typeof statementCache>

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
  ) {
    this.sql = statementCache(db)
  }

  listIssuers(): Issuer[] {
    return (this.sql('SELECT * FROM issuers ORDER BY name').all() as IssuerRow[]).map(toIssuer)
  }

  /** Read on every AReq (its reference number and operator ID), written only here: kept in memory. */
  getIssuer(id: number): Issuer {
    const cached = this.issuers.get(id)
    if (cached) return cached
    const row = this.sql('SELECT * FROM issuers WHERE id = ?').get(id) as IssuerRow | undefined
    if (!row) throw new HttpProblem(404, 'Not found', `No issuer with id ${id}`)
    const issuer = Object.freeze(toIssuer(row))
    // Not from inside a transaction: it may still roll back (and the id be given to another issuer).
    if (!this.db.inTransaction) this.issuers.set(id, issuer)
    return issuer
  }

  createIssuer(input: Omit<Issuer, 'id' | 'createdAt'>, actor: string): Issuer {
    if (this.sql('SELECT 1 FROM issuers WHERE name = ?').get(input.name)) {
      throw new HttpProblem(409, 'Conflict', `An issuer named ${input.name} exists`)
    }
    return this.db.transaction(() => {
      const info = this.sql(
        'INSERT INTO issuers (name, acs_reference_number, acs_operator_id, branding, created_at) VALUES (?, ?, ?, ?, ?)',
      ).run(
        input.name,
        input.acsReferenceNumber,
        input.acsOperatorId ?? null,
        JSON.stringify(input.branding),
        new Date().toISOString(),
      )
      this.audit.record({ actor, action: 'issuer.create', target: `issuer:${input.name}` })
      return this.getIssuer(Number(info.lastInsertRowid))
    })()
  }

  updateIssuer(id: number, patch: Partial<Omit<Issuer, 'id' | 'createdAt'>>, actor: string): Issuer {
    const current = this.getIssuer(id)
    const next = { ...current, ...patch }
    this.issuers.delete(id)
    this.db.transaction(() => {
      this.sql(
        'UPDATE issuers SET name = ?, acs_reference_number = ?, acs_operator_id = ?, branding = ? WHERE id = ?',
      ).run(next.name, next.acsReferenceNumber, next.acsOperatorId ?? null, JSON.stringify(next.branding), id)
      this.audit.record({
        actor,
        action: 'issuer.update',
        target: `issuer:${current.name}`,
        details: { fields: Object.keys(patch) },
      })
    })()
    return this.getIssuer(id)
  }

  listRanges(issuerId?: number): ResolvedRange[] {
    const rows = this.sql('SELECT * FROM card_ranges WHERE (? IS NULL OR issuer_id = ?) ORDER BY low').all(
      issuerId ?? null,
      issuerId ?? null,
    ) as RangeRow[]
    return rows.map(toRange)
  }

  getRange(id: number): ResolvedRange {
    const row = this.sql('SELECT * FROM card_ranges WHERE id = ?').get(id) as RangeRow | undefined
    if (!row) throw new HttpProblem(404, 'Not found', `No card range with id ${id}`)
    return toRange(row)
  }

  createRange(
    input: Omit<CardRange, 'id' | 'createdAt' | 'status' | 'methodUrl'> & { methodUrl?: string },
    actor: string,
  ): ResolvedRange {
    this.getIssuer(input.issuerId)
    const { low, high } = rangeBounds(input.startPrefix, input.endPrefix)
    if (this.sql('SELECT 1 FROM card_ranges WHERE low = ? AND high = ?').get(low, high)) {
      throw new HttpProblem(409, 'Conflict', 'A card range with exactly these bounds exists')
    }
    const id = this.db.transaction(() => {
      const info = this.sql(
        `INSERT INTO card_ranges (issuer_id, brand, start_prefix, end_prefix, low, high, production, method_url, auth_value, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        input.issuerId,
        input.brand,
        input.startPrefix,
        input.endPrefix,
        low,
        high,
        input.production ? 1 : 0,
        input.methodUrl ?? null,
        JSON.stringify(input.authValue),
        new Date().toISOString(),
      )
      this.audit.record({
        actor,
        action: 'card-range.create',
        target: `range:${input.startPrefix}-${input.endPrefix}`,
        details: { brand: input.brand, issuerId: input.issuerId },
      })
      return Number(info.lastInsertRowid)
    })()
    this.ranges = undefined
    return this.getRange(id)
  }

  setRangeStatus(id: number, status: 'active' | 'disabled', actor: string): ResolvedRange {
    const range = this.getRange(id)
    this.db.transaction(() => {
      this.sql('UPDATE card_ranges SET status = ? WHERE id = ?').run(status, id)
      this.audit.record({
        actor,
        action: `card-range.${status === 'active' ? 'enable' : 'disable'}`,
        target: `range:${range.startPrefix}-${range.endPrefix}`,
      })
    })()
    this.ranges = undefined
    return this.getRange(id)
  }

  /**
   * Replaces how a range computes its authentication values (generator, key indicator, ECI table): the next
   * AReq uses it. Keys stay with the range; a new generator needs its own (`…/keys/generate` or an import).
   */
  setRangeAuthValue(id: number, authValue: AuthValueConfig, actor: string): ResolvedRange {
    const range = this.getRange(id)
    this.db.transaction(() => {
      this.sql('UPDATE card_ranges SET auth_value = ? WHERE id = ?').run(JSON.stringify(authValue), id)
      this.audit.record({
        actor,
        action: 'card-range.auth-value',
        target: `range:${range.startPrefix}-${range.endPrefix}`,
        details: { authValue },
      })
    })()
    this.ranges = undefined
    return this.getRange(id)
  }

  /** The most specific active range covering a PAN, or undefined. */
  findRange(pan: string): ResolvedRange | undefined {
    this.ranges ??= this.listRanges()
      .filter((r) => r.status === 'active')
      .sort((a, b) => Number(BigInt(a.high) - BigInt(a.low) - (BigInt(b.high) - BigInt(b.low))))
    const padded = padPan(pan)
    return this.ranges.find((r) => r.low <= padded && padded <= r.high)
  }
}
