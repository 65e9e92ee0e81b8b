import { randomUUID } from 'node:crypto'
import Koa, { type Context, type Next } from 'koa'
import { Health } from './contract'
import { ApiRegistry } from './http/api'
import { consoleSecurityHeaders, hostAndOriginGuard } from './http/guards'
import { HttpProblem, problemMiddleware } from './http/problem'
import { apiRoutes } from './http/dispatch'
import { findConsoleRoot, serveConsole } from './http/static'
import type { ServerModule } from './module'
import { can, type Permission } from './operators/permissions'
import type { SessionInfo } from './operators/service'
import type { Services } from './services'
import { auditModule } from './audit/routes'
import { operatorsModule } from './operators/routes'
import { issuersModule } from './issuers/routes'
import { enrolmentModule } from './enrolment/routes'
import { smsModule } from './sms/routes'
import { acsModule } from './acs/module'
import { labModule } from './lab/module'
import { modemsModule } from './modems/routes'
import { keysModule } from './keys/routes'
import { pedsModule } from './peds/routes'
import { terminalsModule } from './terminals/routes'
import { donglesModule } from './dongles/routes'
import { twofaModule } from './twofa/routes'
import { channelsModule } from './channels/routes'
import { reportsModule } from './reports/routes'
import { consoleApiModule } from './console-api/routes'
import { templatesModule } from './templates/routes'
import { authMethodsModule } from './auth-methods/routes'
import { fraudModule } from './fraud/routes'
import { mobileModule } from './mobile/routes'

/** The capabilities this server is made of, in registration order. */
export const MODULES: readonly ServerModule[] = [
  operatorsModule,
  auditModule,
  issuersModule,
  enrolmentModule,
  smsModule,
  acsModule,
  labModule,
  modemsModule,
  keysModule,
  pedsModule,
  terminalsModule,
  donglesModule,
  twofaModule,
  channelsModule,
  reportsModule,
  consoleApiModule,
  templatesModule,
  authMethodsModule,
  fraudModule,
  mobileModule,
]

export interface AppOptions {
  modules?: readonly ServerModule[]
  /** Directory of the built console; found automatically when omitted. */
  consoleRoot?: string | null
}

export function bearerToken(ctx: Context): string | undefined {
  const header = ctx.get('authorization')
  const m = /^Bearer\s+([A-Za-z0-9_-]{20,200})$/.exec(header)
  return m?.[1]
}

/** The operator session of a request; routes with a `{permission}` guard always have one. */
export function sessionOf(ctx: Context): SessionInfo {
  const session = ctx.state.session as SessionInfo | undefined
  if (!session) throw new HttpProblem(401, 'Not signed in', 'Sign in first')
  return session
}

/** `operator:<username>`, the audit actor for the current request. */
export function actorOf(ctx: Context): string {
  return `operator:${sessionOf(ctx).operator.username}`
}

/**
 * Builds the Koa application over the given services. It never listens by itself: standalone.ts, the
 * Electron utility process and the tests each decide how to serve it.
 */
export function createApp(services: Services, options: AppOptions = {}): { app: Koa; api: ApiRegistry } {
  const { config, log, operators } = services
  const app = new Koa({ proxy: false })
  app.silent = true

  const api = new ApiRegistry({
    jsonBodyBytes: config.jsonBodyBytes,
    requireSession(ctx, permission: Permission) {
      const token = bearerToken(ctx)
      const session = token ? operators.authenticate(token) : undefined
      if (!session)
        throw new HttpProblem(401, 'Not signed in', 'Your session is missing or has expired; sign in again')
      ctx.state.session = session
      if (!can(session.operator.role, permission)) {
        log.warn({ operator: session.operator.username, permission, path: ctx.path }, 'permission denied')
        throw new HttpProblem(
          403,
          'Forbidden',
          `Your role (${session.operator.role}) does not allow ${permission}`,
        )
      }
    },
  })

  // The durability barrier: a request that wrote is answered only once its writes are on disk (unless the
  // handler says its answer acknowledges nothing: `ctx.state.acknowledgesNothing`); otherwise a 503 problem,
  // or what the handler put in `ctx.state.onStorageFailure`.
  app.use(async (ctx: Context, next: Next) => {
    const before = services.durability.changes()
    await next()
    if (ctx.state.acknowledgesNothing || services.durability.changes() === before) return
    try {
      await services.durability.flush()
    } catch (err) {
      log.fatal({ err }, 'the database could not be synced to disk')
      // A handler whose counterparty needs another kind of answer (the ACS: an EMV Erro) says so.
      const answer = ctx.state.onStorageFailure as (() => void) | undefined
      if (answer) return answer()
      ctx.status = 503
      ctx.type = 'application/problem+json'
      ctx.body = JSON.stringify({
        type: 'https://ims.local/problems/storage-failure',
        title: 'Storage failure',
        status: 503,
        detail: 'The server could not make the change durable; it may not have been kept',
      })
    }
  })

  app.use(async (ctx: Context, next: Next) => {
    ctx.state.requestId = randomUUID()
    ctx.set('X-Request-Id', ctx.state.requestId)
    const started = performance.now()
    await next()
    const ms = performance.now() - started
    if (ms > 500)
      log.warn({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms) }, 'slow request')
  })

  api.route({
    method: 'get',
    path: '/health',
    summary: 'Liveness and version',
    tags: ['system'],
    auth: { public: true },
    responses: { 200: Health },
    handler: () => ({ status: 'ok', version: services.version }),
  })

  for (const mod of options.modules ?? MODULES) mod.register(api, services, app)

  api.route({
    method: 'get',
    path: '/api/openapi.json',
    summary: 'This document',
    tags: ['system'],
    auth: { public: true },
    responses: { 200: null },
    handler: () => api.openApi({ title: 'Issuer operations suite API', version: services.version }),
  })

  const guard = hostAndOriginGuard({ host: config.host, allowedHosts: config.allowedHosts })
  const problems = problemMiddleware(log)
  const consoleRoot =
    options.consoleRoot === null ? undefined : (options.consoleRoot ?? findConsoleRoot(import.meta.dirname))
  const staticFiles = consoleRoot ? serveConsole(consoleRoot) : undefined
  const headers = consoleSecurityHeaders()
  const routes = apiRoutes(api)

  // The console API and the console pages: problem+json errors, host/origin guard, strict headers.
  app.use(async (ctx, next) => {
    if (ctx.path.startsWith('/acs/') || ctx.path.startsWith('/2fa/') || ctx.state.handledElsewhere)
      return next()
    await headers(ctx, () =>
      problems(ctx, async () => {
        if (ctx.path.startsWith('/api/')) await guard(ctx, () => Promise.resolve())
        await routes(ctx, async () => {
          if (staticFiles && !ctx.path.startsWith('/api/')) await staticFiles(ctx, next)
          else await next()
        })
      }),
    )
  })

  return { app, api }
}
