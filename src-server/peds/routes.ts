import { z } from 'zod'
import { actorOf, sessionOf } from '../app'
import { IdParams } from '../http/params'
import type { ServerModule } from '../module'
import { EventTickets, streamEvents } from './events'
import {
  CRL_MAX_BYTES,
  CrlImport,
  Injection,
  InjectRequest,
  LabTrust,
  NewRun,
  NewStation,
  Run,
  RunDetail,
  Station,
  TrustImport,
  TrustView,
} from './model'

export const pedsModule: ServerModule = {
  name: 'peds',
  register(api, { peds }) {
    const tickets = new EventTickets()

    api.route({
      method: 'get',
      path: '/api/peds/trust',
      summary: 'The station’s TR-34 credentials (trusted device CA, KDH certificate, the CA’s CRL)',
      tags: ['peds'],
      auth: { permission: 'keys.read' },
      responses: { 200: TrustView.nullable() },
      handler: () => peds.trust() ?? null,
    })
    api.route({
      method: 'put',
      path: '/api/peds/trust',
      summary: 'Install the trusted device CA and the KDH certificate and private key (sealed)',
      tags: ['peds'],
      auth: { permission: 'keys.manage' },
      body: TrustImport,
      responses: { 200: TrustView },
      handler(ctx, { body }) {
        peds.setTrust(body, actorOf(ctx))
        return peds.trust()
      },
    })
    api.route({
      method: 'put',
      path: '/api/peds/trust/crl',
      summary:
        'Install the trusted device CA’s CRL (PEM or base64 DER): signed by that CA, in date, not older than the stored one',
      tags: ['peds'],
      auth: { permission: 'keys.manage' },
      body: CrlImport,
      // Base64 and JSON escaping on top of the largest CRL accepted.
      bodyLimit: 2 * CRL_MAX_BYTES,
      responses: { 200: TrustView },
      handler(ctx, { body }) {
        peds.importCrl(body, actorOf(ctx))
        return peds.trust()
      },
    })
    api.route({
      method: 'post',
      path: '/api/peds/trust/lab',
      summary: 'Lab: issue the KDH certificate under a lab CA (the CA key is used once, not kept)',
      tags: ['peds'],
      auth: { permission: 'keys.manage' },
      body: LabTrust,
      responses: { 200: TrustView },
      handler(ctx, { body }) {
        peds.setLabTrust(body, actorOf(ctx))
        return peds.trust()
      },
    })

    api.route({
      method: 'get',
      path: '/api/peds/stations',
      summary: 'Key-injection stations',
      tags: ['peds'],
      auth: { permission: 'keys.read' },
      responses: { 200: z.array(Station) },
      handler: () => peds.listStations(),
    })
    api.route({
      method: 'post',
      path: '/api/peds/stations',
      summary: 'Add a station (serial port or tcp:// serial-over-IP running the PED protocol)',
      tags: ['peds'],
      auth: { permission: 'peds.inject' },
      body: NewStation,
      responses: { 201: Station },
      handler(ctx, { body }) {
        ctx.status = 201
        return peds.addStation(body, actorOf(ctx))
      },
    })
    api.route({
      method: 'delete',
      path: '/api/peds/stations/:id',
      summary: 'Remove a station that never injected',
      tags: ['peds'],
      auth: { permission: 'peds.inject' },
      params: IdParams,
      responses: { 204: null },
      handler(ctx, { params }) {
        peds.removeStation(params.id, actorOf(ctx))
        ctx.status = 204
      },
    })

    api.route({
      method: 'get',
      path: '/api/injection-runs',
      summary: 'Injection runs',
      tags: ['peds'],
      auth: { permission: 'keys.read' },
      responses: { 200: z.array(Run) },
      handler: () => peds.listRuns(),
    })
    api.route({
      method: 'post',
      path: '/api/injection-runs',
      summary: 'Open a run: one BDK, an inventory of device serials, TR-34 (or clear in a lab run)',
      tags: ['peds'],
      auth: { permission: 'keys.manage' },
      body: NewRun,
      responses: { 201: Run },
      handler(ctx, { body }) {
        ctx.status = 201
        return peds.createRun(body, actorOf(ctx))
      },
    })
    api.route({
      method: 'get',
      path: '/api/injection-runs/:id',
      summary: 'A run with its inventory and injections',
      tags: ['peds'],
      auth: { permission: 'keys.read' },
      params: IdParams,
      responses: { 200: RunDetail },
      handler: (_ctx, { params }) => peds.runDetail(params.id),
    })
    api.route({
      method: 'post',
      path: '/api/injection-runs/:id/inject',
      summary: 'Inject the devices on these stations, all at once; progress on /api/peds/events',
      tags: ['peds'],
      auth: { permission: 'peds.inject' },
      params: IdParams,
      body: InjectRequest,
      responses: { 202: z.array(Injection) },
      handler(ctx, { params, body }) {
        ctx.status = 202
        return peds.inject(params.id, body, actorOf(ctx))
      },
    })

    api.route({
      method: 'post',
      path: '/api/peds/event-tickets',
      summary: 'A 30-second single-use ticket for GET /api/peds/events (EventSource sends no headers)',
      tags: ['peds'],
      auth: { permission: 'keys.read' },
      responses: { 201: z.object({ ticket: z.string(), expiresAt: z.string() }) },
      handler(ctx) {
        ctx.status = 201
        return tickets.issue(sessionOf(ctx).operator.username)
      },
    })
    api.route({
      method: 'get',
      path: '/api/peds/events',
      summary: 'Live injection progress (text/event-stream, `progress` events); ?ticket= from event-tickets',
      tags: ['peds'],
      auth: {
        scheme: 'eventTicket',
        authenticate(ctx) {
          ctx.state.ticketOperator = tickets.redeem(ctx.query.ticket)
        },
      },
      query: z.object({ ticket: z.string() }),
      responses: { 200: null },
      handler(ctx) {
        streamEvents(ctx, peds, 'progress')
      },
    })
  },
  start({ peds }) {
    // Before any injection can start: release the serials held by injections a stop interrupted.
    peds.recoverInterrupted()
  },
}
