import { z } from 'zod'
import { bearerToken } from '../app'
import { HttpProblem } from '../http/problem'
import type { ServerModule } from '../module'
import { EventTickets, openEventStream } from '../modems/events'
import { can } from '../operators/permissions'
import type { SessionInfo } from '../operators/service'
import { CardholderAuthentication, cardholderAuthentications } from './authentications'
import { DashboardChanges } from './dashboard/changes'
import { dashboardFigures } from './dashboard/figures'
import { Dashboard, DashboardEventTicket, DashboardQuery } from './dashboard/schema'
import { RuleTestInput, RuleTestResult, testRuleSet } from './rule-test'

/** Read endpoints the console needs that belong to no single capability. */
export const consoleApiModule: ServerModule = {
  name: 'console-api',
  register(api, services) {
    const { reads, db, operators, config } = services
    api.route({
      method: 'get',
      path: '/api/console/dashboard',
      summary:
        'Dashboard: authentications per brand (today, 7 and 30 days), the 30-day series, the method mix, SMS health and alarms',
      tags: ['console'],
      auth: { permission: 'dashboard.read' },
      query: DashboardQuery,
      responses: { 200: Dashboard },
      handler: (_ctx, { query }) => dashboardFigures(services, query.issuerId),
    })

    // Live updates: EventSource cannot send the bearer token, so the console trades it for a single-use ticket.
    const tickets = new EventTickets()
    const changes = new DashboardChanges(db, services)
    const sessionStillValid = db.prepare(
      'SELECT 1 FROM sessions WHERE token_hash = ? AND expires_at > ? AND last_seen_at + ? > ?',
    )
    api.route({
      method: 'post',
      path: '/api/console/dashboard/events/ticket',
      summary:
        'A single-use ticket (30 s) to open GET /api/console/dashboard/events from a browser EventSource',
      tags: ['console'],
      auth: { permission: 'dashboard.read' },
      responses: { 201: DashboardEventTicket },
      handler(ctx) {
        const { ticket, expiresAt } = tickets.issue(bearerToken(ctx)!)
        ctx.status = 201
        return { ticket, expiresAt: new Date(expiresAt).toISOString() }
      },
    })
    api.route({
      method: 'get',
      path: '/api/console/dashboard/events',
      summary:
        'Server-sent `changed` events (at most one a second) when the dashboard’s figures may have changed: refetch GET /api/console/dashboard. Authenticate with ?ticket=',
      tags: ['console'],
      auth: {
        scheme: 'eventTicket',
        authenticate(ctx) {
          const ticket = typeof ctx.query.ticket === 'string' ? ctx.query.ticket : undefined
          const token = ticket ? tickets.redeem(ticket) : undefined
          const session = token ? operators.authenticate(token) : undefined
          if (!session)
            throw new HttpProblem(
              401,
              'Not signed in',
              'The event ticket is unknown, used or expired; ask for a new one',
            )
          if (!can(session.operator.role, 'dashboard.read'))
            throw new HttpProblem(
              403,
              'Forbidden',
              `Your role (${session.operator.role}) does not allow dashboard.read`,
            )
          ctx.state.session = session
        },
      },
      query: z.object({ ticket: z.string().max(100) }),
      responses: { 200: null },
      handler(ctx) {
        const session = ctx.state.session as SessionInfo
        openEventStream(ctx, {
          sources: [{ emitter: changes, event: 'changed', as: 'changed' }],
          stillAllowed: () => {
            const now = Date.now()
            return sessionStillValid.get(session.tokenHash, now, config.sessionIdleMs, now) !== undefined
          },
        })
      },
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
