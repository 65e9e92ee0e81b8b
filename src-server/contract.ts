/**
 * The console API's shared vocabulary. Request/response schemas live here (zod) so the server validates
 * with them, the OpenAPI document is generated from them, and the console imports their *types* only.
 */
import { z } from 'zod'

export const ROLES = ['admin', 'supervisor', 'agent', 'bench', 'key-custodian'] as const
export const Role = z.enum(ROLES)
export type Role = z.infer<typeof Role>

export const Operator = z.object({
  id: z.number().int(),
  username: z.string(),
  displayName: z.string(),
  role: Role,
  totpEnabled: z.boolean(),
  status: z.enum(['active', 'disabled']),
})
export type Operator = z.infer<typeof Operator>

export const SessionRequest = z.object({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
  totp: z
    .string()
    .regex(/^\d{6}$/)
    .optional(),
})
export type SessionRequest = z.infer<typeof SessionRequest>

export const SessionResponse = z.object({
  token: z.string(),
  expiresAt: z.string(),
  operator: Operator,
  permissions: z.array(z.string()),
})
export type SessionResponse = z.infer<typeof SessionResponse>

export const CurrentSession = SessionResponse.omit({ token: true })
export type CurrentSession = z.infer<typeof CurrentSession>

/** RFC 9457 problem details, the body of every console API error. */
export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  /** Field-level validation errors. */
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  /** Seconds until a retry can succeed (lockout, rate limits). */
  retryAfter: z.number().optional(),
  /** Set on a 401 when the password was right and a TOTP code is still needed. */
  totpRequired: z.boolean().optional(),
})
export type Problem = z.infer<typeof Problem>

export const Health = z.object({ status: z.literal('ok'), version: z.string() })
export type Health = z.infer<typeof Health>

/** First run: whether the first admin still has to be created, and the form that creates it. */
export const SetupStatus = z.object({ needed: z.boolean() })
export type SetupStatus = z.infer<typeof SetupStatus>
export const SetupRequest = z.object({
  username: z
    .string()
    .regex(/^[a-zA-Z0-9._-]{2,64}$/, 'letters, digits, dot, underscore or dash, 2–64 characters'),
  displayName: z.string().trim().min(1).max(100),
  password: z.string().min(1).max(1024),
})
export type SetupRequest = z.infer<typeof SetupRequest>
export * from './modems/contract'
export * from './acs/trust-list/contract'
