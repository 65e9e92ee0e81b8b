import { z } from 'zod'
import { actorOf } from '../app'
import type { ApiRegistry } from '../http/api'
import type { Services } from '../services'
import { validateRuleSet } from './validate'

const RuleSetVersion = z.object({
  setId: z.string(),
  version: z.number(),
  issuerId: z.number(),
  status: z.enum(['draft', 'active', 'retired']),
  ruleSet: z.unknown(),
  createdBy: z.string(),
  createdAt: z.string(),
  activatedBy: z.string().optional(),
  activatedAt: z.string().optional(),
})
const SetId = z.object({ setId: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/) })

/** Rule-set management: drafts are validated on creation, activation and rollback are audited. */
export function registerRiskRoutes(api: ApiRegistry, { acs }: Services): void {
  api.route({
    method: 'get',
    path: '/api/risk/rule-sets',
    summary: 'Rule sets (latest and active versions), optionally of one issuer',
    tags: ['risk'],
    auth: { permission: 'rules.read' },
    query: z.object({ issuerId: z.coerce.number().int().positive().optional() }),
    responses: { 200: z.array(RuleSetVersion) },
    handler: (_ctx, { query }) => acs.rules.list(query.issuerId),
  })
  api.route({
    method: 'post',
    path: '/api/risk/rule-sets/validate',
    summary: 'Check a rule set without storing it; every problem with its location',
    tags: ['risk'],
    auth: { permission: 'rules.read' },
    body: z.unknown(),
    responses: { 200: z.object({ ok: z.boolean(), errors: z.array(z.string()) }) },
    handler: (_ctx, { body }) => {
      const r = validateRuleSet(body)
      return { ok: r.ok, errors: r.ok ? [] : r.errors }
    },
  })
  api.route({
    method: 'post',
    path: '/api/risk/rule-sets',
    summary: 'Store a new rule-set version as a draft (validated; issuerId is the issuer id)',
    tags: ['risk'],
    auth: { permission: 'rules.write' },
    body: z.unknown(),
    responses: { 201: RuleSetVersion },
    handler(ctx, { body }) {
      ctx.status = 201
      return acs.rules.create(body, actorOf(ctx))
    },
  })
  api.route({
    method: 'get',
    path: '/api/risk/rule-sets/:setId/versions',
    summary: 'Every version of a rule set, newest first',
    tags: ['risk'],
    auth: { permission: 'rules.read' },
    params: SetId,
    responses: { 200: z.array(RuleSetVersion) },
    handler: (_ctx, { params }) => acs.rules.versions(params.setId),
  })
  api.route({
    method: 'post',
    path: '/api/risk/rule-sets/:setId/versions/:version/activate',
    summary: 'Activate a version (the previous active one is retired; audited)',
    tags: ['risk'],
    auth: { permission: 'rules.write' },
    params: SetId.extend({ version: z.coerce.number().int().positive() }),
    responses: { 200: RuleSetVersion },
    handler: (ctx, { params }) => acs.rules.activate(params.setId, params.version, actorOf(ctx)),
  })
  api.route({
    method: 'post',
    path: '/api/risk/rule-sets/:setId/rollback',
    summary: 'Re-activate the version that was active before the current one (audited)',
    tags: ['risk'],
    auth: { permission: 'rules.write' },
    params: SetId,
    responses: { 200: RuleSetVersion },
    handler: (ctx, { params }) => acs.rules.rollback(params.setId, actorOf(ctx)),
  })
}
