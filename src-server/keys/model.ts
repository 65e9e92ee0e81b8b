import { z } from 'zod'

/** The key store's vocabulary: what a key is, what it may be used for, and how the API shows it. */
export const KEY_KINDS = ['bdk', 'kek', 'kbpk', 'tmk', 'pin', 'mac', 'data', 'signing'] as const
export type KeyKind = (typeof KEY_KINDS)[number]
export const SYMMETRIC_ALGORITHMS = ['tdes2', 'tdes3', 'aes128', 'aes192', 'aes256'] as const
export type SymmetricAlgorithm = (typeof SYMMETRIC_ALGORITHMS)[number]
export const KEY_ALGORITHMS = [...SYMMETRIC_ALGORITHMS, 'ecdsa-p256'] as const
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number]
export type KeyStatus = 'pending' | 'active' | 'retired' | 'destroyed'

export const SYMMETRIC_LENGTH: Record<SymmetricAlgorithm, number> = {
  tdes2: 16,
  tdes3: 24,
  aes128: 16,
  aes192: 24,
  aes256: 32,
}

const ALL_SYMMETRIC = [...SYMMETRIC_ALGORITHMS]

/** TR-31 usage and mode per kind (X9.143): what a key of that kind is bound to unless told otherwise. */
export const KEY_KIND_DEFAULTS: Record<
  KeyKind,
  { keyUsage: string; modeOfUse: string; algorithms: readonly KeyAlgorithm[] }
> = {
  // TDES DUKPT needs a 2TDEA BDK; AES DUKPT takes AES-128/192/256.
  bdk: { keyUsage: 'B0', modeOfUse: 'X', algorithms: ['tdes2', 'aes128', 'aes192', 'aes256'] },
  kek: { keyUsage: 'K0', modeOfUse: 'B', algorithms: ALL_SYMMETRIC },
  kbpk: { keyUsage: 'K1', modeOfUse: 'B', algorithms: ALL_SYMMETRIC },
  tmk: { keyUsage: 'K0', modeOfUse: 'B', algorithms: ALL_SYMMETRIC },
  pin: { keyUsage: 'P0', modeOfUse: 'B', algorithms: ALL_SYMMETRIC },
  mac: { keyUsage: 'M6', modeOfUse: 'C', algorithms: ALL_SYMMETRIC },
  data: { keyUsage: 'D0', modeOfUse: 'B', algorithms: ALL_SYMMETRIC },
  signing: { keyUsage: 'S0', modeOfUse: 'S', algorithms: ['ecdsa-p256'] },
}

/**
 * The TR-31 usages (X9.143) a key of each kind may carry. The kind decides how the store lets a key be used
 * (only kek/kbpk wrap other keys, only a bdk derives initial keys), the usage is what its key blocks tell
 * devices and HSMs: the two must agree, or a PIN key could be stored as a KEK and wrap keys (PCI PIN 19).
 */
export const KEY_KIND_USAGES: Record<KeyKind, readonly string[]> = {
  bdk: ['B0'],
  kek: ['K0'],
  kbpk: ['K1'],
  tmk: ['K0'],
  pin: ['P0'],
  // M0–M8: the ISO 16609 / ISO 9797-1 MAC algorithms, CMAC and HMAC.
  mac: ['M0', 'M1', 'M2', 'M3', 'M4', 'M5', 'M6', 'M7', 'M8'],
  data: ['D0'],
  signing: ['S0'],
}

/** The usages of a key that may wrap other keys (TR-31 key blocks): KEK/TMK and KBPK. */
export const KEY_ENCRYPTION_USAGES: readonly string[] = ['K0', 'K1']

const Tr31Usage = z.string().regex(/^[0-9A-Z]{2}$/, 'two characters, e.g. B0, K0, K1, P0')
const Tr31Mode = z.string().regex(/^[A-Z0-9]$/, 'one character, e.g. B, E, D, X')
export const KeyName = z
  .string()
  .trim()
  .regex(/^[\w .:/()-]{1,80}$/, 'letters, digits, spaces and . : / ( ) - _, up to 80 characters')

export const KeyRecord = z.object({
  id: z.number().int(),
  name: z.string(),
  kind: z.enum(KEY_KINDS),
  algorithm: z.enum(KEY_ALGORITHMS),
  keyUsage: z.string(),
  modeOfUse: z.string(),
  /** The key check value: the only way a key is ever shown. */
  kcv: z.string(),
  kcvMethod: z.enum(['legacy', 'cmac', 'sha256']),
  status: z.enum(['pending', 'active', 'retired', 'destroyed']),
  wrappedUnder: z.union([
    z.object({ type: z.literal('master') }),
    z.object({ type: z.literal('key'), keyId: z.number().int(), name: z.string() }),
  ]),
  publicKey: z.string().optional(),
  bdkId: z.string().optional(),
  origin: z.enum(['generated', 'ceremony', 'imported']),
  ceremonyId: z.number().int().optional(),
  createdBy: z.string(),
  createdAt: z.string(),
  statusChangedAt: z.string(),
})
export type KeyRecord = z.infer<typeof KeyRecord>

export const NewKey = z.object({
  name: KeyName,
  kind: z.enum(KEY_KINDS),
  algorithm: z.enum(KEY_ALGORITHMS),
  keyUsage: Tr31Usage.optional(),
  modeOfUse: Tr31Mode.optional(),
  bdkId: z.string().optional(),
  wrapUnder: z.number().int().positive().optional(),
})

export const ImportKeyBlock = z.object({
  name: KeyName,
  kind: z.enum(KEY_KINDS),
  kekId: z.number().int().positive(),
  keyBlock: z.string().min(16).max(4000),
})

export const NewCeremony = z
  .object({
    name: KeyName,
    kind: z.enum(KEY_KINDS).refine((k) => k !== 'signing', 'signing keys are generated, not entered'),
    algorithm: z.enum(SYMMETRIC_ALGORITHMS),
    keyUsage: Tr31Usage.optional(),
    modeOfUse: Tr31Mode.optional(),
    bdkId: z.string().optional(),
    scheme: z.enum(['xor', 'shamir']).default('xor'),
    /** One username per component (xor) or share (shamir), in entry order. */
    custodians: z.array(z.string().min(1).max(64)).min(2).max(9),
    /** shamir only: how many of the shares rebuild the key. */
    threshold: z.number().int().min(2).max(9).optional(),
  })
  .refine((c) => c.scheme === 'shamir' || c.custodians.length <= 3, {
    message: 'classic XOR ceremonies take 2 or 3 components; use shamir for more custodians',
    path: ['custodians'],
  })
  .refine((c) => c.scheme === 'shamir' || c.threshold === undefined, {
    message: 'a threshold applies to shamir shares only',
    path: ['threshold'],
  })

export const ComponentEntry = z.object({
  /** The component (or share) as hex. Never returned, never logged. */
  value: z.string().min(16).max(128),
  /** The KCV printed on the component form, checked before anything is stored. */
  kcv: z
    .string()
    .regex(/^[0-9A-Fa-f]{4,10}$/)
    .optional(),
  /** shamir only: the share's index (its x coordinate, 1–255). */
  shareIndex: z.number().int().min(1).max(255).optional(),
})

export const CeremonyView = z.object({
  id: z.number().int(),
  name: z.string(),
  kind: z.string(),
  algorithm: z.string(),
  keyUsage: z.string(),
  scheme: z.enum(['xor', 'shamir']),
  components: z.number().int(),
  threshold: z.number().int(),
  openedBy: z.string(),
  status: z.enum(['open', 'completed', 'cancelled']),
  openedAt: z.string(),
  closedAt: z.string().optional(),
  /** The result, once complete: its id and KCV (shown to everyone). */
  key: z.object({ id: z.number().int(), kcv: z.string() }).optional(),
  custodians: z.array(
    z.object({
      position: z.number().int(),
      username: z.string(),
      entered: z.boolean(),
      enteredAt: z.string().optional(),
      /** Only in the answer to the custodian who entered it. */
      kcv: z.string().optional(),
      yourTurn: z.boolean(),
    }),
  ),
})
export type CeremonyView = z.infer<typeof CeremonyView>

export const ComponentReceipt = z.object({
  ceremonyId: z.number().int(),
  position: z.number().int(),
  /** The KCV of the component just entered, for its custodian to compare with the form. */
  kcv: z.string(),
  completed: z.boolean(),
  key: z.object({ id: z.number().int(), kcv: z.string() }).optional(),
  warnings: z.array(z.string()),
})
