import { z } from 'zod'

/**
 * An operator's username, wherever an account is made (the API, `ims init`): within what sign-in accepts
 * (64 characters) and plain enough to read in audit rows.
 */
export const Username = z
  .string()
  .regex(/^[a-zA-Z0-9._-]{2,64}$/, 'letters, digits, dot, underscore or dash, 2–64 characters')
