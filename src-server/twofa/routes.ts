import type { Context, Next } from 'koa'
import { z } from 'zod'
import { actorOf } from '../app'
import type { ApiRegistry } from '../http/api'
import { apiRoutes } from '../http/dispatch'
import { problemMiddleware } from '../http/problem'
import type { Logger } from '../log'
import type { ServerModule } from '../module'
import { appKeyOf } from './api-key'
import type { AuthenticatedApplication } from './applications'
import {
  ApplicationView,
  CreateApplication,
  CreatedApplication,
  CreateMessage,
  Id,
  MessageView,
  PinStatusView,
  SendPin,
  SendPinResponse,
  UpdateApplication,
  UsageView,
  VerifyPin,
  VerifyPinResponse,
} from './model'
import type { TwoFactorService } from './service'

const AppParams = z.object({ applicationId: Id })
const PinParams = z.object({ pinId: Id })

/**
 * The /2fa/ endpoints are called by merchants' servers, not the console: they skip the console middleware
 * (host guard, session, CSP) and get their own problem+json error handling here. They are still declared
 * on the shared registry, so they validate the same way and appear in the OpenAPI document.
 */
function pinApiMiddleware(api: ApiRegistry, log: Logger) {
  const problems = problemMiddleware(log)
  const routes = apiRoutes(api)
  return async (ctx: Context, next: Next) => {
    if (!ctx.path.startsWith('/2fa/')) return next()
    await problems(ctx, () => routes(ctx, () => Promise.resolve()))
    if (ctx.status === 401) ctx.set('WWW-Authenticate', 'App realm="2fa"')
    ctx.set('Cache-Control', 'no-store')
    ctx.set('X-Content-Type-Options', 'nosniff')
  }
}

const appOf = (ctx: Context) => ctx.state.twofaApplication as AuthenticatedApplication

function registerPinApi(api: ApiRegistry, twofa: TwoFactorService): void {
  const auth = {
    scheme: 'appKey',
    authenticate(ctx: Context) {
      ctx.state.twofaApplication = twofa.applications.authenticate(appKeyOf(ctx))
    },
  }
  api.route({
    method: 'post',
    path: '/2fa/v1/pin',
    summary: 'Send a PIN by SMS (limits: per phone number and per application; 429 with Retry-After)',
    tags: ['2fa pin api'],
    auth,
    body: SendPin,
    responses: { 200: SendPinResponse },
    handler: (ctx, { body }) => twofa.pins.send(appOf(ctx), body),
  })
  api.route({
    method: 'post',
    path: '/2fa/v1/pin/:pinId/verify',
    summary:
      'Verify a PIN. pinError: WRONG_PIN (attempts left), TTL_EXPIRED, NO_MORE_PIN_ATTEMPTS, PIN_ALREADY_USED; ' +
      'a terminal PIN answers the same whatever PIN is sent',
    tags: ['2fa pin api'],
    auth,
    params: PinParams,
    body: VerifyPin,
    responses: { 200: VerifyPinResponse },
    handler: (ctx, { params, body }) => twofa.pins.verify(appOf(ctx), params.pinId, body.pin),
  })
  api.route({
    method: 'post',
    path: '/2fa/v1/pin/:pinId/resend',
    summary: 'Send a new PIN under the same pinId (the previous PIN stops working; attempts carry over)',
    tags: ['2fa pin api'],
    auth,
    params: PinParams,
    responses: { 200: SendPinResponse },
    handler: (ctx, { params }) => twofa.pins.resend(appOf(ctx), params.pinId),
  })
  api.route({
    method: 'get',
    path: '/2fa/v1/pin/:pinId',
    summary: 'Where a PIN stands: PENDING, VERIFIED, TTL_EXPIRED or NO_MORE_PIN_ATTEMPTS',
    tags: ['2fa pin api'],
    auth,
    params: PinParams,
    responses: { 200: PinStatusView },
    handler: (ctx, { params }) => twofa.pins.status(appOf(ctx), params.pinId),
  })
}

function registerConsoleApi(api: ApiRegistry, twofa: TwoFactorService): void {
  const auth = { permission: 'twofa.manage' as const }
  const tags = ['2fa applications']
  api.route({
    method: 'post',
    path: '/api/2fa/applications',
    summary: 'Create a 2FA application; the answer holds its API key, shown this once only',
    tags,
    auth,
    body: CreateApplication,
    responses: { 201: CreatedApplication },
    handler(ctx, { body }) {
      ctx.status = 201
      return twofa.applications.create(body, actorOf(ctx))
    },
  })
  api.route({
    method: 'get',
    path: '/api/2fa/applications',
    summary: 'List 2FA applications',
    tags,
    auth,
    responses: { 200: z.array(ApplicationView) },
    handler: () => twofa.applications.list(),
  })
  api.route({
    method: 'get',
    path: '/api/2fa/applications/:applicationId',
    summary: 'One 2FA application',
    tags,
    auth,
    params: AppParams,
    responses: { 200: ApplicationView },
    handler: (_ctx, { params }) => twofa.applications.get(params.applicationId),
  })
  api.route({
    method: 'patch',
    path: '/api/2fa/applications/:applicationId',
    summary: 'Rename, change the configuration of, disable or re-enable an application',
    tags,
    auth,
    params: AppParams,
    body: UpdateApplication,
    responses: { 200: ApplicationView },
    handler: (ctx, { params, body }) => twofa.applications.update(params.applicationId, body, actorOf(ctx)),
  })
  api.route({
    method: 'post',
    path: '/api/2fa/applications/:applicationId/rotate-key',
    summary: 'Replace the API key (the old key stops working at once); the new key is shown this once only',
    tags,
    auth,
    params: AppParams,
    responses: { 200: z.object({ applicationId: z.string(), apiKey: z.string(), keyPrefix: z.string() }) },
    handler: (ctx, { params }) => twofa.applications.rotateKey(params.applicationId, actorOf(ctx)),
  })
  api.route({
    method: 'post',
    path: '/api/2fa/applications/:applicationId/messages',
    summary: 'Create a message template ({{pin}} and custom {{placeholders}})',
    tags,
    auth,
    params: AppParams,
    body: CreateMessage,
    responses: { 201: MessageView },
    handler(ctx, { params, body }) {
      ctx.status = 201
      return twofa.applications.createMessage(params.applicationId, body, actorOf(ctx))
    },
  })
  api.route({
    method: 'get',
    path: '/api/2fa/applications/:applicationId/messages',
    summary: 'Message templates of an application',
    tags,
    auth,
    params: AppParams,
    responses: { 200: z.array(MessageView) },
    handler: (_ctx, { params }) => twofa.applications.messages(params.applicationId),
  })
  api.route({
    method: 'get',
    path: '/api/2fa/applications/:applicationId/usage',
    summary: 'Usage statistics: PINs sent, verified, failed verifications, requests refused by a limit',
    tags,
    auth,
    params: AppParams,
    query: z.object({ days: z.coerce.number().int().min(1).max(366).default(30) }),
    responses: { 200: UsageView },
    handler(_ctx, { params, query }) {
      twofa.applications.get(params.applicationId)
      return twofa.usage.of(params.applicationId, query.days)
    },
  })
}

export const twofaModule: ServerModule = {
  name: 'twofa',
  register(api, { twofa, log }, app) {
    app.use(pinApiMiddleware(api, log))
    registerPinApi(api, twofa)
    registerConsoleApi(api, twofa)
  },
  // Stopped by services.close(): a module object is shared by every server in a process.
  start({ twofa }) {
    twofa.start()
  },
}
