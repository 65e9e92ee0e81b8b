import { z } from 'zod'
import { AtError } from '../../hardware/gsm/at/errors'
import { PinError } from '../../hardware/gsm/modem'
import { PROFILES } from '../../hardware/gsm/profiles'
import { TransportError } from '../../hardware/serial/transport'
import { actorOf, bearerToken } from '../app'
import { HttpProblem } from '../http/problem'
import type { ServerModule } from '../module'
import { can } from '../operators/permissions'
import type { SessionInfo } from '../operators/service'
import {
  EventTicket,
  GatewayName,
  ModemChangeRequest,
  ModemInfo,
  ModemList,
  NewModemRequest,
  PortList,
  ProbeAnswer,
  ProbeRequest,
  TestSmsRequest,
} from './contract'
import { EventTickets, openEventStream } from './events'
import { InvalidPortError, listCandidatePorts } from './ports'
import { DuplicateModemError } from './repository'
import { ModemNotFoundError, PortBusyError, type ModemView } from './service'

const Id = z.object({ id: z.coerce.number().int().positive() })

const iso = (ms: number) => new Date(ms).toISOString()
const toInfo = (m: ModemView): ModemInfo => ({
  ...m,
  lastErrors: m.lastErrors.map((e) => ({ at: iso(e.at), message: e.message })),
})

function knownProfile(name: string | undefined): void {
  if (name !== undefined && !PROFILES[name])
    throw new HttpProblem(
      400,
      'Unknown modem profile',
      `"${name}" is not one of ${Object.keys(PROFILES).join(', ')}`,
    )
}

/** Errors an operator can act on, in words; anything else stays a 500. */
async function translated<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work()
  } catch (err) {
    if (err instanceof InvalidPortError) throw new HttpProblem(400, 'Invalid port', err.message)
    if (err instanceof DuplicateModemError || err instanceof PortBusyError)
      throw new HttpProblem(409, 'Conflict', err.message)
    if (err instanceof ModemNotFoundError) throw new HttpProblem(404, 'Not found', err.message)
    if (err instanceof TransportError || err instanceof AtError || err instanceof PinError)
      throw new HttpProblem(502, 'The modem did not cooperate', err.message)
    throw err
  }
}

export const modemsModule: ServerModule = {
  name: 'modems',
  register(api, { modems, sms, operators, db, config }) {
    const tickets = new EventTickets()

    api.route({
      method: 'get',
      path: '/api/modems',
      summary: 'The configured GSM modems with their live status, and the SMS gateway in use',
      tags: ['modems'],
      auth: { permission: 'sms.read' },
      responses: { 200: ModemList },
      handler: () => ({
        gateway: modems.gatewayChoice,
        profiles: Object.values(PROFILES).map((p) => ({ name: p.name, description: p.description })),
        modems: modems.views().map(toInfo),
      }),
    })
    api.route({
      method: 'get',
      path: '/api/modems/ports',
      summary: 'Serial ports on the server that may hold a modem (stable /dev/serial/by-id paths first)',
      tags: ['modems'],
      auth: { permission: 'sms.manage' },
      responses: { 200: PortList },
      handler: () => listCandidatePorts(),
    })
    api.route({
      method: 'post',
      path: '/api/modems',
      summary: 'Add a modem (a device path or tcp://host:port); the SIM PIN is stored sealed',
      tags: ['modems'],
      auth: { permission: 'sms.manage' },
      body: NewModemRequest,
      responses: { 201: ModemInfo },
      handler: (ctx, { body }) =>
        translated(() => {
          knownProfile(body.profile)
          const added = modems.add(body, actorOf(ctx))
          ctx.status = 201
          return toInfo(modems.views().find((m) => m.id === added.id)!)
        }),
    })
    api.route({
      method: 'patch',
      path: '/api/modems/:id',
      summary: 'Change a modem: name, profile, speed, rate limit, PIN, enabled',
      tags: ['modems'],
      auth: { permission: 'sms.manage' },
      params: Id,
      body: ModemChangeRequest,
      responses: { 200: ModemInfo },
      handler: (ctx, { params, body }) =>
        translated(() => {
          knownProfile(body.profile)
          modems.update(params.id, body, actorOf(ctx))
          return toInfo(modems.views().find((m) => m.id === params.id)!)
        }),
    })
    api.route({
      method: 'delete',
      path: '/api/modems/:id',
      summary: 'Remove a modem (messages in flight on it finish first)',
      tags: ['modems'],
      auth: { permission: 'sms.manage' },
      params: Id,
      responses: { 204: null },
      handler: (ctx, { params }) =>
        translated(() => {
          modems.remove(params.id, actorOf(ctx))
          ctx.status = 204
        }),
    })
    api.route({
      method: 'post',
      path: '/api/modems/probe',
      summary:
        'Ask whatever answers on a port who it is (ATI, AT+CGMI, AT+CGMM, AT+CSQ, AT+CREG?), then close it',
      tags: ['modems'],
      auth: { permission: 'sms.manage' },
      body: ProbeRequest,
      responses: { 200: ProbeAnswer },
      handler: (_ctx, { body }) => translated(() => modems.probePort(body.port, body.baud)),
    })
    api.route({
      method: 'post',
      path: '/api/modems/:id/test-sms',
      summary: 'Send one SMS through this modem only (not through the outbox)',
      tags: ['modems'],
      auth: { permission: 'sms.manage' },
      params: Id,
      body: TestSmsRequest,
      responses: { 200: z.object({ messageReferences: z.array(z.number()) }) },
      handler: (ctx, { params, body }) =>
        translated(() => modems.sendTest(params.id, body.to, body.text, actorOf(ctx))),
    })
    api.route({
      method: 'post',
      path: '/api/modems/:id/reset',
      summary: 'Soft-reset a running modem (AT+CFUN=1,1, then reopen it)',
      tags: ['modems'],
      auth: { permission: 'sms.manage' },
      params: Id,
      responses: { 204: null },
      handler: (ctx, { params }) =>
        translated(async () => {
          await modems.reset(params.id, actorOf(ctx))
          ctx.status = 204
        }),
    })
    api.route({
      method: 'get',
      path: '/api/sms/gateway',
      summary: 'Which gateway sends SMS: the virtual phone or the modem pool',
      tags: ['sms'],
      auth: { permission: 'sms.read' },
      responses: { 200: z.object({ gateway: GatewayName }) },
      handler: () => ({ gateway: modems.gatewayChoice }),
    })
    api.route({
      method: 'put',
      path: '/api/sms/gateway',
      summary: 'Switch the SMS gateway at runtime (audited); queued messages follow the new gateway',
      tags: ['sms'],
      auth: { permission: 'sms.manage' },
      body: z.object({ gateway: GatewayName }),
      responses: { 200: z.object({ gateway: GatewayName }) },
      async handler(ctx, { body }) {
        await modems.selectGateway(body.gateway, actorOf(ctx))
        return { gateway: modems.gatewayChoice }
      },
    })
    api.route({
      method: 'post',
      path: '/api/sms/events/ticket',
      summary: 'A single-use ticket (30 s) to open GET /api/sms/events from a browser EventSource',
      tags: ['sms'],
      auth: { permission: 'sms.read' },
      responses: { 201: EventTicket },
      handler(ctx) {
        const { ticket, expiresAt } = tickets.issue(bearerToken(ctx)!)
        ctx.status = 201
        return { ticket, expiresAt: iso(expiresAt) }
      },
    })

    const sessionStillValid = db.prepare(
      'SELECT 1 FROM sessions WHERE token_hash = ? AND expires_at > ? AND last_seen_at + ? > ?',
    )
    api.route({
      method: 'get',
      path: '/api/sms/events',
      summary:
        'Server-sent events: `outbox`, `inbox`, `modems` (status) and `gateway`. Authenticate with ?ticket= (from POST /api/sms/events/ticket) or a bearer header',
      tags: ['sms'],
      auth: {
        scheme: 'eventTicket',
        authenticate(ctx) {
          const ticket = typeof ctx.query.ticket === 'string' ? ctx.query.ticket : undefined
          const token = ticket ? tickets.redeem(ticket) : bearerToken(ctx)
          const session = token ? operators.authenticate(token) : undefined
          if (!session)
            throw new HttpProblem(
              401,
              'Not signed in',
              ticket ? 'The event ticket is unknown, used or expired; ask for a new one' : 'Sign in first',
            )
          if (!can(session.operator.role, 'sms.read'))
            throw new HttpProblem(
              403,
              'Forbidden',
              `Your role (${session.operator.role}) does not allow sms.read`,
            )
          ctx.state.session = session
        },
      },
      query: z.object({ ticket: z.string().max(100).optional() }),
      responses: { 200: null },
      handler(ctx) {
        const session = ctx.state.session as SessionInfo
        const idleMs = config.sessionIdleMs
        openEventStream(ctx, {
          sources: [
            { emitter: sms, event: 'outbox', as: 'outbox' },
            { emitter: sms, event: 'inbox', as: 'inbox' },
            { emitter: modems, event: 'changed', as: 'modems' },
            { emitter: modems, event: 'gateway', as: 'gateway' },
          ],
          stillAllowed: () => {
            const now = Date.now()
            return sessionStillValid.get(session.tokenHash, now, idleMs, now) !== undefined
          },
        })
      },
    })
  },
  async start({ modems }) {
    await modems.start()
  },
  // Stopped by services.close(), before the outbox: sends in flight on a modem finish first.
}
