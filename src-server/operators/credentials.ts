import { z } from 'zod'

/**
 * An operator's username, wherever an account is made (the API, `ims init`): within what sign-in accepts
 * (64 characters) and plain enough to read in audit rows.
 */
export const Username = z
  .string()
  .regex(/^[a-zA-Z0-9._-]{2,64}$/, 'letters, digits, dot, underscore or dash, 2–64 characters')

/** The second person of a dual-control action (OperatorService.approve): their own sign-in credentials. */
export const ApproverCredentials = z.object({
  username: z.string().min(1).max(100),
  password: z.string().min(1).max(1024),
  totp: z.string().max(10).optional(),
})
