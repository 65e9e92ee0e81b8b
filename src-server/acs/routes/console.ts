import { isIP } from 'node:net'
import { z } from 'zod'
import { ApproverCredentials } from '../../operators/credentials'
import { actorOf, sessionOf } from '../../app'
import type { ApiRegistry } from '../../http/api'
import { HttpProblem } from '../../http/problem'
import type { Services } from '../../services'
import {
  listTransactions,
  Statistics,
  TraceMessage,
  TransactionFilter,
  TransactionView,
  statistics,
  transactionTrace,
} from '../ledger/queries'
import { AcsSettings } from '../settings'

const RangeId = z.object({ id: z.coerce.number().int().positive() })
const Hex = z.string().regex(/^(?:[0-9a-fA-F]{2})+$/, 'hex digits')
const RangeKey = z.object({
  kind: z.enum(['visa-cvk', 'mastercard-iav']),
  keyIndicator: z.string(),
  kcv: z.string(),
  createdAt: z.string(),
})
/** A DNS name (labels of letters, digits and hyphens) or an IP address: what a certificate can be issued to. */
const HostName = z
  .string()
  .max(253)
  .refine(
    (h) =>
      isIP(h) !== 0 || /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(h),
    'a DNS name or an IP address',
  )
const TlsIdentity = z.object({
  brand: z.string(),
  subject: z.string(),
  names: z.string(),
  expiresAt: z.string(),
  dsCas: z.array(z.string()),
})
const Signing = z.object({
  brand: z.string(),
  alg: z.enum(['PS256', 'ES256']),
  subject: z.string(),
  expiresAt: z.string(),
  certificates: z.number(),
  hasRoot: z.boolean(),
})
const Alarm = z.object({
  id: z.number(),
  kind: z.string(),
  ref: z.string(),
  severity: z.enum(['warning', 'critical']),
  message: z.string(),
  count: z.number(),
  firstAt: z.string(),
  lastAt: z.string(),
  acknowledgedAt: z.string().optional(),
  acknowledgedBy: z.string().optional(),
})
const EndpointLatency = z.object({
  count: z.number(),
  p50: z.number(),
  p90: z.number(),
  p99: z.number(),
  max: z.number(),
})
const Latency = z.object({
  since: z.string(),
  areq: EndpointLatency.optional(),
  browserCReq: EndpointLatency.optional(),
  browserStep: EndpointLatency.optional(),
  appChallenge: EndpointLatency.optional(),
  /** Whole browser challenges: AReq, CReq and every step of one transaction summed. */
  browserChallenge: EndpointLatency.optional(),
})
const BrandParam = z.object({ brand: z.enum(['visa', 'mastercard', 'amex', 'jcb', 'discover', 'unionpay']) })

/** Console API of the ACS: settings, keys and certificates, alarms, the transaction ledger and statistics. */
export function registerAcsConsole(
  api: ApiRegistry,
  { acs, reads, audit, issuers, operators }: Services,
): void {
  api.route({
    method: 'get',
    path: '/api/acs/latency',
    summary:
      'Server time per ACS endpoint since start-up or the last reset (ms): from the request reaching the ACS to its answer leaving, durability fsync and RReq round trip included; browserChallenge sums the requests of each whole browser challenge',
    tags: ['acs'],
    auth: { permission: 'dashboard.read' },
    responses: { 200: Latency },
    handler: () => acs.latency.summary(),
  })
  api.route({
    method: 'post',
    path: '/api/acs/latency/reset',
    summary: 'Start the server-time figures afresh (audited)',
    tags: ['acs'],
    auth: { permission: 'settings.manage' },
    responses: { 200: Latency },
    handler: (ctx) => {
      acs.latency.reset()
      audit.record({ actor: actorOf(ctx), action: 'acs.latency.reset', target: 'acs' })
      return acs.latency.summary()
    },
  })
  api.route({
    method: 'get',
    path: '/api/acs/settings',
    summary: 'ACS settings (timers, OTP length, attempts, public URL)',
    tags: ['acs'],
    auth: { permission: 'settings.manage' },
    responses: { 200: AcsSettings },
    handler: () => acs.settings.get(),
  })
  api.route({
    method: 'put',
    path: '/api/acs/settings',
    summary: 'Change ACS settings (audited)',
    tags: ['acs'],
    auth: { permission: 'settings.manage' },
    body: AcsSettings.partial(),
    responses: { 200: AcsSettings },
    handler: (ctx, { body }) => acs.settings.update(body, actorOf(ctx)),
  })
  api.route({
    method: 'get',
    path: '/api/card-ranges/:id/keys',
    summary: 'Authentication-value keys of a card range (key check values only)',
    tags: ['acs', 'keys'],
    auth: { permission: 'issuers.manage' },
    params: RangeId,
    responses: { 200: z.array(RangeKey) },
    handler: (_ctx, { params }) => acs.keys.listRangeKeys(params.id),
  })
  api.route({
    method: 'put',
    path: '/api/card-ranges/:id/keys',
    summary:
      'Import a key of a card range: Visa CVK pair (A‖B, 32 hex) or Mastercard IAV key; stored sealed. A production range takes a clear key only under dual control: a second operator with keys.manage approves',
    tags: ['acs', 'keys'],
    auth: { permission: 'issuers.manage' },
    params: RangeId,
    body: z.object({
      kind: z.enum(['visa-cvk', 'mastercard-iav']),
      keyIndicator: z
        .string()
        .regex(/^\d{2}$/)
        .default('01'),
      key: Hex,
      approver: ApproverCredentials.optional(),
    }),
    responses: { 200: RangeKey, 403: null },
    async handler(ctx, { params, body }) {
      let approvedBy: string | undefined
      // A production key in clear is one person's to know only with a second watching (split knowledge is
      // the key ceremony's, Keys & PEDs); pilot and lab ranges take test keys from one operator.
      if (issuers.getRange(params.id).production) {
        if (!body.approver)
          throw new HttpProblem(
            403,
            'Dual control',
            'A key of a production range is entered with a second operator (keys.manage) approving: send approver',
          )
        approvedBy = await operators.approve(body.approver, sessionOf(ctx).operator, 'keys.manage', {
          ip: ctx.ip,
        })
      }
      const key = Buffer.from(body.key, 'hex')
      return acs.keys.setRangeKey(params.id, body.kind, body.keyIndicator, key, actorOf(ctx), approvedBy)
    },
  })
  api.route({
    method: 'post',
    path: '/api/card-ranges/:id/keys/generate',
    summary: 'Generate random test keys for a card range (pilot and lab ranges only)',
    tags: ['acs', 'keys'],
    auth: { permission: 'issuers.manage' },
    params: RangeId,
    responses: { 201: RangeKey },
    handler(ctx, { params }) {
      ctx.status = 201
      return acs.keys.generateRangeKeys(params.id, actorOf(ctx))
    },
  })
  api.route({
    method: 'get',
    path: '/api/acs/signing',
    summary: 'App-channel signing keys per brand (certificate subjects and expiry)',
    tags: ['acs', 'keys'],
    auth: { permission: 'issuers.manage' },
    responses: { 200: z.array(Signing) },
    handler: () => acs.keys.listSigning(),
  })
  api.route({
    method: 'put',
    path: '/api/acs/signing/:brand',
    summary: 'Import a brand signing key and its PEM chain (leaf first, every intermediate); validated',
    tags: ['acs', 'keys'],
    auth: { permission: 'issuers.manage' },
    params: BrandParam,
    body: z.object({
      chainPem: z.string().max(64_000),
      privateKeyPem: z.string().max(16_000),
      rootPem: z.string().max(16_000).optional(),
    }),
    responses: { 200: Signing },
    handler: (ctx, { params, body }) => acs.keys.importSigning(params.brand, body, actorOf(ctx)),
  })
  api.route({
    method: 'post',
    path: '/api/acs/signing/:brand/test-pki',
    summary:
      'Generate a test PKI (DS root → intermediate → signing certificate) for a brand; returns the root',
    tags: ['acs', 'keys'],
    auth: { permission: 'issuers.manage' },
    params: BrandParam,
    body: z.object({ keyType: z.enum(['RSA', 'EC']).default('RSA') }),
    responses: { 201: z.object({ rootPem: z.string(), signing: Signing }) },
    handler(ctx, { params, body }) {
      ctx.status = 201
      return acs.keys.generateTestSigning(params.brand, actorOf(ctx), body.keyType)
    },
  })
  api.route({
    method: 'get',
    path: '/api/acs/tls',
    summary:
      'Mutual-TLS identities per brand for the directory servers (certificate subjects, names, expiry)',
    tags: ['acs', 'keys'],
    auth: { permission: 'issuers.manage' },
    responses: { 200: z.array(TlsIdentity) },
    handler: () => acs.tls.list(),
  })
  api.route({
    method: 'put',
    path: '/api/acs/tls/:brand',
    summary:
      "Import a brand's mutual-TLS identity: the ACS certificate chain the scheme issued (leaf first), its key, and the DS CA certificates; validated",
    tags: ['acs', 'keys'],
    auth: { permission: 'issuers.manage' },
    params: BrandParam,
    body: z.object({
      chainPem: z.string().max(64_000),
      privateKeyPem: z.string().max(16_000),
      dsCaPem: z.string().max(64_000),
    }),
    responses: { 200: TlsIdentity },
    handler: (ctx, { params, body }) => acs.tls.import(params.brand, body, actorOf(ctx)),
  })
  api.route({
    method: 'post',
    path: '/api/acs/tls/:brand/test-pki',
    summary:
      "Generate a test mutual-TLS link for a brand (DS TLS CA, ACS certificate for the given host names, a DS client certificate); returns the DS's certificate and key",
    tags: ['acs', 'keys'],
    auth: { permission: 'issuers.manage' },
    params: BrandParam,
    body: z.object({ hosts: z.array(HostName).min(1).max(20).optional() }),
    responses: {
      201: z.object({
        identity: TlsIdentity,
        caPem: z.string(),
        dsCertPem: z.string(),
        dsKeyPem: z.string(),
      }),
    },
    handler(ctx, { params, body }) {
      ctx.status = 201
      return acs.tls.generateTest(params.brand, body.hosts, actorOf(ctx))
    },
  })
  api.route({
    method: 'get',
    path: '/api/alarms',
    summary: 'Alarms (open ones by default)',
    tags: ['acs'],
    auth: { permission: 'dashboard.read' },
    query: z.object({
      all: z.stringbool().default(false),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
    responses: { 200: z.array(Alarm) },
    handler: (_ctx, { query }) => acs.alarms.list({ open: !query.all, limit: query.limit }),
  })
  api.route({
    method: 'post',
    path: '/api/alarms/:id/acknowledge',
    summary: 'Acknowledge an alarm',
    tags: ['acs'],
    auth: { permission: 'settings.manage' },
    params: RangeId,
    responses: { 204: null },
    handler(ctx, { params }) {
      if (!acs.alarms.acknowledge(params.id, actorOf(ctx)))
        throw new HttpProblem(404, 'Not found', 'No open alarm with this id')
      ctx.status = 204
    },
  })
  api.route({
    method: 'get',
    path: '/api/transactions',
    summary: 'Authentications, newest first, with filters and keyset paging (`next` → `cursor`)',
    tags: ['transactions'],
    auth: { permission: 'transactions.read' },
    query: TransactionFilter,
    responses: { 200: z.object({ items: z.array(TransactionView), next: z.string().optional() }) },
    handler: (_ctx, { query }) => listTransactions(reads, query),
  })
  api.route({
    method: 'get',
    path: '/api/transactions/:acsTransID',
    summary: 'One authentication with its message trace (PAN masked) and RReq delivery',
    tags: ['transactions'],
    auth: { permission: 'transactions.read' },
    params: z.object({ acsTransID: z.uuid() }),
    responses: {
      200: z.object({
        transaction: TransactionView,
        messages: z.array(TraceMessage),
        rreq: z
          .object({
            status: z.string(),
            attempts: z.number(),
            lastError: z.string().optional(),
            resultsStatus: z.string().optional(),
            deliveredAt: z.string().optional(),
          })
          .optional(),
      }),
    },
    handler: (_ctx, { params }) => transactionTrace(reads, params.acsTransID),
  })
  api.route({
    method: 'get',
    path: '/api/statistics',
    summary: 'Authentication statistics per brand: today, last 7 and last 30 days',
    tags: ['transactions'],
    auth: { permission: 'reports.read' },
    query: z.object({ issuerId: z.coerce.number().int().positive().optional() }),
    responses: { 200: Statistics },
    handler: (_ctx, { query }) => statistics(reads, query.issuerId),
  })
}
