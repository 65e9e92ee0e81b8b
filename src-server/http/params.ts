import { z } from 'zod'

/** The `:id` path parameter of a record numbered by SQLite (`/api/terminals/:id`): a positive integer. */
export const IdParams = z.object({ id: z.coerce.number().int().positive() })
