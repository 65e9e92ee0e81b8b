import type { Context } from 'koa'
import { z } from 'zod'
import {
  CurrentSession,
  Operator,
  Role,
  SessionRequest,
  SessionResponse,
  SetupRequest,
  SetupStatus,
} from '../contract'
import { actorOf, sessionOf } from '../app'
import { HttpProblem } from '../http/problem'
import type { ServerModule } from '../module'
import { ApproverCredentials, Username } from './credentials'

const OperatorId = z.object({ id: z.coerce.number().int().positive() })
const NewOperator = z.object({
  username: Username,
  displayName: z.string().trim().min(1).max(100),
  role: Role,
  password: z.string().min(1).max(1024),
  /** The second admin, for what is under dual control (a key custodian: see OperatorService). */
  approver: ApproverCredentials.optional(),
})
const OperatorPatch = z
  .object({
    displayName: z.string().trim().min(1).max(100),
    role: Role,
    status: z.enum(['active', 'disabled']),
  })
  .partial()
  .extend({ approver: ApproverCredentials.optional() })
  .refine((p) => Object.keys(p).some((key) => key !== 'approver'), 'change at least one field')
const PasswordChange = z.object({
  currentPassword: z.string().min(1).max(1024),
  newPassword: z.string().min(1).max(1024),
})
const PasswordReset = z.object({
  newPassword: z.string().min(1).max(1024),
  approver: ApproverCredentials.optional(),
})
const TotpRemoval = z.object({ approver: ApproverCredentials.optional() }).optional()
const TotpCode = z.object({ code: z.string().regex(/^\d{6}$/, 'six digits') })
const SessionRow = z.object({
  id: z.string(),
  createdAt: z.string(),
  lastSeenAt: z.string(),
  expiresAt: z.string(),
  ip: z.string().optional(),
  userAgent: z.string().optional(),
  current: z.boolean(),
})

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1'])

const DUAL_CONTROL =
  'A key custodian is made, unmade, re-enabled or reset only with a second admin (operators.manage) approving: `approver` {username, password, totp?}, checked like a sign-in, named in the audit row'

export const operatorsModule: ServerModule = {
  name: 'operators',
  register(api, { operators }) {
    /**
     * The second admin named in `approver`, checked whenever one is sent; whether the change needs one is the
     * service's decision (it answers 403 "Dual control" when it does and none came).
     */
    const approval = (
      ctx: Context,
      approver: z.infer<typeof ApproverCredentials> | undefined,
      targetId?: number,
    ) =>
      approver
        ? operators.approveAccountChange(approver, sessionOf(ctx).operator, targetId, { ip: ctx.ip })
        : Promise.resolve(undefined)

    api.route({
      method: 'get',
      path: '/api/setup',
      summary: 'Whether the first admin still has to be created (first run)',
      tags: ['session'],
      auth: { public: true },
      responses: { 200: SetupStatus },
      handler: () => ({ needed: operators.count() === 0 }),
    })
    api.route({
      method: 'post',
      path: '/api/setup',
      summary:
        'First run only: create the first admin. Refused once any operator exists, and from anywhere but this machine.',
      tags: ['session'],
      auth: { public: true },
      body: SetupRequest,
      responses: { 201: Operator, 403: null, 409: null },
      async handler(ctx, { body }) {
        if (!LOOPBACK.has(ctx.req.socket.remoteAddress ?? '')) {
          throw new HttpProblem(403, 'Forbidden', 'The first admin can only be created from this machine')
        }
        const op = await operators.createFirstAdmin(body)
        ctx.status = 201
        return op
      },
    })
    api.route({
      method: 'post',
      path: '/api/session',
      summary: 'Sign in (password, then TOTP when enrolled)',
      tags: ['session'],
      auth: { public: true },
      body: SessionRequest,
      responses: { 201: SessionResponse, 401: null, 423: null },
      async handler(ctx, { body }) {
        const { token, session } = await operators.login(body, {
          ip: ctx.ip,
          userAgent: ctx.get('user-agent'),
        })
        ctx.status = 201
        return {
          token,
          expiresAt: new Date(session.expiresAt).toISOString(),
          operator: session.operator,
          permissions: session.permissions,
        }
      },
    })
    api.route({
      method: 'get',
      path: '/api/session',
      summary: 'The current session',
      tags: ['session'],
      auth: { permission: 'dashboard.read' },
      responses: { 200: CurrentSession },
      handler: (ctx) => {
        const s = sessionOf(ctx)
        return {
          expiresAt: new Date(s.expiresAt).toISOString(),
          operator: s.operator,
          permissions: s.permissions,
        }
      },
    })
    api.route({
      method: 'delete',
      path: '/api/session',
      summary: 'Sign out',
      tags: ['session'],
      auth: { permission: 'dashboard.read' },
      responses: { 204: null },
      handler(ctx) {
        operators.logout(sessionOf(ctx))
        ctx.status = 204
      },
    })
    api.route({
      method: 'get',
      path: '/api/me/sessions',
      summary: 'My active sessions',
      tags: ['session'],
      auth: { permission: 'dashboard.read' },
      responses: { 200: z.array(SessionRow) },
      handler: (ctx) => operators.sessions(sessionOf(ctx).operator.id, sessionOf(ctx).tokenHash),
    })
    api.route({
      method: 'delete',
      path: '/api/me/sessions/:sessionId',
      summary: 'End one of my sessions',
      tags: ['session'],
      auth: { permission: 'dashboard.read' },
      params: z.object({ sessionId: z.string().regex(/^[0-9a-f]{16}$/) }),
      responses: { 204: null },
      handler(ctx, { params }) {
        operators.revokeSession(sessionOf(ctx).operator.id, params.sessionId, actorOf(ctx))
        ctx.status = 204
      },
    })
    api.route({
      method: 'post',
      path: '/api/me/password',
      summary: 'Change my password (ends my other sessions)',
      tags: ['session'],
      auth: { permission: 'dashboard.read' },
      body: PasswordChange,
      responses: { 204: null },
      async handler(ctx, { body }) {
        await operators.changePassword(
          sessionOf(ctx).operator.id,
          body.currentPassword,
          body.newPassword,
          actorOf(ctx),
        )
        ctx.status = 204
      },
    })
    api.route({
      method: 'post',
      path: '/api/me/totp',
      summary: 'Start TOTP enrolment: returns the secret and a QR code',
      tags: ['session'],
      auth: { permission: 'dashboard.read' },
      responses: { 200: z.object({ secret: z.string(), otpauthUrl: z.string(), qrDataUrl: z.string() }) },
      handler: (ctx) => operators.beginTotp(sessionOf(ctx).operator.id),
    })
    api.route({
      method: 'post',
      path: '/api/me/totp/confirm',
      summary: 'Confirm TOTP enrolment with a first code',
      tags: ['session'],
      auth: { permission: 'dashboard.read' },
      body: TotpCode,
      responses: { 204: null },
      handler(ctx, { body }) {
        operators.confirmTotp(sessionOf(ctx).operator.id, body.code, actorOf(ctx))
        ctx.status = 204
      },
    })
    api.route({
      method: 'get',
      path: '/api/operators',
      summary: 'List operator accounts',
      tags: ['operators'],
      auth: { permission: 'operators.read' },
      responses: { 200: z.array(Operator) },
      handler: () => operators.list(),
    })
    api.route({
      method: 'post',
      path: '/api/operators',
      summary: `Create an operator account. ${DUAL_CONTROL}`,
      tags: ['operators'],
      auth: { permission: 'operators.manage' },
      body: NewOperator,
      responses: { 201: Operator, 403: null, 409: null },
      async handler(ctx, { body: { approver, ...account } }) {
        const op = await operators.create(account, actorOf(ctx), await approval(ctx, approver))
        ctx.status = 201
        return op
      },
    })
    api.route({
      method: 'patch',
      path: '/api/operators/:id',
      summary: `Change an operator’s name, role or status. ${DUAL_CONTROL}`,
      tags: ['operators'],
      auth: { permission: 'operators.manage' },
      params: OperatorId,
      body: OperatorPatch,
      responses: { 200: Operator, 403: null },
      async handler(ctx, { params, body: { approver, ...patch } }) {
        return operators.update(params.id, patch, actorOf(ctx), await approval(ctx, approver, params.id))
      },
    })
    api.route({
      method: 'post',
      path: '/api/operators/:id/password',
      summary: `Reset an operator’s password. ${DUAL_CONTROL}`,
      tags: ['operators'],
      auth: { permission: 'operators.manage' },
      params: OperatorId,
      body: PasswordReset,
      responses: { 204: null, 403: null },
      async handler(ctx, { params, body }) {
        const approvedBy = await approval(ctx, body.approver, params.id)
        await operators.changePassword(params.id, null, body.newPassword, actorOf(ctx), approvedBy)
        ctx.status = 204
      },
    })
    api.route({
      method: 'delete',
      path: '/api/operators/:id/totp',
      summary: `Remove an operator’s second factor (lost phone); a JSON body carries the approver when one is needed. ${DUAL_CONTROL}`,
      tags: ['operators'],
      auth: { permission: 'operators.manage' },
      params: OperatorId,
      // A body on a DELETE: the approver's credentials have nowhere else to go (never in the URL).
      body: TotpRemoval,
      bodyOptional: true,
      responses: { 204: null, 403: null },
      async handler(ctx, { params, body }) {
        operators.disableTotp(params.id, actorOf(ctx), await approval(ctx, body?.approver, params.id))
        ctx.status = 204
      },
    })
  },
}
