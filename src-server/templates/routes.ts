import { z } from 'zod'
import { actorOf } from '../app'
import type { ServerModule } from '../module'
import { KIND_RULES, MAX_TEMPLATE_LENGTH, PLACEHOLDERS, TEMPLATE_KINDS } from './model'
import { sampleValues } from './store'

const Kind = z.enum(TEMPLATE_KINDS)
const Language = z.string().regex(/^[a-z]{2}$/, 'a two-letter language code (ISO 639-1), e.g. en')
const Template = z.object({
  issuerId: z.number(),
  kind: Kind,
  language: z.string(),
  text: z.string(),
  custom: z.boolean(),
  updatedAt: z.string().optional(),
  updatedBy: z.string().optional(),
})
const Key = z.object({ issuerId: z.coerce.number().int().positive(), kind: Kind, language: Language })
const Preview = z.object({
  text: z.string(),
  problems: z.array(z.string()),
  encoding: z.enum(['gsm7', 'ucs2']),
  units: z.number(),
  segments: z.number(),
  unitsPerSegment: z.number(),
})

/** SMS templates per issuer and language, with validation and a cost preview (alphabet and SMS parts). */
export const templatesModule: ServerModule = {
  name: 'templates',
  register(api, { templates, issuers, acs }) {
    api.route({
      method: 'get',
      path: '/api/templates/kinds',
      summary: 'Template kinds, their placeholders and rules',
      tags: ['templates'],
      auth: { permission: 'sms.read' },
      responses: {
        200: z.array(
          z.object({
            kind: Kind,
            summary: z.string(),
            required: z.array(z.string()),
            forbidden: z.array(z.string()),
            placeholders: z.array(z.string()),
          }),
        ),
      },
      handler: () =>
        TEMPLATE_KINDS.map((kind) => ({
          kind,
          summary: KIND_RULES[kind].summary,
          required: [...KIND_RULES[kind].required],
          forbidden: [...KIND_RULES[kind].forbidden],
          placeholders: [...PLACEHOLDERS],
        })),
    })
    api.route({
      method: 'get',
      path: '/api/templates/:issuerId',
      summary: 'The texts an issuer sends, per kind and language (built-in unless customised)',
      tags: ['templates'],
      auth: { permission: 'sms.read' },
      params: z.object({ issuerId: z.coerce.number().int().positive() }),
      responses: { 200: z.array(Template) },
      handler: (_ctx, { params }) => {
        issuers.getIssuer(params.issuerId)
        return templates.list(params.issuerId)
      },
    })
    api.route({
      method: 'put',
      path: '/api/templates/:issuerId/:kind/:language',
      summary:
        'Store an issuer template (validated: known placeholders, required parts, the code after "code")',
      tags: ['templates'],
      auth: { permission: 'sms.manage' },
      params: Key,
      body: z.object({ text: z.string().max(MAX_TEMPLATE_LENGTH) }),
      responses: { 200: Template },
      handler: (ctx, { params, body }) => {
        issuers.getIssuer(params.issuerId)
        return templates.save(params.issuerId, params.kind, params.language, body.text, actorOf(ctx))
      },
    })
    api.route({
      method: 'delete',
      path: '/api/templates/:issuerId/:kind/:language',
      summary: 'Go back to the built-in text',
      tags: ['templates'],
      auth: { permission: 'sms.manage' },
      params: Key,
      responses: { 204: null },
      handler: (ctx, { params }) => {
        issuers.getIssuer(params.issuerId)
        templates.reset(params.issuerId, params.kind, params.language, actorOf(ctx))
        ctx.status = 204
      },
    })
    api.route({
      method: 'post',
      path: '/api/templates/preview',
      summary:
        'Render a template with sample values and report its alphabet (GSM-7 or UCS-2) and number of SMS parts',
      tags: ['templates'],
      auth: { permission: 'sms.read' },
      body: z.object({
        kind: Kind,
        text: z.string().max(MAX_TEMPLATE_LENGTH),
        issuerId: z.number().int().positive().optional(),
      }),
      responses: { 200: Preview },
      handler: (_ctx, { body }) =>
        templates.preview(
          body.kind,
          body.text,
          sampleValues(acs.methodSettings.effective(body.issuerId).otpLength),
        ),
    })
  },
}
