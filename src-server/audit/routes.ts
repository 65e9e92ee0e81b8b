import { z } from 'zod'
import type { ServerModule } from '../module'
import { actorOf } from '../app'

const AuditQuery = z.object({
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  action: z.string().max(100).optional(),
  actor: z.string().max(100).optional(),
})
const AuditItem = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
})
const VerifyAnswer = z.object({
  ok: z.boolean(),
  rows: z.number(),
  /** The entry the chain-head anchor names; entries after it are newer than the anchor (see audit-log.ts). */
  anchoredAt: z.number().optional(),
  problem: z.enum(['chain', 'truncated', 'replaced', 'anchor-invalid', 'anchor-missing']).optional(),
  brokenAt: z.number().optional(),
  reason: z.string().optional(),
})

export const auditModule: ServerModule = {
  name: 'audit',
  register(api, { db, audit }) {
    api.route({
      method: 'get',
      path: '/api/audit',
      summary: 'Audit log, newest first (keyset paging with `before`)',
      tags: ['audit'],
      auth: { permission: 'audit.read' },
      query: AuditQuery,
      responses: { 200: z.object({ items: z.array(AuditItem), nextBefore: z.number().optional() }) },
      handler(_ctx, { query }) {
        const rows = db
          .prepare(
            `SELECT id, at, actor, action, target, details FROM audit_log
             WHERE id < ? AND (? IS NULL OR action LIKE ? || '%') AND (? IS NULL OR actor = ?)
             ORDER BY id DESC LIMIT ?`,
          )
          .all(
            query.before ?? Number.MAX_SAFE_INTEGER,
            query.action ?? null,
            query.action ?? null,
            query.actor ?? null,
            query.actor ?? null,
            // One more than asked: a next page is offered only when there is one.
            query.limit + 1,
          ) as {
          id: number
          at: string
          actor: string
          action: string
          target: string | null
          details: string
        }[]
        const page = rows.slice(0, query.limit)
        return {
          items: page.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> })),
          nextBefore: rows.length > query.limit ? page[page.length - 1].id : undefined,
        }
      },
    })
    api.route({
      method: 'post',
      path: '/api/audit/verify',
      summary: 'Verify the whole audit chain and its end against the chain-head anchor',
      tags: ['audit'],
      auth: { permission: 'audit.read' },
      responses: { 200: VerifyAnswer },
      handler(ctx) {
        const result = audit.verify()
        audit.record({
          actor: actorOf(ctx),
          action: 'audit.verify',
          details: { ok: result.ok, rows: result.rows, ...(!result.ok && { problem: result.problem }) },
        })
        return result
      },
    })
  },
}
