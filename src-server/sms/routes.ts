import { z } from 'zod'
import { actorOf } from '../app'
import { conflict } from '../http/problem'
import { maskDigitRuns } from '../crypto/mask'
import type { ServerModule } from '../module'
import { Mobile } from '../enrolment/model'
import { statementCache } from '../store/db'

const VirtualMessage = z.object({
  id: z.number(),
  direction: z.enum(['out', 'in']),
  from: z.string().optional(),
  to: z.string().optional(),
  text: z.string(),
  at: z.string(),
  status: z.string(),
})
const OutboxItem = z.object({
  id: z.number(),
  to: z.string(),
  text: z.string(),
  kind: z.string(),
  ref: z.string().optional(),
  priority: z.number(),
  status: z.string(),
  gateway: z.string().optional(),
  modem: z.string().optional(),
  messageRef: z.string().optional(),
  attempts: z.number(),
  possibleDuplicate: z.boolean(),
  lastError: z.string().optional(),
  createdAt: z.string(),
  sentAt: z.string().optional(),
  deliveredAt: z.string().optional(),
})
const InboxItem = z.object({
  id: z.number(),
  from: z.string(),
  text: z.string(),
  gateway: z.string(),
  modem: z.string().optional(),
  receivedAt: z.string(),
  outcome: z.string(),
  handledBy: z.string().optional(),
  ref: z.string().optional(),
  /** A concatenated SMS delivered without these parts (they never came). */
  missingParts: z.array(z.number()).optional(),
})

/** How many messages each way the virtual phone shows. */
const VIRTUAL_PHONE_HISTORY = 100

const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString())

export const smsModule: ServerModule = {
  name: 'sms',
  register(api, { sms, db, audit }) {
    const sql = statementCache(db)
    api.route({
      method: 'get',
      path: '/api/virtual-phone/messages',
      summary:
        'The virtual handset of one number: SMS sent to it (in clear, as the phone shows them) and its replies',
      tags: ['virtual phone'],
      auth: { permission: 'lab.use' },
      query: z.object({ to: Mobile }),
      responses: { 200: z.array(VirtualMessage) },
      handler(_ctx, { query }) {
        // The latest messages each way, like a handset's screen: a pilot number that received thousands of
        // codes would otherwise decrypt every one of them on each refresh.
        const out = sql(
          `SELECT id, status, created_at FROM sms_outbox WHERE to_number = ? AND gateway = 'virtual'
           ORDER BY id DESC LIMIT ${VIRTUAL_PHONE_HISTORY}`,
        ).all(query.to) as { id: number; status: string; created_at: number }[]
        // Only the virtual handset's own replies: what a real phone sent through a modem stays in the
        // (masked) inbox of /api/sms/inbox.
        const inbound = sql(
          `SELECT id, text, received_at, outcome FROM sms_inbox WHERE from_number = ? AND gateway = 'virtual'
           ORDER BY id DESC LIMIT ${VIRTUAL_PHONE_HISTORY}`,
        ).all(query.to) as { id: number; text: string; received_at: number; outcome: string }[]
        return [
          ...out.map((m) => ({
            id: m.id,
            direction: 'out' as const,
            to: query.to,
            text: sms.clearText(m.id),
            at: iso(m.created_at)!,
            status: m.status,
            t: m.created_at,
          })),
          ...inbound.map((m) => ({
            id: m.id,
            direction: 'in' as const,
            from: query.to,
            text: m.text,
            at: iso(m.received_at)!,
            status: m.outcome,
            t: m.received_at,
          })),
        ]
          .sort((a, b) => a.t - b.t)
          .map(({ t: _t, ...m }) => m)
      },
    })
    api.route({
      method: 'post',
      path: '/api/virtual-phone/reply',
      summary:
        'Inject an incoming SMS from any number, exactly as a modem would deliver it (only while the virtual phone is the SMS gateway)',
      tags: ['virtual phone'],
      auth: { permission: 'lab.use' },
      body: z.object({ from: z.string().trim().min(3).max(20), text: z.string().max(1600) }),
      responses: {
        201: z.object({ id: z.number(), outcome: z.string(), ref: z.string().optional() }),
        409: null,
      },
      async handler(ctx, { body }) {
        // A reply decides challenges and suspends cards (FRAUD): once real modems carry the cardholders' SMS,
        // a reply typed in the console would speak for a real phone.
        if (sms.gatewayName !== 'virtual')
          throw conflict('The virtual phone takes replies only while it is the SMS gateway (SMS & modems)')
        const result = await sms.receive(
          { from: body.from, text: body.text, receivedAt: Date.now() },
          'virtual',
        )
        audit.record({
          actor: actorOf(ctx),
          action: 'virtual-phone.reply',
          target: body.from,
          details: { outcome: result.outcome, ref: result.ref },
        })
        ctx.status = 201
        return result
      },
    })
    api.route({
      method: 'get',
      path: '/api/sms/outbox',
      summary: 'Outgoing SMS, newest first (codes masked)',
      tags: ['sms'],
      auth: { permission: 'sms.read' },
      query: z.object({
        status: z.enum(['queued', 'sending', 'sent', 'delivered', 'failed']).optional(),
        to: z.string().max(20).optional(),
        ref: z.string().max(40).optional(),
        before: z.coerce.number().int().positive().optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      responses: { 200: z.array(OutboxItem) },
      handler: (_ctx, { query }) =>
        sms.outbox(query).map((r) => ({
          id: r.id,
          to: r.to_number,
          text: r.text_display,
          kind: r.kind,
          ref: r.ref ?? undefined,
          priority: r.priority,
          status: r.status,
          gateway: r.gateway ?? undefined,
          modem: r.modem ?? undefined,
          messageRef: r.message_ref ?? undefined,
          attempts: r.attempts,
          possibleDuplicate: r.possible_duplicate === 1,
          lastError: r.last_error ?? undefined,
          createdAt: iso(r.created_at)!,
          sentAt: iso(r.sent_at),
          deliveredAt: iso(r.delivered_at),
        })),
    })
    api.route({
      method: 'get',
      path: '/api/sms/inbox',
      summary: 'Incoming SMS, newest first, with what each was matched to',
      tags: ['sms'],
      auth: { permission: 'sms.read' },
      query: z.object({
        outcome: z.enum(['unmatched', 'matched', 'expired', 'rejected', 'ignored']).optional(),
        from: z.string().max(20).optional(),
        before: z.coerce.number().int().positive().optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      responses: { 200: z.array(InboxItem) },
      handler: (_ctx, { query }) =>
        (
          db
            .prepare(
              `SELECT * FROM sms_inbox WHERE id < ? AND (? IS NULL OR outcome = ?) AND (? IS NULL OR from_number = ?) ORDER BY id DESC LIMIT ?`,
            )
            .all(
              query.before ?? Number.MAX_SAFE_INTEGER,
              query.outcome ?? null,
              query.outcome ?? null,
              query.from ?? null,
              query.from ?? null,
              query.limit,
            ) as {
            id: number
            from_number: string
            text: string
            gateway: string
            modem: string | null
            received_at: number
            outcome: string
            handled_by: string | null
            missing_parts: string | null
            ref: string | null
          }[]
        ).map((r) => ({
          id: r.id,
          from: r.from_number,
          // Incoming texts may carry a code (a dongle's, sent by SMS): digit runs are masked, as in the reports.
          text: maskDigitRuns(r.text),
          gateway: r.gateway,
          modem: r.modem ?? undefined,
          receivedAt: iso(r.received_at)!,
          outcome: r.outcome,
          handledBy: r.handled_by ?? undefined,
          ref: r.ref ?? undefined,
          missingParts: r.missing_parts ? r.missing_parts.split(',').map(Number) : undefined,
        })),
    })
  },
  start({ sms }) {
    sms.start()
  },
}
