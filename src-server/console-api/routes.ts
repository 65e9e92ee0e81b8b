import { z } from 'zod'
import type { ServerModule } from '../module'
import { CardholderAuthentication, cardholderAuthentications } from './authentications'
import { Overview, overview } from './overview'
import { RuleTestInput, RuleTestResult, testRuleSet } from './rule-test'

/** Read endpoints the console needs that belong to no single capability. */
export const consoleApiModule: ServerModule = {
  name: 'console-api',
  register(api, { reads }) {
    api.route({
      method: 'get',
      path: '/api/console/overview',
      summary: 'Dashboard figures: cardholders and cards by status, recent enrolment runs and SMS traffic',
      tags: ['console'],
      auth: { permission: 'dashboard.read' },
      responses: { 200: Overview },
      handler: () => overview(reads),
    })
    api.route({
      method: 'get',
      path: '/api/console/cardholders/:id/authentications',
      summary: 'The latest 3-D Secure authentications of a cardholder’s cards, newest first (PAN masked)',
      tags: ['console', 'cardholders'],
      auth: { permission: 'transactions.read' },
      params: z.object({ id: z.coerce.number().int().positive() }),
      query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
      responses: { 200: z.array(CardholderAuthentication) },
      handler: (_ctx, { params, query }) => cardholderAuthentications(reads, params.id, query.limit),
    })
    api.route({
      method: 'post',
      path: '/api/console/rules/test',
      summary: 'Decide a sample AReq with a rule set (stored or draft) and assumed history, as the ACS would',
      tags: ['console', 'risk'],
      auth: { permission: 'rules.read' },
      body: RuleTestInput,
      responses: { 200: RuleTestResult, 422: null },
      handler: (_ctx, { body }) => testRuleSet(body),
    })
  },
}
