import { z } from 'zod'

/** Terminal management vocabulary: terminals, EMV parameter sets, card lists, terminal status reports. */
const Hex = (bytes: number) =>
  z.string().regex(new RegExp(`^[0-9A-Fa-f]{${bytes * 2}}$`), `${bytes * 2} hex digits`)
const Amount = z.number().int().min(0).max(999_999_999_999)
const Percent = z.number().int().min(0).max(99)

/**
 * The parameters of one terminal profile (EMV 4.4 Book 3 §10.6–10.7 and Book 4 tags): amounts in minor units
 * of `currencyCode`, TACs as 5-byte TVR masks.
 */
export const TerminalParameters = z
  .object({
    currencyCode: z.string().regex(/^\d{3}$/, 'ISO 4217 numeric'),
    countryCode: z.string().regex(/^\d{3}$/, 'ISO 3166 numeric (9F1A)'),
    terminalType: z.string().regex(/^\d{2}$/, '9F35, e.g. 22'),
    terminalCapabilities: Hex(3),
    additionalTerminalCapabilities: Hex(5),
    /** Terminal Floor Limit (9F1B). */
    floorLimit: Amount,
    /** Biased random selection: threshold, target and maximum target percentages. */
    randomSelection: z.object({ threshold: Amount, targetPercent: Percent, maxTargetPercent: Percent }),
    tacDenial: Hex(5),
    tacOnline: Hex(5),
    tacDefault: Hex(5),
    contactless: z
      .object({ floorLimit: Amount, transactionLimit: Amount, cvmRequiredLimit: Amount })
      .optional(),
  })
  .strict()
  .refine((p) => p.randomSelection.targetPercent <= p.randomSelection.maxTargetPercent, {
    message: 'the target percentage cannot exceed the maximum target percentage',
    path: ['randomSelection'],
  })
  .refine((p) => p.randomSelection.threshold <= p.floorLimit, {
    message: 'the random-selection threshold lies below the floor limit',
    path: ['randomSelection', 'threshold'],
  })
export type TerminalParameters = z.infer<typeof TerminalParameters>

export const NewParameterSet = z.object({
  name: z.string().regex(/^[\w .-]{1,60}$/),
  signingKeyId: z.number().int().positive(),
  parameters: TerminalParameters,
})

export const ParameterSet = z.object({
  id: z.number().int(),
  name: z.string(),
  version: z.number().int(),
  /** The signed bytes, as sent to terminals. */
  payload: z.string(),
  signature: z.string(),
  signingKey: z.object({ id: z.number().int(), name: z.string(), kcv: z.string() }),
  createdBy: z.string(),
  createdAt: z.string(),
})
export type ParameterSet = z.infer<typeof ParameterSet>

export const NewTerminal = z.object({
  terminalId: z.string().regex(/^[0-9A-Za-z]{8}$/, '8 characters (9F1C)'),
  merchantId: z.string().regex(/^[0-9A-Za-z ]{1,15}$/, 'up to 15 characters (9F16)'),
  acquirerId: z.string().regex(/^\d{6,11}$/, '6 to 11 digits (9F01)'),
  name: z.string().trim().min(1).max(80),
})

export const Terminal = z.object({
  id: z.number().int(),
  terminalId: z.string(),
  merchantId: z.string(),
  acquirerId: z.string(),
  name: z.string(),
  parameterSet: z.object({ id: z.number().int(), name: z.string(), version: z.number().int() }).optional(),
  appliedParameterSet: z
    .object({ id: z.number().int(), name: z.string(), version: z.number().int() })
    .optional(),
  exceptionListVersion: z.number().int(),
  allowListVersion: z.number().int(),
  status: z.enum(['new', 'ok', 'error']),
  statusMessage: z.string().optional(),
  lastSeenAt: z.string().optional(),
  /** True when the terminal has not acknowledged the current parameters or lists. */
  outOfDate: z.boolean(),
  createdAt: z.string(),
})
export type Terminal = z.infer<typeof Terminal>

export const CardListName = z.enum(['exception', 'allow'])
export type CardListName = z.infer<typeof CardListName>
const Pan = z.string().regex(/^\d{12,19}$/, '12 to 19 digits')
const Psn = z.string().regex(/^\d{2}$/, 'two digits (5F34)')
const Bin = z.string().regex(/^\d{6,8}$/, 'a BIN of 6 to 8 digits')
export const ExceptionEntry = z.object({ pan: Pan, psn: Psn.optional() })
export const AllowEntry = z.object({ bin: Bin })

export const ListChange = z.object({
  add: z
    .array(z.union([ExceptionEntry, AllowEntry]))
    .max(100_000)
    .default([]),
  remove: z
    .array(z.union([ExceptionEntry, AllowEntry]))
    .max(100_000)
    .default([]),
})

export const ListVersion = z.object({
  list: CardListName,
  version: z.number().int(),
  added: z.number().int(),
  removed: z.number().int(),
  createdBy: z.string(),
  createdAt: z.string(),
})

/** The console's view of a list: masked PANs or BINs. */
export const ListView = z.object({
  list: CardListName,
  version: z.number().int(),
  entries: z.array(z.string()),
  versions: z.array(ListVersion),
})

/** What a terminal downloads: the full list, or the changes since the version it holds. */
export const ListDownload = z.object({
  list: CardListName,
  version: z.number().int(),
  since: z.number().int(),
  full: z.boolean(),
  add: z.array(z.union([ExceptionEntry, AllowEntry])),
  remove: z.array(z.union([ExceptionEntry, AllowEntry])),
})

export const StatusReport = z.object({
  /** The parameter set id and version the terminal has applied (after checking its signature). */
  parameterSetId: z.number().int().positive().optional(),
  parameterVersion: z.number().int().positive().optional(),
  exceptionListVersion: z.number().int().min(0).optional(),
  allowListVersion: z.number().int().min(0).optional(),
  status: z.enum(['ok', 'error']),
  message: z.string().max(500).optional(),
})
