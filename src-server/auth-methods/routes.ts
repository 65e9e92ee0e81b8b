import { z } from 'zod'
import { actorOf } from '../app'
import type { ServerModule } from '../module'
import { MethodSettings } from './settings'

const IssuerId = z.object({ issuerId: z.coerce.number().int().positive() })
const Effective = z.object({
  otpLength: z.number(),
  otpTtlSeconds: z.number(),
  maxAttempts: z.number(),
  maxResends: z.number(),
  referenceLength: z.number(),
  replyNumber: z.string().optional(),
  dongleAnswer: z.enum(['entry', 'sms']),
})

/** Per-issuer settings of the authentication methods (overrides of the ACS settings). */
export const authMethodsModule: ServerModule = {
  name: 'auth-methods',
  register(api, { acs, issuers }) {
    api.route({
      method: 'get',
      path: '/api/auth-methods/settings/:issuerId',
      summary: "An issuer's method settings: its own overrides and the values in effect",
      tags: ['auth methods'],
      auth: { permission: 'settings.manage' },
      params: IssuerId,
      responses: { 200: z.object({ overrides: MethodSettings, effective: Effective }) },
      handler: (_ctx, { params }) => {
        issuers.getIssuer(params.issuerId)
        return {
          overrides: acs.methodSettings.stored(params.issuerId),
          effective: acs.methodSettings.effective(params.issuerId),
        }
      },
    })
    api.route({
      method: 'put',
      path: '/api/auth-methods/settings/:issuerId',
      summary:
        "Replace an issuer's overrides (code length, expiry, attempts, reference length, dongle answer)",
      tags: ['auth methods'],
      auth: { permission: 'settings.manage' },
      params: IssuerId,
      body: MethodSettings,
      responses: { 200: z.object({ overrides: MethodSettings, effective: Effective }) },
      handler: (ctx, { params, body }) => {
        issuers.getIssuer(params.issuerId)
        return {
          overrides: acs.methodSettings.replace(params.issuerId, body, actorOf(ctx)),
          effective: acs.methodSettings.effective(params.issuerId),
        }
      },
    })
  },
}
