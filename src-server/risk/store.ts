import type { AuditLog } from '../audit/audit-log'
import { HttpProblem } from '../http/problem'
import type { Db } from '../store/db'
import { compileRuleSet, ruleSetAppliesTo, type CompiledRuleSet } from './evaluate'
import type { RuleSet } from './rules'
import { validateRuleSet } from './validate'

export interface RuleSetVersion {
  setId: string
  version: number
  issuerId: number
  status: 'draft' | 'active' | 'retired'
  ruleSet: RuleSet
  createdBy: string
  createdAt: string
  activatedBy?: string
  activatedAt?: string
}

interface Row {
  set_id: string
  version: number
  issuer_id: number
  body: string
  status: RuleSetVersion['status']
  created_by: string
  created_at: string
  activated_by: string | null
  activated_at: string | null
}

const toVersion = (r: Row): RuleSetVersion => ({
  setId: r.set_id,
  version: r.version,
  issuerId: r.issuer_id,
  status: r.status,
  ruleSet: JSON.parse(r.body) as RuleSet,
  createdBy: r.created_by,
  createdAt: r.created_at,
  ...(r.activated_by ? { activatedBy: r.activated_by } : {}),
  ...(r.activated_at ? { activatedAt: r.activated_at } : {}),
})

/**
 * The issuers' rule sets, versioned in SQLite. A version is stored as a draft, validated, then activated
 * (one active version per rule set, audited); rolling back re-activates the version active before. Active
 * sets are compiled once per activation and kept per issuer for the AReq path.
 */
export class RuleSetStore {
  private compiled: Map<number, CompiledRuleSet[]> | undefined

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    /** Used when an issuer has no active rule set: challenge everything. */
    private readonly fallback: CompiledRuleSet,
  ) {}

  /** Validates and stores a new draft version. The rule set's issuerId is the issuer's numeric id. */
  create(input: unknown, actor: string): RuleSetVersion {
    const result = validateRuleSet(input)
    if (!result.ok)
      throw new HttpProblem(422, 'Invalid rule set', result.errors.join('; '), {
        errors: result.errors.map((message) => ({ path: message.split(':')[0], message })),
      })
    const rs = result.ruleSet
    const issuerId = Number(rs.issuerId)
    if (!Number.isInteger(issuerId) || !this.db.prepare('SELECT 1 FROM issuers WHERE id = ?').get(issuerId))
      throw new HttpProblem(422, 'Invalid rule set', `issuerId ${rs.issuerId} is not an issuer id`)
    const owner = this.db
      .prepare('SELECT issuer_id FROM risk_rule_sets WHERE set_id = ? LIMIT 1')
      .pluck()
      .get(rs.id) as number | undefined
    if (owner !== undefined && owner !== issuerId)
      throw new HttpProblem(409, 'Conflict', `Rule set ${rs.id} belongs to another issuer`)
    if (
      this.db.prepare('SELECT 1 FROM risk_rule_sets WHERE set_id = ? AND version = ?').get(rs.id, rs.version)
    )
      throw new HttpProblem(
        409,
        'Conflict',
        `Rule set ${rs.id} version ${rs.version} exists; use a new version`,
      )
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO risk_rule_sets (set_id, version, issuer_id, body, status, created_by, created_at)
           VALUES (?, ?, ?, ?, 'draft', ?, ?)`,
        )
        .run(rs.id, rs.version, issuerId, JSON.stringify(rs), actor, new Date().toISOString())
      this.audit.record({ actor, action: 'risk.rule-set.create', target: `rule-set:${rs.id}@${rs.version}` })
    })()
    return this.get(rs.id, rs.version)
  }

  get(setId: string, version: number): RuleSetVersion {
    const row = this.db
      .prepare('SELECT * FROM risk_rule_sets WHERE set_id = ? AND version = ?')
      .get(setId, version) as Row | undefined
    if (!row) throw new HttpProblem(404, 'Not found', `No rule set ${setId} version ${version}`)
    return toVersion(row)
  }

  versions(setId: string): RuleSetVersion[] {
    return (
      this.db
        .prepare('SELECT * FROM risk_rule_sets WHERE set_id = ? ORDER BY version DESC')
        .all(setId) as Row[]
    ).map(toVersion)
  }

  /** The latest version of each rule set (of one issuer when given), with which one is active. */
  list(issuerId?: number): RuleSetVersion[] {
    return (
      this.db
        .prepare(
          `SELECT * FROM risk_rule_sets r WHERE (? IS NULL OR issuer_id = ?)
             AND (status = 'active' OR version = (SELECT max(version) FROM risk_rule_sets WHERE set_id = r.set_id))
           ORDER BY set_id, version DESC`,
        )
        .all(issuerId ?? null, issuerId ?? null) as Row[]
    ).map(toVersion)
  }

  activate(setId: string, version: number, actor: string, action = 'risk.rule-set.activate'): RuleSetVersion {
    const target = this.get(setId, version)
    compileRuleSet(target.ruleSet)
    this.db.transaction(() => {
      const previous = this.db
        .prepare(`SELECT version FROM risk_rule_sets WHERE set_id = ? AND status = 'active'`)
        .pluck()
        .get(setId) as number | undefined
      this.db
        .prepare(`UPDATE risk_rule_sets SET status = 'retired' WHERE set_id = ? AND status = 'active'`)
        .run(setId)
      this.db
        .prepare(
          `UPDATE risk_rule_sets SET status = 'active', activated_by = ?, activated_at = ? WHERE set_id = ? AND version = ?`,
        )
        .run(actor, new Date().toISOString(), setId, version)
      this.audit.record({
        actor,
        action,
        target: `rule-set:${setId}@${version}`,
        details: { previous: previous ?? null },
      })
    })()
    this.compiled = undefined
    return this.get(setId, version)
  }

  /** Re-activates the version that was active before the current one. */
  rollback(setId: string, actor: string): RuleSetVersion {
    const previous = this.db
      .prepare(
        `SELECT version FROM risk_rule_sets WHERE set_id = ? AND status = 'retired' AND activated_at IS NOT NULL
         ORDER BY activated_at DESC, version DESC LIMIT 1`,
      )
      .pluck()
      .get(setId) as number | undefined
    if (previous === undefined)
      throw new HttpProblem(
        409,
        'Conflict',
        `Rule set ${setId} has no earlier active version to roll back to`,
      )
    return this.activate(setId, previous, actor, 'risk.rule-set.rollback')
  }

  /** The compiled rule set deciding for a PAN of an issuer: range-specific sets before issuer-wide ones. */
  forCard(issuerId: number, pan: string): CompiledRuleSet {
    if (!this.compiled) {
      const map = new Map<number, CompiledRuleSet[]>()
      const rows = this.db
        .prepare(`SELECT * FROM risk_rule_sets WHERE status = 'active' ORDER BY set_id`)
        .all() as Row[]
      for (const row of rows) {
        const list = map.get(row.issuer_id) ?? []
        list.push(compileRuleSet(toVersion(row).ruleSet))
        map.set(row.issuer_id, list)
      }
      for (const list of map.values())
        list.sort((a, b) => Number(!a.ruleSet.cardRanges) - Number(!b.ruleSet.cardRanges))
      this.compiled = map
    }
    return this.compiled.get(issuerId)?.find((c) => ruleSetAppliesTo(c.ruleSet, pan)) ?? this.fallback
  }
}
