/** Console API schemas of the modems and the SMS gateway choice (re-exported by src-server/contract.ts). */
import { z } from 'zod'

export const ModemStateName = z.enum([
  'inactive',
  'disabled',
  'starting',
  'ready',
  'recovering',
  'dead',
  'stopped',
])

export const ModemInfo = z.object({
  id: z.number().int(),
  name: z.string(),
  port: z.string(),
  profile: z.string(),
  baud: z.number().int(),
  enabled: z.boolean(),
  ratePerMinute: z.number().int().nullable(),
  /** Whether a SIM PIN is stored; the PIN itself is never returned. */
  hasPin: z.boolean(),
  state: ModemStateName,
  busy: z.boolean(),
  health: z.number(),
  signal: z.number().optional(),
  registration: z.string().optional(),
  operator: z.string().optional(),
  queueDepth: z.number().int(),
  sent: z.number().int(),
  failed: z.number().int(),
  lastErrors: z.array(z.object({ at: z.string(), message: z.string() })),
})
export type ModemInfo = z.infer<typeof ModemInfo>

export const GatewayName = z.enum(['virtual', 'modems'])
export type GatewayName = z.infer<typeof GatewayName>

export const ModemList = z.object({
  gateway: GatewayName,
  profiles: z.array(z.object({ name: z.string(), description: z.string() })),
  modems: z.array(ModemInfo),
})
export type ModemList = z.infer<typeof ModemList>

const ModemName = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$/, 'letters, digits, space, dot, dash or underscore (1-40)')
const SimPin = z.string().regex(/^[0-9]{4,8}$/, 'a SIM PIN is 4 to 8 digits')
const Rate = z.number().int().min(1).max(6000).nullable()

export const NewModemRequest = z.object({
  name: ModemName,
  port: z.string().trim().min(1).max(300),
  profile: z.string(),
  baud: z.number().int().min(1200).max(4_000_000).default(115_200),
  pin: SimPin.optional(),
  enabled: z.boolean().default(true),
  ratePerMinute: Rate.optional(),
})
export type NewModemRequest = z.input<typeof NewModemRequest>

export const ModemChangeRequest = z.object({
  name: ModemName.optional(),
  profile: z.string().optional(),
  baud: z.number().int().min(1200).max(4_000_000).optional(),
  enabled: z.boolean().optional(),
  ratePerMinute: Rate.optional(),
  pin: SimPin.nullable().optional(),
})
export type ModemChangeRequest = z.infer<typeof ModemChangeRequest>

export const PortList = z.object({
  ports: z.array(
    z.object({
      path: z.string(),
      device: z.string(),
      manufacturer: z.string().optional(),
      vendorId: z.string().optional(),
      productId: z.string().optional(),
      serialNumber: z.string().optional(),
    }),
  ),
  warning: z.string().optional(),
})
export type PortList = z.infer<typeof PortList>

export const ProbeRequest = z.object({
  port: z.string().trim().min(1).max(300),
  baud: z.number().int().min(1200).max(4_000_000).optional(),
})

export const ProbeAnswer = z.object({
  url: z.string(),
  manufacturer: z.string().optional(),
  model: z.string().optional(),
  identification: z.string().optional(),
  signal: z.number().optional(),
  registration: z.string().optional(),
  operator: z.string().optional(),
  refused: z.array(z.string()),
})
export type ProbeAnswer = z.infer<typeof ProbeAnswer>

export const TestSmsRequest = z.object({
  to: z
    .string()
    .transform((s) => s.replace(/[\s\-()]/g, ''))
    .refine((s) => /^\+?[0-9]{3,15}$/.test(s), 'a phone number such as +447700900123'),
  text: z.string().min(1).max(480),
})

export const EventTicket = z.object({ ticket: z.string(), expiresAt: z.string() })
export type EventTicket = z.infer<typeof EventTicket>
