import { z } from 'zod'
import { actorOf } from '../app'
import { HttpProblem } from '../http/problem'
import type { ServerModule } from '../module'
import { DEMO_CARDS, seedDemo } from './demo'
import { labEndpoints } from './merchant'
import { LabPurchases, PurchaseInput } from './three-ds-server'

const AppStep = z.object({
  action: z.enum(['start', 'code', 'resend', 'cancel', 'sdk-error']),
  code: z.string().max(45).optional(),
})

/**
 * The pilot lab: a built-in DS, 3DS Server, merchant checkout and app-SDK emulator driving our own ACS
 * endpoints over real HTTP. Used by the console's lab page, the pilot and the tests.
 */
export const labModule: ServerModule = {
  name: 'lab',
  register(api, services, app) {
    const purchases = new LabPurchases(services.db)
    app.use(labEndpoints(purchases))
    const roots = () =>
      ['visa', 'mastercard', 'amex', 'jcb', 'discover', 'unionpay'].flatMap(
        (b) => services.acs.keys.rootPem(b) ?? [],
      )

    api.route({
      method: 'post',
      path: '/api/lab/demo',
      summary:
        'Create the demo issuer, card ranges (all Visa and Mastercard BINs), keys, test PKI, rules and cardholders',
      tags: ['lab'],
      auth: { permission: 'issuers.manage' },
      responses: {
        200: z.object({
          issuerId: z.number(),
          created: z.boolean(),
          cards: z.array(
            z.object({
              pan: z.string(),
              name: z.string(),
              mobile: z.string(),
              method: z.string(),
              suspended: z.boolean(),
            }),
          ),
        }),
      },
      handler(ctx) {
        const r = seedDemo(services, actorOf(ctx))
        return {
          issuerId: r.issuerId,
          created: r.created,
          // Public scheme test numbers, shown so the lab page can offer them.
          cards: DEMO_CARDS.map((c) => ({
            pan: c.pan,
            name: c.name,
            mobile: c.mobile,
            method: c.method,
            suspended: 'suspended' in c,
          })),
        }
      },
    })
    api.route({
      method: 'post',
      path: '/api/lab/purchases',
      summary: 'Run a purchase through the lab 3DS Server and DS against this ACS (AReq over HTTP)',
      tags: ['lab'],
      auth: { permission: 'lab.use' },
      body: PurchaseInput,
      responses: {
        201: z.object({
          id: z.string(),
          acsTransID: z.string().optional(),
          areq: z.record(z.string(), z.unknown()),
          ares: z.record(z.string(), z.unknown()),
          creq: z.string().optional(),
          threeDSSessionData: z.string().optional(),
          checkoutUrl: z.string().optional(),
        }),
      },
      async handler(ctx, { body }) {
        const origin = `${ctx.protocol}://${ctx.host}`
        const p = await purchases.create(body, origin, origin, roots)
        ctx.status = 201
        return {
          id: p.id,
          acsTransID: p.acsTransID,
          areq: p.areq,
          ares: p.ares,
          creq: p.creq,
          threeDSSessionData: p.threeDSSessionData,
          checkoutUrl: p.creq ? `/lab/merchant/checkout/${p.id}` : undefined,
        }
      },
    })
    api.route({
      method: 'get',
      path: '/api/lab/purchases/:id',
      summary: 'A lab purchase: ARes, the CRes its merchant received, the RReqs its DS received',
      tags: ['lab'],
      auth: { permission: 'lab.use' },
      params: z.object({ id: z.uuid() }),
      responses: { 200: z.record(z.string(), z.unknown()) },
      handler(_ctx, { params }) {
        const p = purchases.get(params.id)
        if (!p) throw new HttpProblem(404, 'Not found', 'No lab purchase with this id')
        return p
      },
    })
    api.route({
      method: 'post',
      path: '/api/lab/purchases/:id/app',
      summary:
        'Drive the app-SDK emulator of an app purchase: first CReq, code entry, resend, cancel or an SDK error',
      tags: ['lab'],
      auth: { permission: 'lab.use' },
      params: z.object({ id: z.uuid() }),
      body: AppStep,
      responses: {
        200: z.object({ httpStatus: z.number(), message: z.record(z.string(), z.unknown()).optional() }),
      },
      async handler(_ctx, { params, body }) {
        const sdk = purchases.sdkOf(params.id)
        if (!sdk)
          throw new HttpProblem(
            404,
            'Not found',
            'No app challenge in progress for this purchase (the emulator lives in memory)',
          )
        const r =
          body.action === 'sdk-error'
            ? await sdk.sendErro()
            : await sdk.send(
                body.action === 'code'
                  ? { challengeDataEntry: body.code ?? '' }
                  : body.action === 'resend'
                    ? { resendChallenge: 'Y' }
                    : body.action === 'cancel'
                      ? { challengeCancel: '01' }
                      : {},
              )
        return { httpStatus: r.httpStatus, ...(r.message ? { message: r.message } : {}) }
      },
    })
  },
}
