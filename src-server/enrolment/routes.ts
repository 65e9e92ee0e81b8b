import { z } from 'zod'
import { actorOf } from '../app'
import { HttpProblem } from '../http/problem'
import type { ServerModule } from '../module'
import { maskPan } from '../crypto/mask'
import { invalidLines } from './importer'
import { AuthMethod, CardholderView, EnrolmentLine, Language, Mobile, Pan, Status } from './model'

const Id = z.object({ id: z.coerce.number().int().positive() })
const LineError = z.object({ line: z.number(), field: z.string().optional(), message: z.string() })
const Job = z.object({
  id: z.number(),
  source: z.string(),
  status: z.enum(['importing', 'done', 'failed', 'rejected']),
  skipInvalid: z.boolean(),
  totalLines: z.number(),
  processedLines: z.number(),
  inserted: z.number(),
  updated: z.number(),
  skipped: z.number(),
  errors: z.array(LineError),
  createdBy: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().optional(),
  resumed: z.boolean().optional(),
})
const Reason = z.string().trim().min(3, 'say why, in a few words').max(500)

export const enrolmentModule: ServerModule = {
  name: 'enrolment',
  register(api, { cardholders, enrolment, config }) {
    api.route({
      method: 'post',
      path: '/api/enrolments',
      summary:
        'Mass enrolment from CSV (header pan,expiry,name,mobile,email,language,method). Nothing is imported when a line is invalid unless skipInvalid=true; dryRun=true only validates.',
      tags: ['enrolment'],
      auth: { permission: 'enrolment.import' },
      body: z.string(),
      bodyFormat: 'text',
      bodyLimit: config.uploadBytes,
      query: z.object({
        skipInvalid: z.stringbool().default(false),
        dryRun: z.stringbool().default(false),
        source: z.string().max(200).default('upload.csv'),
      }),
      responses: {
        202: Job,
        200: z.object({
          lines: z.number(),
          valid: z.number(),
          /** Lines with at least one error. */
          invalid: z.number(),
          /** All the errors found; `errors` lists the first 1,000. */
          errorCount: z.number(),
          errors: z.array(LineError),
          preview: z.array(z.record(z.string(), z.string())),
        }),
        422: null,
      },
      handler(ctx, { body, query }) {
        if (!ctx.is('text/csv', 'text/plain')) {
          throw new HttpProblem(415, 'Unsupported media type', 'Send the file as text/csv')
        }
        if (query.dryRun) {
          const report = enrolment.validate(body)
          return {
            lines: report.lines,
            valid: report.valid.length,
            invalid: invalidLines(report),
            errorCount: report.errors.length,
            errors: report.errors.slice(0, 1000),
            preview: report.valid.slice(0, 10).map(({ line, data }) => ({
              line: String(line),
              card: maskPan(data.pan),
              expiry: data.expiry,
              name: data.name,
              mobile: data.mobile ?? '',
              email: data.email ?? '',
              language: data.language,
              method: data.method,
            })),
          }
        }
        const { job, report } = enrolment.start(body, {
          source: query.source,
          skipInvalid: query.skipInvalid,
          actor: actorOf(ctx),
          yieldBetweenBatches: true,
        })
        if (job.status === 'rejected') {
          throw new HttpProblem(
            422,
            'Invalid enrolment file',
            `${invalidLines(report)} line(s) are invalid; nothing was imported`,
            {
              errors: report.errors
                .slice(0, 1000)
                .map((e) => ({ path: `line ${e.line}${e.field ? `.${e.field}` : ''}`, message: e.message })),
            },
          )
        }
        ctx.status = 202
        ctx.set('Location', `/api/enrolments/${job.id}`)
        return job
      },
    })
    api.route({
      method: 'get',
      path: '/api/enrolments',
      summary: 'Enrolment history',
      tags: ['enrolment'],
      auth: { permission: 'cardholders.read' },
      responses: { 200: z.array(Job) },
      handler: () => enrolment.jobs(),
    })
    api.route({
      method: 'get',
      path: '/api/enrolments/:id',
      summary: 'One enrolment run: progress, counts and errors',
      tags: ['enrolment'],
      auth: { permission: 'cardholders.read' },
      params: Id,
      responses: { 200: Job },
      handler(_ctx, { params }) {
        const job = enrolment.job(params.id)
        if (!job) throw new HttpProblem(404, 'Not found', `No enrolment run ${params.id}`)
        return job
      },
    })
    api.route({
      method: 'post',
      path: '/api/cardholders',
      summary: 'Enrol one card (creates the cardholder, or updates it when the PAN is enrolled)',
      tags: ['cardholders'],
      auth: { permission: 'cardholders.write' },
      body: EnrolmentLine,
      responses: { 201: CardholderView },
      handler(ctx, { body }) {
        ctx.status = 201
        return cardholders.enrolOne(body, actorOf(ctx))
      },
    })
    api.route({
      method: 'get',
      path: '/api/cardholders',
      summary: 'Search cardholders by full PAN, last four digits, mobile number or name prefix',
      tags: ['cardholders'],
      auth: { permission: 'cardholders.read' },
      query: z.object({
        pan: Pan.optional(),
        last4: z
          .string()
          .regex(/^\d{4}$/)
          .optional(),
        mobile: Mobile.optional(),
        name: z.string().trim().min(1).max(100).optional(),
        after: z.coerce.number().int().min(0).optional(),
        limit: z.coerce.number().int().min(1).max(200).default(50),
      }),
      responses: { 200: z.object({ items: z.array(CardholderView), nextAfter: z.number().optional() }) },
      handler(_ctx, { query }) {
        // One more than asked: a next page is offered only when there is one (a full last page is not).
        const found = cardholders.search({ ...query, limit: query.limit + 1 })
        const items = found.slice(0, query.limit)
        return { items, nextAfter: found.length > query.limit ? items[items.length - 1].id : undefined }
      },
    })
    api.route({
      method: 'get',
      path: '/api/cardholders/:id',
      summary: 'A cardholder with their cards',
      tags: ['cardholders'],
      auth: { permission: 'cardholders.read' },
      params: Id,
      responses: { 200: CardholderView },
      handler: (_ctx, { params }) => cardholders.get(params.id),
    })
    api.route({
      method: 'patch',
      path: '/api/cardholders/:id',
      summary: 'Change a cardholder’s mobile number, method, language or status, with a reason (audited)',
      tags: ['cardholders'],
      auth: { permission: 'cardholders.write' },
      params: Id,
      body: z
        .object({ mobile: Mobile, email: z.email(), method: AuthMethod, language: Language, status: Status })
        .partial()
        .extend({ reason: Reason }),
      responses: { 200: CardholderView },
      handler: (ctx, { params, body }) => cardholders.update(params.id, body, actorOf(ctx)),
    })
    api.route({
      method: 'put',
      path: '/api/cards/:id/status',
      summary: 'Set a card’s status (active, suspended, blocked, closed) with a reason (audited)',
      tags: ['cardholders'],
      auth: { permission: 'cardholders.write' },
      params: Id,
      body: z.object({ status: Status, reason: Reason }),
      responses: { 204: null },
      handler(ctx, { params, body }) {
        cardholders.setCardStatus(params.id, body.status, body.reason, actorOf(ctx))
        ctx.status = 204
      },
    })
  },
}
