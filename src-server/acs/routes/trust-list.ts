import { z } from 'zod'
import { actorOf } from '../../app'
import type { ApiRegistry } from '../../http/api'
import type { Services } from '../../services'
import { TrustedMerchantAdd, TrustedMerchantRemoval, TrustedMerchantView } from '../trust-list/contract'

const CardholderId = z.object({ id: z.coerce.number().int().positive() })
const Entry = CardholderId.extend({ entryId: z.coerce.number().int().positive() })

/** Console API of the ACS trust list: a cardholder's trusted merchants, added or removed with a reason (audited). */
export function registerTrustListRoutes(api: ApiRegistry, { acs, cardholders }: Services): void {
  api.route({
    method: 'get',
    path: '/api/cardholders/:id/trusted-merchants',
    summary: 'Merchants the cardholder trusts (no challenge when the rule set says so), newest first',
    tags: ['cardholders', 'acs'],
    auth: { permission: 'cardholders.read' },
    params: CardholderId,
    query: z.object({ includeRemoved: z.stringbool().default(false) }),
    responses: { 200: z.array(TrustedMerchantView) },
    handler(_ctx, { params, query }) {
      cardholders.get(params.id) // 404 for an unknown cardholder rather than an empty list
      return acs.trustList.forCardholder(params.id, query.includeRemoved)
    },
  })
  api.route({
    method: 'post',
    path: '/api/cardholders/:id/trusted-merchants',
    summary:
      'Trust the merchant of one of the cardholder’s authentications for its card, at the cardholder’s request (audited)',
    tags: ['cardholders', 'acs'],
    auth: { permission: 'cardholders.write' },
    params: CardholderId,
    body: TrustedMerchantAdd,
    responses: { 201: TrustedMerchantView },
    handler(ctx, { params, body }) {
      ctx.status = 201
      return acs.trustList.addFromAuthentication(params.id, body.acsTransID, body.reason, actorOf(ctx))
    },
  })
  api.route({
    method: 'delete',
    path: '/api/cardholders/:id/trusted-merchants/:entryId',
    summary: 'Remove a trusted merchant, with a reason (audited; the entry is kept as removed)',
    tags: ['cardholders', 'acs'],
    auth: { permission: 'cardholders.write' },
    params: Entry,
    body: TrustedMerchantRemoval,
    responses: { 200: TrustedMerchantView },
    handler: (ctx, { params, body }) =>
      acs.trustList.remove(params.id, params.entryId, body.reason, actorOf(ctx)),
  })
}
