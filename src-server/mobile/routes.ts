import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Context } from 'koa'
import { z } from 'zod'
import { actorOf } from '../app'
import { HttpProblem } from '../http/problem'
import type { ServerModule } from '../module'
import { EventTickets } from '../peds/events'
import type { Services } from '../services'
import {
  ActivationRequest,
  ActivationResponse,
  ApprovalView,
  DecisionRequest,
  DecisionResponse,
  DeviceDescription,
  DeviceName,
  DeviceView,
  MethodStatistics,
  MobileSettings,
} from './model'
import { AUTHENTICATOR_ICON, AUTHENTICATOR_MANIFEST, AUTHENTICATOR_SERVICE_WORKER } from './pwa'
import { qrSvgDataUri } from './qr'
import type { MobileService } from './service'

const CardholderId = z.object({ id: z.coerce.number().int().positive() })
const DeviceId = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{22}$/) })
const ApprovalId = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{22}$/) })
const PoiId = z.object({ poiId: z.string().regex(/^[A-Za-z0-9_-]{22}$/) })
const Reason = z.string().trim().min(3, 'say why, in a few words').max(500)
const QrCode = z.object({ link: z.string(), image: z.string(), expiresAt: z.string() })
const ScreenState = z.object({
  merchant: z.string(),
  amountText: z.string().optional(),
  status: z.enum(['pending', 'approved', 'declined', 'fraud', 'expired']),
  qr: QrCode.extend({ refreshInMs: z.number() }).optional(),
})
/** The longest a screen's state request waits for a decision before answering "still pending". */
const MAX_SCREEN_WAIT_MS = 25_000

/** Where the built authenticator pages are: next to the bundled server, or in out/ from the sources. */
function findPagesRoot(): string | undefined {
  const here = import.meta.dirname
  return [
    process.env.IMS_RENDERER_DIR,
    resolve(here, '../renderer'),
    resolve(here, '../../out/renderer'),
    resolve(here, '../out/renderer'),
  ]
    .filter((c): c is string => !!c)
    .find((c) => existsSync(join(c, 'authenticator', 'index.html')))
}

/** The public base of links in QR codes: the configured ACS URL, else the origin the operator uses. */
function baseUrl(services: Services, ctx: Context): string {
  return services.acs.settings.get().publicBaseUrl ?? `${ctx.protocol}://${ctx.host}`
}

export function screenLink(base: string, token: string): string {
  return `${base}/authenticator/#poi=${token}`
}

export const mobileModule: ServerModule = {
  name: 'mobile',
  register(api, services) {
    const mobile: MobileService = services.mobile
    const tickets = new EventTickets()
    const device = (allowPending = false) => ({
      scheme: 'deviceSignature',
      authenticate: (ctx: Context) => mobile.deviceAuth.authenticate(ctx, allowPending).then(() => undefined),
    })
    const deviceOf = (ctx: Context) => ctx.state.deviceId as string
    const root = findPagesRoot()
    const page = (ctx: Context, name: string) => {
      const file = root && join(root, 'authenticator', name)
      if (!file || !existsSync(file))
        throw new HttpProblem(503, 'Not built', 'The authenticator pages are not built: run npm run build')
      ctx.type = 'text/html; charset=utf-8'
      ctx.set('Cache-Control', 'no-cache')
      return readFileSync(file, 'utf8')
    }

    // ------------------------------------------------------------------ the installable authenticator

    for (const path of ['/authenticator', '/authenticator/'])
      api.route({
        method: 'get',
        path,
        summary: 'The cardholder’s authenticator (installable web app)',
        tags: ['mobile'],
        auth: { public: true },
        responses: { 200: null },
        handler: (ctx) => page(ctx, 'index.html'),
      })
    api.route({
      method: 'get',
      path: '/authenticator/manifest.webmanifest',
      summary: 'Web app manifest of the authenticator',
      tags: ['mobile'],
      auth: { public: true },
      responses: { 200: null },
      handler(ctx) {
        ctx.type = 'application/manifest+json'
        ctx.set('Cache-Control', 'no-cache')
        return AUTHENTICATOR_MANIFEST
      },
    })
    api.route({
      method: 'get',
      path: '/authenticator/sw.js',
      summary: 'Service worker of the authenticator (offline shell; never caches API answers)',
      tags: ['mobile'],
      auth: { public: true },
      responses: { 200: null },
      handler(ctx) {
        ctx.type = 'text/javascript; charset=utf-8'
        ctx.set('Cache-Control', 'no-cache')
        return AUTHENTICATOR_SERVICE_WORKER
      },
    })
    api.route({
      method: 'get',
      path: '/authenticator/icon.svg',
      summary: 'Icon of the authenticator',
      tags: ['mobile'],
      auth: { public: true },
      responses: { 200: null },
      handler(ctx) {
        ctx.type = 'image/svg+xml'
        ctx.set('Cache-Control', 'public, max-age=86400')
        return AUTHENTICATOR_ICON
      },
    })

    // ------------------------------------------------------------------ device API (docs/mobile-authenticator.md)

    api.route({
      method: 'post',
      path: '/api/mobile/v1/activations',
      summary: 'Register a new device key with a one-time activation token; an SMS code confirms it',
      tags: ['mobile'],
      auth: { public: true },
      body: ActivationRequest,
      responses: { 201: ActivationResponse },
      handler(ctx, { body }) {
        ctx.status = 201
        return mobile.devices.activate({ ...body, origin: `${ctx.protocol}://${ctx.host}` })
      },
    })
    api.route({
      method: 'post',
      path: '/api/mobile/v1/device/confirm',
      summary: 'Confirm a pending device with the SMS code (second factor)',
      tags: ['mobile'],
      auth: device(true),
      body: z.object({ code: z.string().trim().min(4).max(12) }).strict(),
      responses: { 200: DeviceView },
      handler: (ctx, { body }) => mobile.devices.confirm(deviceOf(ctx), body.code),
    })
    api.route({
      method: 'get',
      path: '/api/mobile/v1/device',
      summary: 'This device: name, status, cards',
      tags: ['mobile'],
      auth: device(true),
      responses: { 200: DeviceView },
      handler: (ctx) => mobile.devices.view(deviceOf(ctx)),
    })
    api.route({
      method: 'patch',
      path: '/api/mobile/v1/device',
      summary: 'Rename this device',
      tags: ['mobile'],
      auth: device(),
      body: z.object({ name: DeviceName }).strict(),
      responses: { 200: DeviceView },
      handler: (ctx, { body }) => mobile.devices.rename(deviceOf(ctx), body.name, `device:${deviceOf(ctx)}`),
    })
    api.route({
      method: 'delete',
      path: '/api/mobile/v1/device',
      summary: 'Revoke this device (the cardholder removes it)',
      tags: ['mobile'],
      auth: device(true),
      responses: { 204: null },
      handler(ctx) {
        mobile.revokeDevice(deviceOf(ctx), 'removed by the cardholder', `device:${deviceOf(ctx)}`)
        ctx.status = 204
      },
    })
    api.route({
      method: 'post',
      path: '/api/mobile/v1/event-tickets',
      summary: 'A 30-second single-use ticket for GET /api/mobile/v1/events (EventSource sends no headers)',
      tags: ['mobile'],
      auth: device(),
      body: z.object({ description: DeviceDescription }).strict(),
      responses: { 201: z.object({ ticket: z.string(), expiresAt: z.string() }) },
      handler(ctx, { body }) {
        mobile.devices.noteDescription(deviceOf(ctx), body.description)
        mobile.devices.touch(deviceOf(ctx))
        ctx.status = 201
        return tickets.issue(deviceOf(ctx))
      },
    })
    api.route({
      method: 'get',
      path: '/api/mobile/v1/events',
      summary: 'Approval requests as they open (text/event-stream: approval, closed, revoked); ?ticket=',
      tags: ['mobile'],
      auth: {
        scheme: 'eventTicket',
        authenticate(ctx) {
          ctx.state.deviceId = tickets.redeem(ctx.query.ticket)
        },
      },
      query: z.object({ ticket: z.string() }),
      responses: { 200: null },
      handler(ctx) {
        mobile.hub.attach(ctx, deviceOf(ctx))
      },
    })
    api.route({
      method: 'get',
      path: '/api/mobile/v1/approvals',
      summary: 'Open approval requests for the cards of this device',
      tags: ['mobile'],
      auth: device(),
      responses: { 200: z.object({ items: z.array(ApprovalView) }) },
      handler: (ctx) => ({ items: mobile.approvals.pendingFor(deviceOf(ctx)) }),
    })
    api.route({
      method: 'get',
      path: '/api/mobile/v1/approvals/:id',
      summary: 'One approval request (the wake-up SMS links to it)',
      tags: ['mobile'],
      auth: device(),
      params: ApprovalId,
      responses: { 200: ApprovalView },
      handler: (ctx, { params }) => mobile.approvals.getFor(deviceOf(ctx), params.id),
    })
    api.route({
      method: 'post',
      path: '/api/mobile/v1/screens/resolve',
      summary: 'A scanned QR code: the approval request shown on that screen',
      tags: ['mobile'],
      auth: device(),
      body: z.object({ token: z.string().max(200) }).strict(),
      responses: { 200: ApprovalView },
      handler: (ctx, { body }) => mobile.approvals.resolvePoi(deviceOf(ctx), body.token),
    })
    api.route({
      method: 'post',
      path: '/api/mobile/v1/approvals/:id/decision',
      summary: 'Approve, decline or report fraud, signed over the canonical approval record',
      tags: ['mobile'],
      auth: device(),
      params: ApprovalId,
      body: DecisionRequest,
      responses: { 200: DecisionResponse },
      handler: (ctx, { params, body }) => mobile.approvals.decide(deviceOf(ctx), params.id, body),
    })

    // ------------------------------------------------------------------ point-of-interaction screens

    api.route({
      method: 'get',
      path: '/poi/:poiId',
      summary: 'A point-of-interaction screen (merchant, call centre): rotating QR code of one payment',
      tags: ['mobile'],
      auth: { public: true },
      params: PoiId,
      responses: { 200: null },
      handler: (ctx) => page(ctx, 'poi.html'),
    })
    api.route({
      method: 'get',
      path: '/poi/:poiId/state',
      summary: 'What a screen shows now; with ?wait=ms, answers early when the payment is decided',
      tags: ['mobile'],
      auth: { public: true },
      params: PoiId,
      query: z.object({ wait: z.coerce.number().int().min(0).max(MAX_SCREEN_WAIT_MS).optional() }),
      responses: { 200: ScreenState },
      async handler(ctx, { params, query }) {
        ctx.set('Cache-Control', 'no-store')
        if (query.wait && mobile.approvals.screen(params.poiId).status === 'pending')
          await mobile.approvals.waitForScreen(params.poiId, query.wait)
        const s = mobile.approvals.screen(params.poiId)
        if (!s.token) return { merchant: s.merchant, amountText: s.amountText, status: s.status }
        const link = screenLink(baseUrl(services, ctx), s.token)
        return {
          merchant: s.merchant,
          amountText: s.amountText,
          status: s.status,
          qr: {
            link,
            image: await qrSvgDataUri(link),
            expiresAt: new Date(s.expiresAt).toISOString(),
            refreshInMs: s.refreshInMs,
          },
        }
      },
    })

    // ------------------------------------------------------------------ console

    api.route({
      method: 'get',
      path: '/api/mobile/cardholders/:id/devices',
      summary: 'A cardholder’s authenticator devices (activation, last use, fingerprint changes)',
      tags: ['mobile'],
      auth: { permission: 'cardholders.read' },
      params: CardholderId,
      responses: { 200: z.object({ items: z.array(DeviceView) }) },
      handler: (_ctx, { params }) => ({ items: mobile.devices.forCardholder(params.id) }),
    })
    api.route({
      method: 'post',
      path: '/api/mobile/cardholders/:id/activations',
      summary: 'A single-use activation QR code for a cardholder’s new device (10 minutes)',
      tags: ['mobile'],
      auth: { permission: 'cardholders.write' },
      params: CardholderId,
      responses: { 201: QrCode },
      async handler(ctx, { params }) {
        const { token, expiresAt } = mobile.devices.createActivation(params.id, actorOf(ctx))
        const link = `${baseUrl(services, ctx)}/authenticator/#activate=${token}`
        ctx.status = 201
        return { link, image: await qrSvgDataUri(link), expiresAt: new Date(expiresAt).toISOString() }
      },
    })
    api.route({
      method: 'post',
      path: '/api/mobile/devices/:id/revoke',
      summary: 'Revoke a device (lost phone, suspected compromise), with a reason (audited)',
      tags: ['mobile'],
      auth: { permission: 'cardholders.write' },
      params: DeviceId,
      body: z.object({ reason: Reason }).strict(),
      responses: { 200: DeviceView },
      handler(ctx, { params, body }) {
        mobile.revokeDevice(params.id, body.reason, actorOf(ctx))
        return mobile.devices.view(params.id)
      },
    })
    api.route({
      method: 'post',
      path: '/api/mobile/screens',
      summary: 'Open the point-of-interaction screen of a transaction: approving then needs its QR code',
      tags: ['mobile'],
      auth: { permission: 'cardholders.write' },
      body: z.object({ acsTransID: z.uuid() }).strict(),
      responses: { 201: z.object({ poiId: z.string(), url: z.string() }) },
      handler(ctx, { body }) {
        const { poiId } = mobile.approvals.requireScan(body.acsTransID, actorOf(ctx))
        ctx.status = 201
        return { poiId, url: `${baseUrl(services, ctx)}/poi/${poiId}` }
      },
    })
    api.route({
      method: 'post',
      path: '/api/mobile/screen-keys/rotate',
      summary: 'Replace the signing key of the screens’ QR codes now (codes on screen stay valid; audited)',
      tags: ['mobile'],
      auth: { permission: 'keys.manage' },
      responses: { 200: z.object({ keyId: z.number() }) },
      handler: (ctx) => mobile.rotateScreenKey(actorOf(ctx)),
    })
    api.route({
      method: 'get',
      path: '/api/mobile/statistics',
      summary: 'Mobile signature method statistics',
      tags: ['mobile'],
      auth: { permission: 'cardholders.read' },
      responses: { 200: MethodStatistics },
      handler: () => mobile.approvals.statistics(),
    })
    api.route({
      method: 'get',
      path: '/api/mobile/settings',
      summary: 'Mobile authenticator settings',
      tags: ['mobile'],
      auth: { permission: 'cardholders.read' },
      responses: { 200: MobileSettings },
      handler: () => mobile.settings.get(),
    })
    api.route({
      method: 'put',
      path: '/api/mobile/settings',
      summary: 'Change mobile authenticator settings (audited)',
      tags: ['mobile'],
      auth: { permission: 'settings.manage' },
      body: MobileSettings.partial(),
      responses: { 200: MobileSettings },
      handler: (ctx, { body }) => mobile.settings.update(body, actorOf(ctx)),
    })
  },
}
