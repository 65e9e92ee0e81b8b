import { z } from 'zod'

/** The key-injection API's vocabulary: trust, stations, runs, injections and their progress events. */
const Serial = z.string().regex(/^[0-9A-Za-z-]{1,32}$/, '1-32 letters, digits or dashes')
const Pem = z.string().min(64).max(20_000)

export const TrustImport = z.object({
  trustedCaPem: Pem,
  kdhCertificatePem: Pem,
  kdhPrivateKeyPem: Pem,
})
export const LabTrust = z.object({ caCertificatePem: Pem, caPrivateKeyPem: Pem })

/** Largest CRL (DER) the station takes: some thousands of revoked devices fit in a small part of it. */
export const CRL_MAX_BYTES = 1024 * 1024
export const CrlImport = z.object({
  /** The trusted CA's CRL as PEM ("-----BEGIN X509 CRL-----") or as base64 of its DER. */
  crl: z
    .string()
    .min(32)
    .max(Math.ceil((CRL_MAX_BYTES * 4) / 3) + 64 * 1024, 'the CRL is larger than 1 MiB'),
})
export const TrustView = z.object({
  trustedCa: z.object({ subject: z.string(), fingerprint256: z.string(), validTo: z.string() }),
  kdh: z.object({ subject: z.string(), serialNumber: z.string(), validTo: z.string() }),
  updatedBy: z.string(),
  updatedAt: z.string(),
  /** The CA's CRL applied to every injection; absent until one is imported. */
  crl: z
    .object({
      thisUpdate: z.string(),
      nextUpdate: z.string(),
      crlNumber: z.string().optional(),
      revokedCount: z.number().int(),
      /** False after the trusted CA was replaced by another one: injection stops until its CRL is imported. */
      issuedByTrustedCa: z.boolean(),
      importedBy: z.string(),
      importedAt: z.string(),
    })
    .optional(),
})
export type TrustView = z.infer<typeof TrustView>

export const NewStation = z.object({
  name: z.string().trim().min(1).max(60),
  url: z
    .string()
    .regex(/^(\/dev\/[\w./-]+|\/[\w./-]+|tcp:\/\/[\w.-]+:\d{1,5})$/, 'a /dev/... path or tcp://host:port'),
  profile: z.enum(['stx', 'syn']).default('stx'),
  baud: z.number().int().min(1200).max(921_600).default(115_200),
})
export const Station = NewStation.extend({
  id: z.number().int(),
  busy: z.boolean(),
  createdAt: z.string(),
})
export type Station = z.infer<typeof Station>

export const NewRun = z.object({
  name: z.string().trim().min(1).max(80),
  bdkKeyId: z.number().int().positive(),
  profile: z.enum(['production', 'lab']).default('production'),
  keyTransport: z.enum(['tr34', 'clear']).default('tr34'),
  /** The inventory: the only devices this run may load. */
  serials: z.array(Serial).min(1).max(100_000),
})

export const Injection = z.object({
  id: z.number().int(),
  runId: z.number().int(),
  stationId: z.number().int(),
  deviceSerial: z.string().optional(),
  deviceModel: z.string().optional(),
  securityVersion: z.string().optional(),
  status: z.enum(['running', 'injected', 'failed', 'refused']),
  step: z.string(),
  kbpkKcv: z.string().optional(),
  initialKeyKcv: z.string().optional(),
  initialKsn: z.string().optional(),
  selfTestKsn: z.string().optional(),
  error: z.string().optional(),
  operators: z.array(z.string()),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
})
export type Injection = z.infer<typeof Injection>

export const Run = z.object({
  id: z.number().int(),
  name: z.string(),
  bdk: z.object({ id: z.number().int(), name: z.string(), kcv: z.string(), algorithm: z.string() }),
  profile: z.enum(['production', 'lab']),
  keyTransport: z.enum(['tr34', 'clear']),
  createdBy: z.string(),
  createdAt: z.string(),
  devices: z.object({ expected: z.number(), injected: z.number(), failed: z.number() }),
})
export type Run = z.infer<typeof Run>

export const RunDetail = Run.extend({
  inventory: z.array(z.object({ serial: z.string(), status: z.enum(['expected', 'injected', 'failed']) })),
  injections: z.array(Injection),
})

export const PedOperator = z.object({
  id: z.string().regex(/^[\x21-\x7e]{1,32}$/),
  password: z.string().regex(/^[\x20-\x7e]{1,64}$/),
})
export const InjectRequest = z.object({
  stationIds: z.array(z.number().int().positive()).min(1).max(32),
  /** The two device-keypad operators who open key-loading mode on the PED (never stored or logged). */
  pedOperators: z.tuple([PedOperator, PedOperator]),
})

/** One step of one station's work, pushed to the console over server-sent events. */
export const ProgressEvent = z.object({
  injectionId: z.number().int(),
  runId: z.number().int(),
  stationId: z.number().int(),
  station: z.string(),
  serial: z.string().optional(),
  step: z.string(),
  status: z.enum(['running', 'injected', 'failed', 'refused']),
  message: z.string().optional(),
  at: z.string(),
})
export type ProgressEvent = z.infer<typeof ProgressEvent>
