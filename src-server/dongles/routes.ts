import { Readable } from 'node:stream'
import type { Context } from 'koa'
import { z } from 'zod'
import { ApproverCredentials } from '../operators/credentials'
import { actorOf, sessionOf } from '../app'
import { readRawBody } from '../http/body'
import { badRequest, HttpProblem, notFound } from '../http/problem'
import type { ServerModule } from '../module'
import { can } from '../operators/permissions'
import type { Services } from '../services'
import { openEventStream } from './events'
import { renderTokenLabel } from './label'
import {
  BenchRunView,
  CardholderToken,
  Code,
  DonglePage,
  DongleQuery,
  DongleView,
  ImportFormat,
  ImportJob,
  ProgrammerView,
  Reason,
  Serial,
  SlotParams,
  VerifyOutcome,
} from './model'
import { exportPskcChunks } from './pskc/export'
import type { ProgrammerManagerOptions } from './programmers'

const BySerial = z.object({ serial: Serial })
const ById = z.object({ id: z.coerce.number().int().positive() })
const Tags = ['dongles']

/** The multipart fields of an import; the password and key are used for this request only, never logged. */
const ImportFields = z.object({
  format: ImportFormat.optional(),
  batch: z.string().trim().min(1).max(200).optional(),
  password: z.string().min(1).max(1024).optional(),
  key: z
    .string()
    .regex(/^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{48}|[0-9a-fA-F]{64})$/, 'a 128-, 192- or 256-bit key in hex')
    .optional(),
})

async function readImportForm(ctx: Context, limit: number) {
  const type = ctx.get('content-type')
  if (!/^multipart\/form-data;/i.test(type)) {
    throw new HttpProblem(
      415,
      'Unsupported media type',
      'Send the file as multipart/form-data (field "file")',
    )
  }
  const raw = await readRawBody(ctx, limit)
  let form: FormData
  try {
    // The WHATWG multipart parser built into Node (undici), fed the bytes we have already size-checked.
    form = await new Request('http://upload.invalid/', {
      method: 'POST',
      headers: { 'content-type': type },
      body: new Blob([new Uint8Array(raw)]),
    }).formData()
  } catch {
    throw badRequest('The multipart body cannot be read')
  }
  const file = form.get('file')
  if (!(file instanceof Blob)) throw badRequest('No "file" field in the form')
  const text = (name: string) => {
    const v = form.get(name)
    return typeof v === 'string' && v !== '' ? v : undefined
  }
  const fields = ImportFields.safeParse({
    format: text('format'),
    batch: text('batch'),
    password: text('password'),
    key: text('key'),
  })
  if (!fields.success) {
    throw new HttpProblem(400, 'Validation failed', 'The import form has invalid fields', {
      errors: fields.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    })
  }
  if (fields.data.password && fields.data.key) throw badRequest('Give a password or a key, not both')
  return {
    name: (file as File).name || 'upload',
    bytes: new Uint8Array(await file.arrayBuffer()),
    ...fields.data,
  }
}

/**
 * The dongle capability's HTTP side. `hardware` is what the server's start opens (tests pass the simulated USB
 * bus through it).
 */
export function createDonglesModule(hardware: ProgrammerManagerOptions = {}): ServerModule {
  let started: Services | undefined
  return {
    name: 'dongles',
    register(api, services) {
      const { dongles, config } = services
      const { inventory, importer, programmers, bench, tickets, events } = dongles

      api.route({
        method: 'get',
        path: '/api/dongles',
        summary:
          'The token inventory, filtered (state, kind, batch, serial prefix, cardholder) and keyset-paged by serial',
        tags: Tags,
        auth: { permission: 'dongles.read' },
        query: DongleQuery,
        responses: { 200: DonglePage },
        handler: (_ctx, { query }) => inventory.list(query),
      })
      api.route({
        method: 'get',
        path: '/api/dongles/tokens/:serial',
        summary: 'One token: parameters, state, assignment and token state (never the seed)',
        tags: Tags,
        auth: { permission: 'dongles.read' },
        params: BySerial,
        responses: { 200: DongleView },
        handler: (_ctx, { params }) => inventory.get(params.serial),
      })
      api.route({
        method: 'get',
        path: '/api/dongles/tokens/:serial/label',
        summary: 'The token’s label as a PDF (serial, model, QR code of the serial)',
        tags: Tags,
        auth: { permission: 'dongles.read' },
        params: BySerial,
        responses: { 200: null },
        async handler(ctx, { params }) {
          const t = inventory.get(params.serial)
          const pdf = await renderTokenLabel({
            serial: t.serial,
            model: t.model ?? `OATH ${t.kind.toUpperCase()}`,
            manufacturer: t.manufacturer,
          })
          ctx.type = 'application/pdf'
          ctx.attachment(`label-${t.serial}.pdf`)
          return pdf
        },
      })

      /**
       * `dongles.service` is customer service's: it may act only on a cardholder's token (assigned, locked, or
       * lost / replaced and kept for the history), never on stock, which is bench work (`dongles.manage`). To
       * customer service a token in stock does not exist (the same 404 as an unknown serial, so serials in stock
       * cannot be probed), and a token is shown as the cardholder panel shows it (CardholderToken: no counter,
       * drift or batch). The check and the action run in one synchronous turn: nothing moves the token between.
       */
      const customerService = (ctx: Context) => !can(sessionOf(ctx).operator.role, 'dongles.manage')
      const requireCardholderToken = (serial: string) => {
        if (inventory.get(serial).cardholderId === undefined)
          throw notFound(`No token with serial ${serial} in the inventory`)
      }
      const action = <B>(
        permission: 'dongles.manage' | 'dongles.service',
        name: string,
        summary: string,
        body: z.ZodType<B>,
        run: (serial: string, body: B, actor: string) => unknown,
        response: z.ZodType = DongleView,
      ) =>
        api.route({
          method: 'post',
          path: `/api/dongles/tokens/:serial/${name}`,
          summary,
          tags: Tags,
          auth: { permission },
          params: BySerial,
          body,
          responses: {
            200:
              permission === 'dongles.service' && response === DongleView
                ? z.union([DongleView, CardholderToken])
                : response,
          },
          handler(ctx, { params, body: b }) {
            const service = permission === 'dongles.service' && customerService(ctx)
            if (service) requireCardholderToken(params.serial)
            const result = run(params.serial, b, actorOf(ctx))
            return service && response === DongleView ? inventory.cardholderToken(params.serial) : result
          },
        })
      // Inventory work (bench staff, admins): which token a cardholder holds.
      action(
        'dongles.manage',
        'assign',
        'Assign a token in stock to a cardholder (by serial, typed or scanned); audited',
        z.object({ cardholderId: z.number().int().positive() }),
        (serial, b, actor) => inventory.assign(serial, b.cardholderId, actor),
      )
      action(
        'dongles.manage',
        'unassign',
        'Take a token back into stock; audited',
        z.object({ reason: Reason }),
        (serial, b, actor) => inventory.unassign(serial, b.reason, actor),
      )
      action(
        'dongles.manage',
        'replace',
        'Revoke the token and assign the replacement (in stock) to the same cardholder, in one step; audited',
        z.object({ replacement: Serial, reason: Reason }),
        (serial, b, actor) => inventory.replace(serial, b.replacement, b.reason, actor),
      )
      // Service of the token a cardholder holds, also by the call centre while the cardholder is on the phone
      // (a locked token, a drifted one, a lost one: reporting a loss must not wait for the bench).
      action(
        'dongles.service',
        'lost',
        'Report a token lost or stolen: it stops authenticating at once; audited',
        z.object({ how: z.enum(['lost', 'stolen']), note: Reason }),
        (serial, b, actor) => inventory.markLost(serial, b.how, b.note, actor),
      )
      action(
        'dongles.service',
        'lock',
        'Lock an assigned token (it refuses every code until unlocked); audited',
        z.object({ reason: Reason }),
        (serial, b, actor) => inventory.lock(serial, b.reason, actor),
      )
      action(
        'dongles.service',
        'unlock',
        'Clear the fail counter and any lock; audited',
        z.object({}),
        (serial, _b, actor) => inventory.unlock(serial, actor),
      )
      action(
        'dongles.service',
        'resync',
        'Resynchronise a drifted token from two consecutive codes; answers only ok or not; audited',
        z.object({ otp1: Code, otp2: Code }),
        (serial, b, actor) => inventory.resync(serial, b.otp1, b.otp2, actor),
        VerifyOutcome,
      )
      action(
        'dongles.service',
        'test',
        'Test a code against the token (a real verification: the code is used up); answers only ok or not; audited',
        z.object({ code: z.string().max(16) }),
        (serial, b, actor) => inventory.testCode(serial, b.code, actor),
        VerifyOutcome,
      )

      /*
       * The cardholder's tokens for the cardholder panel, under cardholders.read rather than dongles.read: an
       * agent serves one cardholder at a time and needs neither the inventory (every token, batches, imports,
       * bench runs, programmers) nor a token's counter and drift. See CardholderToken.
       */
      api.route({
        method: 'get',
        path: '/api/cardholders/:id/dongles',
        summary:
          'The cardholder’s OTP tokens, the one in use first (serial, kind, state, lock, fail count, last use; never the seed)',
        tags: ['cardholders', ...Tags],
        auth: { permission: 'cardholders.read' },
        params: ById,
        responses: { 200: z.array(CardholderToken) },
        handler(_ctx, { params }) {
          services.cardholders.get(params.id) // 404 for an unknown cardholder rather than an empty list
          return inventory.forCardholder(params.id)
        },
      })

      api.route({
        method: 'post',
        path: '/api/dongles/imports',
        summary:
          'Import seeds: multipart/form-data with "file" (PSKC XML, OATH CSV or YubiKey CSV) and optional "format", "batch", ' +
          '"password" (PBKDF2 PSKC) or "key" (pre-shared AES key, hex). Answers 202 with the job; follow its progress at ' +
          '/api/dongles/imports/{id}. Nothing is imported unless the whole file is valid.',
        tags: Tags,
        auth: { permission: 'dongles.manage' },
        responses: { 202: ImportJob },
        async handler(ctx) {
          const form = await readImportForm(ctx, config.uploadBytes)
          const actor = actorOf(ctx)
          const { job, done } = await importer.start({
            source: form.name,
            format: form.format,
            batch: form.batch,
            bytes: form.bytes,
            size: form.bytes.length,
            password: form.password,
            preSharedKey: form.key ? Buffer.from(form.key, 'hex') : undefined,
            actor,
            onProgress: (j) => events.publish({ type: 'import', job: j }),
          })
          done.then(
            (j) => events.publish({ type: 'import', job: j }),
            (err: Error) => services.log.error({ err, job: job.id }, 'dongle import failed'),
          )
          ctx.status = 202
          ctx.set('Location', `/api/dongles/imports/${job.id}`)
          return job
        },
      })
      api.route({
        method: 'get',
        path: '/api/dongles/imports',
        summary: 'Recent seed imports',
        tags: Tags,
        auth: { permission: 'dongles.read' },
        responses: { 200: z.array(ImportJob) },
        handler: () => importer.jobs(),
      })
      api.route({
        method: 'get',
        path: '/api/dongles/imports/:id',
        summary:
          'One import: progress (percent, bytes read, entries, inserted) and the report (errors name the line or element)',
        tags: Tags,
        auth: { permission: 'dongles.read' },
        params: ById,
        responses: { 200: ImportJob },
        handler(_ctx, { params }) {
          const job = importer.job(params.id)
          if (!job) throw new HttpProblem(404, 'Not found', `No import ${params.id}`)
          return job
        },
      })
      api.route({
        method: 'post',
        path: '/api/dongles/exports',
        summary:
          'Download the assigned tokens as a password-protected PSKC file (PBKDF2 + AES-128-CBC + HMAC-SHA1), the issuer’s backup: under dual control, a second operator with dongles.manage approves with their own credentials; audited with both',
        tags: Tags,
        auth: { permission: 'dongles.manage' },
        body: z.object({
          password: z.string().min(12, 'at least 12 characters').max(1024),
          passwordName: z.string().max(100).optional(),
          /** The second person: every seed leaves the system in this file, so one operator alone cannot. */
          approver: ApproverCredentials,
        }),
        responses: { 200: null, 403: null },
        async handler(ctx, { body }) {
          const approvedBy = await services.operators.approve(
            body.approver,
            sessionOf(ctx).operator,
            'dongles.manage',
            { ip: ctx.ip },
          )
          const { count, seeds } = inventory.assignedSeeds()
          const chunks = exportPskcChunks(seeds, { password: body.password, passwordName: body.passwordName })
          services.audit.record({
            actor: actorOf(ctx),
            action: 'dongle.export',
            details: { tokens: count, format: 'pskc', approvedBy },
          })
          ctx.type = 'application/pskc+xml'
          ctx.attachment(`dongles-${new Date().toISOString().slice(0, 10)}.pskcxml`)
          return Readable.from(chunks)
        },
      })

      api.route({
        method: 'get',
        path: '/api/dongles/programmers',
        summary: 'Programmers (the USB bus and configured serial programmers) with the devices attached now',
        tags: Tags,
        auth: { permission: 'dongles.read' },
        responses: { 200: z.array(ProgrammerView) },
        handler: () => programmers.list(),
      })
      api.route({
        method: 'post',
        path: '/api/dongles/programmers',
        summary:
          'Configure a serial programmer: a device path (/dev/ttyUSB0, a pty) or tcp://host:port; audited',
        tags: Tags,
        auth: { permission: 'dongles.manage' },
        body: z.object({
          name: z.string().trim().min(1).max(100),
          url: z
            .string()
            .trim()
            .regex(/^(\/dev\/\S+|\/\S+|tcp:\/\/[^\s/]+:\d+)$/, 'a device path or tcp://host:port'),
        }),
        responses: { 201: ProgrammerView },
        async handler(ctx, { body }) {
          ctx.status = 201
          return programmers.addSerial(body.name, body.url, actorOf(ctx))
        },
      })
      api.route({
        method: 'delete',
        path: '/api/dongles/programmers/:id',
        summary: 'Remove a configured serial programmer; audited',
        tags: Tags,
        auth: { permission: 'dongles.manage' },
        params: z.object({ id: z.string().regex(/^serial-\d+$/) }),
        responses: { 204: null },
        async handler(ctx, { params }) {
          await programmers.remove(params.id, actorOf(ctx))
          ctx.status = 204
        },
      })

      api.route({
        method: 'post',
        path: '/api/dongles/bench/runs',
        summary:
          'Start the bench flow on a programmer: wait for a token → seed (generated or from the inventory) → program → verify its first code → store → label',
        tags: Tags,
        auth: { permission: 'dongles.manage' },
        body: z.object({ programmerId: z.string().min(1).max(50), params: SlotParams }),
        responses: { 202: BenchRunView },
        handler(ctx, { body }) {
          const actor = actorOf(ctx)
          const run = bench.start(body.programmerId, body.params, actor)
          services.audit.record({
            actor,
            action: 'dongle.bench.start',
            target: body.programmerId,
            details: { run: run.id, ...body.params },
          })
          ctx.status = 202
          return run
        },
      })
      api.route({
        method: 'get',
        path: '/api/dongles/bench/runs',
        summary: 'Recent bench runs',
        tags: Tags,
        auth: { permission: 'dongles.read' },
        responses: { 200: z.array(BenchRunView) },
        handler: () => bench.list(),
      })
      api.route({
        method: 'get',
        path: '/api/dongles/bench/runs/:id',
        summary: 'One bench run with its steps',
        tags: Tags,
        auth: { permission: 'dongles.read' },
        params: ById,
        responses: { 200: BenchRunView },
        handler: (_ctx, { params }) => bench.get(params.id),
      })
      api.route({
        method: 'post',
        path: '/api/dongles/bench/runs/:id/touch',
        summary:
          'What a USB key typed when touched (typed or scanned by the operator) for a run waiting for it',
        tags: Tags,
        auth: { permission: 'dongles.manage' },
        params: ById,
        body: z.object({ code: z.string().min(6).max(64) }),
        responses: { 204: null },
        handler(ctx, { params, body }) {
          bench.submitTouch(params.id, body.code)
          ctx.status = 204
        },
      })
      api.route({
        method: 'post',
        path: '/api/dongles/bench/runs/:id/cancel',
        summary: 'Stop a bench run that is waiting for a token or a touch',
        tags: Tags,
        auth: { permission: 'dongles.manage' },
        params: ById,
        responses: { 204: null },
        handler(ctx, { params }) {
          bench.cancel(params.id)
          services.audit.record({
            actor: actorOf(ctx),
            action: 'dongle.bench.cancel',
            target: bench.get(params.id).programmerId,
            details: { run: params.id },
          })
          ctx.status = 204
        },
      })

      api.route({
        method: 'post',
        path: '/api/dongles/events/tickets',
        summary:
          'A single-use ticket (valid 60 s) for GET /api/dongles/events?ticket=…: EventSource cannot send the Authorization header',
        tags: Tags,
        auth: { permission: 'dongles.read' },
        responses: { 201: z.object({ ticket: z.string(), expiresAt: z.string() }) },
        handler(ctx) {
          ctx.status = 201
          return tickets.issue(actorOf(ctx))
        },
      })
      api.route({
        method: 'get',
        path: '/api/dongles/events',
        summary:
          'Server-sent events: device (hot-plug), programmers, bench (run steps) and import (progress). Authenticated by a ticket from POST /api/dongles/events/tickets',
        tags: Tags,
        auth: {
          scheme: 'streamTicket',
          authenticate(ctx) {
            const ticket = typeof ctx.query.ticket === 'string' ? ctx.query.ticket : ''
            const operator = ticket ? tickets.redeem(ticket) : undefined
            if (!operator)
              throw new HttpProblem(
                401,
                'Not signed in',
                'The event-stream ticket is missing, used or expired',
              )
            ctx.state.streamOperator = operator
          },
        },
        query: z.object({ ticket: z.string().max(100) }),
        responses: { 200: null },
        handler: (ctx) => openEventStream(ctx, events),
      })
    },
    async start(services) {
      started = services
      services.dongles.importer.recoverInterrupted()
      await services.dongles.startHardware(hardware)
    },
    async stop() {
      await started?.dongles.stopHardware()
      started = undefined
    },
  }
}

export const donglesModule = createDonglesModule()
