import type { Context } from 'koa'
import { z } from 'zod'
import { actorOf } from '../app'
import type { ApiRegistry } from '../http/api'
import type { ServerModule } from '../module'
import { appKeyOf } from '../twofa/api-key'
import type { AuthenticatedClient } from './clients'
import {
  AuthRequestView,
  ChannelClientView,
  CreateAuthRequest,
  CreateChannelClient,
  CreatedChannelClient,
  UpdateChannelClient,
  Verify,
} from './model'
import type { ChannelService } from './service'

const RequestParams = z.object({ id: z.uuid('an authentication request id') })
const ClientParams = z.object({ clientId: z.string().regex(/^[0-9A-F]{32}$/, 'a client id') })
const clientOf = (ctx: Context) => ctx.state.channelClient as AuthenticatedClient

function registerClientApi(api: ApiRegistry, channels: ChannelService): void {
  const auth = {
    scheme: 'appKey',
    authenticate(ctx: Context) {
      ctx.state.channelClient = channels.clients.authenticate(appKeyOf(ctx))
    },
  }
  const tags = ['channel authentication']
  api.route({
    method: 'post',
    path: '/api/v1/auth-requests',
    summary:
      'Start a cardholder authentication for a MOTO, EDC or ECOM payment (pan or cardReference); 201, or 200 ' +
      'with the existing request when clientReference repeats',
    tags,
    auth,
    body: CreateAuthRequest,
    responses: { 201: AuthRequestView, 200: AuthRequestView },
    handler(ctx, { body }) {
      const { created, view } = channels.requests.create(clientOf(ctx), body)
      ctx.status = created ? 201 : 200
      return view
    },
  })
  api.route({
    method: 'get',
    path: '/api/v1/auth-requests/:id',
    summary: 'Where an authentication request stands: pending, authenticated, failed, refused or expired',
    tags,
    auth,
    params: RequestParams,
    responses: { 200: AuthRequestView },
    handler: (ctx, { params }) => channels.requests.get(clientOf(ctx), params.id),
  })
  api.route({
    method: 'post',
    path: '/api/v1/auth-requests/:id/verify',
    summary: 'The code the cardholder read to the agent (MOTO) or keyed on the terminal (EDC)',
    tags,
    auth,
    params: RequestParams,
    body: Verify,
    responses: { 200: AuthRequestView },
    handler: (ctx, { params, body }) => channels.requests.verify(clientOf(ctx), params.id, body.code),
  })
  api.route({
    method: 'post',
    path: '/api/v1/auth-requests/:id/resend',
    summary: 'Send the challenge again when the method allows it',
    tags,
    auth,
    params: RequestParams,
    responses: { 200: AuthRequestView },
    handler: (ctx, { params }) => channels.requests.resend(clientOf(ctx), params.id),
  })
}

function registerConsoleApi(api: ApiRegistry, channels: ChannelService): void {
  // Channel clients are API clients of the same kind as 2FA applications: managed under the same permission.
  const auth = { permission: 'twofa.manage' as const }
  const tags = ['channel clients']
  api.route({
    method: 'post',
    path: '/api/channel-clients',
    summary: 'Create a channel client; the answer holds its API key and webhook secret, shown this once only',
    tags,
    auth,
    body: CreateChannelClient,
    responses: { 201: CreatedChannelClient },
    handler(ctx, { body }) {
      ctx.status = 201
      return channels.clients.create(body, actorOf(ctx))
    },
  })
  api.route({
    method: 'get',
    path: '/api/channel-clients',
    summary: 'List channel clients',
    tags,
    auth,
    responses: { 200: z.array(ChannelClientView) },
    handler: () => channels.clients.list(),
  })
  api.route({
    method: 'patch',
    path: '/api/channel-clients/:clientId',
    summary: 'Rename, change channels or webhook URL, disable or re-enable a channel client',
    tags,
    auth,
    params: ClientParams,
    body: UpdateChannelClient,
    responses: { 200: ChannelClientView },
    handler: (ctx, { params, body }) => channels.clients.update(params.clientId, body, actorOf(ctx)),
  })
  for (const what of ['api-key', 'webhook-secret'] as const) {
    api.route({
      method: 'post',
      path: `/api/channel-clients/:clientId/rotate-${what}`,
      summary: `Replace the ${what.replace('-', ' ')} (the old one stops working at once); shown this once only`,
      tags,
      auth,
      params: ClientParams,
      responses: { 200: z.object({ clientId: z.string(), secret: z.string() }) },
      handler: (ctx, { params }) => channels.clients.rotate(params.clientId, what, actorOf(ctx)),
    })
  }
}

export const channelsModule: ServerModule = {
  name: 'channels',
  register(api, { channels }) {
    registerClientApi(api, channels)
    registerConsoleApi(api, channels)
  },
  // Stopped by services.close(), like the other capabilities with background work.
  start({ channels }) {
    channels.start()
  },
}
