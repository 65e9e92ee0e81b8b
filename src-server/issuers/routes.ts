import { z } from 'zod'
import { actorOf } from '../app'
import type { ServerModule } from '../module'
import { AuthValueConfig, CardRange, CardRangeInput, Issuer, IssuerInput } from './model'

const Id = z.object({ id: z.coerce.number().int().positive() })

export const issuersModule: ServerModule = {
  name: 'issuers',
  register(api, { issuers }) {
    const publicRange = ({ low: _low, high: _high, ...r }: ReturnType<typeof issuers.getRange>) => r
    api.route({
      method: 'get',
      path: '/api/issuers',
      summary: 'List issuers',
      tags: ['issuers'],
      auth: { permission: 'cardholders.read' },
      responses: { 200: z.array(Issuer) },
      handler: () => issuers.listIssuers(),
    })
    api.route({
      method: 'post',
      path: '/api/issuers',
      summary: 'Create an issuer',
      tags: ['issuers'],
      auth: { permission: 'issuers.manage' },
      body: IssuerInput,
      responses: { 201: Issuer },
      handler(ctx, { body }) {
        ctx.status = 201
        return issuers.createIssuer(body, actorOf(ctx))
      },
    })
    api.route({
      method: 'patch',
      path: '/api/issuers/:id',
      summary: 'Change an issuer (name, ACS reference number, branding)',
      tags: ['issuers'],
      auth: { permission: 'issuers.manage' },
      params: Id,
      body: IssuerInput.partial(),
      responses: { 200: Issuer },
      handler: (ctx, { params, body }) => issuers.updateIssuer(params.id, body, actorOf(ctx)),
    })
    api.route({
      method: 'get',
      path: '/api/card-ranges',
      summary: 'List card ranges',
      tags: ['issuers'],
      auth: { permission: 'cardholders.read' },
      query: z.object({ issuerId: z.coerce.number().int().positive().optional() }),
      responses: { 200: z.array(CardRange) },
      handler: (_ctx, { query }) => issuers.listRanges(query.issuerId).map(publicRange),
    })
    api.route({
      method: 'post',
      path: '/api/card-ranges',
      summary: 'Create a card range (BIN prefixes, brand, authentication-value generator)',
      tags: ['issuers'],
      auth: { permission: 'issuers.manage' },
      body: CardRangeInput,
      responses: { 201: CardRange },
      handler(ctx, { body }) {
        ctx.status = 201
        return publicRange(issuers.createRange(body, actorOf(ctx)))
      },
    })
    api.route({
      method: 'patch',
      path: '/api/card-ranges/:id',
      summary:
        'Enable or disable a card range, or replace how it computes authentication values (generator, key indicator, ECI table)',
      tags: ['issuers'],
      auth: { permission: 'issuers.manage' },
      params: Id,
      body: z
        .object({ status: z.enum(['active', 'disabled']), authValue: AuthValueConfig })
        .partial()
        .refine((b) => b.status !== undefined || b.authValue !== undefined, 'status or authValue'),
      responses: { 200: CardRange },
      handler(ctx, { params, body }) {
        if (body.authValue) issuers.setRangeAuthValue(params.id, body.authValue, actorOf(ctx))
        if (body.status) issuers.setRangeStatus(params.id, body.status, actorOf(ctx))
        return publicRange(issuers.getRange(params.id))
      },
    })
  },
}
