import { z } from 'zod'
import { actorOf } from '../app'
import type { ServerModule } from '../module'
import { FraudSettings } from './settings'

const ReportStatus = z.enum(['open', 'confirmed', 'released', 'closed'])
const FraudReport = z.object({
  id: z.number(),
  status: ReportStatus,
  issuerId: z.number(),
  cardId: z.number(),
  panMasked: z.string(),
  cardStatus: z.string(),
  reference: z.string(),
  acsTransID: z.string(),
  merchantName: z.string().optional(),
  amount: z.string().optional(),
  authenticatedAt: z.string(),
  receivedAt: z.string(),
  suspendedAt: z.string(),
  updatedAt: z.string(),
  updatedBy: z.string().optional(),
  note: z.string().optional(),
})
const FraudSettingsView = FraudSettings.extend({ webhookSecretSet: z.boolean() })
const WebhookDelivery = z.object({
  id: z.number(),
  eventId: z.string(),
  issuerId: z.number(),
  url: z.string(),
  type: z.string(),
  status: z.string(),
  attempts: z.number(),
  lastError: z.string().optional(),
  lastHttpStatus: z.number().optional(),
  createdAt: z.string(),
  deliveredAt: z.string().optional(),
})
const IssuerId = z.object({ issuerId: z.coerce.number().int().positive() })
const Note = z.object({ note: z.string().trim().min(1).max(500).optional() })

/** The fraud queue, the notification policy and the issuer webhook. */
export const fraudModule: ServerModule = {
  name: 'fraud',
  register(api, { fraud, issuers }) {
    api.route({
      method: 'get',
      path: '/api/fraud/reports',
      summary: 'Fraud reports from cardholders (FRAUD SMS replies), newest first',
      tags: ['fraud'],
      auth: { permission: 'fraud.read' },
      query: z.object({
        status: ReportStatus.optional(),
        before: z.coerce.number().int().positive().optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      responses: { 200: z.array(FraudReport) },
      handler: (_ctx, { query }) => fraud.list(query),
    })
    for (const action of ['confirm', 'release', 'close'] as const)
      api.route({
        method: 'post',
        path: `/api/fraud/reports/:id/${action}`,
        summary:
          action === 'confirm'
            ? 'Confirm the fraud (the card stays suspended)'
            : action === 'release'
              ? 'Release: not fraud after all; the suspended card is reactivated'
              : 'Close the report',
        tags: ['fraud'],
        auth: { permission: 'fraud.manage' },
        params: z.object({ id: z.coerce.number().int().positive() }),
        body: action === 'release' ? Note.required() : Note,
        responses: { 200: FraudReport },
        handler: (ctx, { params, body }) => fraud.act(params.id, action, body.note, actorOf(ctx)),
      })
    api.route({
      method: 'get',
      path: '/api/fraud/settings/:issuerId',
      summary: 'Fraud notification policy and webhook of an issuer (the secret is never shown)',
      tags: ['fraud'],
      auth: { permission: 'fraud.read' },
      params: IssuerId,
      responses: { 200: FraudSettingsView },
      handler: (_ctx, { params }) => {
        issuers.getIssuer(params.issuerId)
        return fraud.settings.view(params.issuerId)
      },
    })
    api.route({
      method: 'put',
      path: '/api/fraud/settings/:issuerId',
      summary: 'Set the notification policy (all, challenged, above-amount, off) and the webhook URL',
      tags: ['fraud'],
      auth: { permission: 'settings.manage' },
      params: IssuerId,
      body: FraudSettings,
      responses: { 200: FraudSettingsView },
      handler: (ctx, { params, body }) => {
        issuers.getIssuer(params.issuerId)
        return fraud.settings.update(params.issuerId, body, actorOf(ctx))
      },
    })
    api.route({
      method: 'post',
      path: '/api/fraud/settings/:issuerId/webhook-secret',
      summary: 'Generate a new webhook signing secret; it is returned this once only',
      tags: ['fraud'],
      auth: { permission: 'settings.manage' },
      params: IssuerId,
      responses: { 201: z.object({ secret: z.string() }) },
      handler: (ctx, { params }) => {
        issuers.getIssuer(params.issuerId)
        ctx.status = 201
        return { secret: fraud.settings.rotateSecret(params.issuerId, actorOf(ctx)) }
      },
    })
    api.route({
      method: 'get',
      path: '/api/fraud/webhooks',
      summary: 'Webhook deliveries to issuer hosts, newest first',
      tags: ['fraud'],
      auth: { permission: 'fraud.read' },
      query: z.object({
        status: z.enum(['pending', 'sending', 'delivered', 'failed']).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      responses: { 200: z.array(WebhookDelivery) },
      handler: (_ctx, { query }) => fraud.webhooks.list(query),
    })
  },
  start({ fraud }) {
    fraud.start()
  },
}
