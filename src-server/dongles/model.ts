/**
 * The dongle API's vocabulary (zod): the server validates with it, the OpenAPI document is generated from it,
 * and the console imports its types only.
 */
import { z } from 'zod'

export const DONGLE_STATES = ['in-stock', 'assigned', 'locked', 'lost', 'revoked'] as const
export const DongleState = z.enum(DONGLE_STATES)
export type DongleState = z.infer<typeof DongleState>

export const IMPORT_FORMATS = ['pskc', 'oath-csv', 'yubikey-csv'] as const
export const ImportFormat = z.enum(IMPORT_FORMATS)
export type ImportFormat = z.infer<typeof ImportFormat>

/** Serial numbers as printed on tokens and in vendor files: no spaces or control characters. */
export const Serial = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9._:/-]{1,64}$/, '1 to 64 letters, digits or . _ : / -')

export const Code = z.string().regex(/^\d{6,8}$/, 'a 6 to 8 digit code')
export const Reason = z.string().trim().min(3, 'say why, in a few words').max(500)

export const DongleView = z.object({
  serial: z.string(),
  manufacturer: z.string().optional(),
  model: z.string().optional(),
  kind: z.enum(['hotp', 'totp']),
  algorithm: z.enum(['SHA1', 'SHA256', 'SHA512']),
  digits: z.number(),
  period: z.number(),
  counter: z.number(),
  driftSteps: z.number(),
  state: DongleState,
  stateReason: z.string().optional(),
  batch: z.string().optional(),
  importId: z.number().optional(),
  cardholderId: z.number().optional(),
  failCount: z.number(),
  /** ISO time until which too many wrong codes keep the token locked. */
  lockedUntil: z.string().optional(),
  lastUsedAt: z.string().optional(),
  programmedAt: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
})
export type DongleView = z.infer<typeof DongleView>

/**
 * A cardholder's token as customer service sees it (GET /api/cardholders/{id}/dongles, under cardholders.read):
 * enough to help on the phone (which token, is it locked, how many wrong codes) and nothing of the token's
 * secrets or inner state (no seed, counter or drift), nor of the rest of the inventory.
 */
export const CardholderToken = z.object({
  serial: z.string(),
  model: z.string().optional(),
  kind: z.enum(['hotp', 'totp']),
  /** The length of its codes (what a resync asks for). */
  digits: z.number(),
  state: DongleState,
  stateReason: z.string().optional(),
  /** Refusing codes now: locked by an operator, or too many wrong codes (see `lockedUntil`). */
  locked: z.boolean(),
  lockedUntil: z.string().optional(),
  failCount: z.number(),
  lastUsedAt: z.string().optional(),
})
export type CardholderToken = z.infer<typeof CardholderToken>

export const DongleQuery = z.object({
  state: DongleState.optional(),
  kind: z.enum(['hotp', 'totp']).optional(),
  batch: z.string().trim().min(1).max(200).optional(),
  /** Serial prefix (what a scanner or a typing operator gives). */
  serial: z.string().trim().min(1).max(64).optional(),
  cardholderId: z.coerce.number().int().positive().optional(),
  /** Keyset paging: the last serial of the previous page. */
  after: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
})
export type DongleQuery = z.infer<typeof DongleQuery>

export const DonglePage = z.object({
  items: z.array(DongleView),
  /** Pass as `after` for the next page; absent on the last page. */
  nextAfter: z.string().optional(),
  /** Rows matching the filters (all pages). */
  total: z.number(),
})

export const ImportIssue = z.object({
  line: z.number().optional(),
  element: z.string().optional(),
  message: z.string(),
})

export const ImportJob = z.object({
  id: z.number(),
  source: z.string(),
  format: ImportFormat,
  batch: z.string().optional(),
  status: z.enum(['parsing', 'importing', 'done', 'rejected', 'failed']),
  bytesTotal: z.number(),
  bytesRead: z.number(),
  /** Entries read so far (parsing), then the number to insert. */
  entries: z.number(),
  total: z.number(),
  inserted: z.number(),
  /** 0–100 over the whole run: parsing is the first half, inserting the second. */
  percent: z.number(),
  errors: z.array(ImportIssue),
  moreErrors: z.number(),
  warnings: z.array(ImportIssue),
  createdBy: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().optional(),
})
export type ImportJob = z.infer<typeof ImportJob>

export const VerifyOutcome = z.object({ ok: z.boolean() })

export const SlotParams = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('hotp'),
    algorithm: z.enum(['SHA1', 'SHA256', 'SHA512']).default('SHA1'),
    digits: z.union([z.literal(6), z.literal(8)]).default(6),
    counter: z.number().int().min(0).default(0),
  }),
  z.object({
    kind: z.literal('totp'),
    algorithm: z.enum(['SHA1', 'SHA256', 'SHA512']).default('SHA1'),
    digits: z.union([z.literal(6), z.literal(8)]).default(6),
    period: z.number().int().min(1).max(300).default(30),
  }),
])

export const DetectedDevice = z.object({
  programmerId: z.string(),
  id: z.string(),
  serial: z.string(),
  model: z.string(),
  firmware: z.string(),
  supports: z.object({
    kinds: z.array(z.enum(['hotp', 'totp'])),
    algorithms: z.array(z.enum(['SHA1', 'SHA256', 'SHA512'])),
    digits: z.array(z.number()),
  }),
})
export type DetectedDevice = z.infer<typeof DetectedDevice>

export const ProgrammerView = z.object({
  /** `usb` for the USB bus, `serial-<n>` for a configured serial programmer. */
  id: z.string(),
  name: z.string(),
  driver: z.enum(['yubikey', 'serial']),
  url: z.string().optional(),
  status: z.enum(['ready', 'unavailable']),
  /** Why the programmer is unavailable (no USB bus, port missing …). */
  detail: z.string().optional(),
  devices: z.array(DetectedDevice),
  busy: z.boolean(),
})
export type ProgrammerView = z.infer<typeof ProgrammerView>

export const BenchStepView = z.object({
  step: z.enum([
    'waiting',
    'detected',
    'seed',
    'programmed',
    'verified',
    'labelled',
    'stored',
    'touch',
    'failed',
  ]),
  at: z.string(),
  detail: z.string().optional(),
})
export type BenchStepView = z.infer<typeof BenchStepView>

export const BenchRunView = z.object({
  id: z.number(),
  programmerId: z.string(),
  status: z.enum(['running', 'done', 'failed']),
  /** Set while a USB key waits for the operator to touch it and type its code into the console. */
  awaitingTouch: z.boolean(),
  steps: z.array(BenchStepView),
  device: DetectedDevice.optional(),
  serial: z.string().optional(),
  seedSource: z.enum(['generated', 'inventory']).optional(),
  error: z.string().optional(),
})
export type BenchRunView = z.infer<typeof BenchRunView>
