import { z } from 'zod'
import { luhnValid } from '../crypto/mask'

export const METHODS = ['sms-otp', 'sms-reply', 'dongle', 'mobile-signature', 'none'] as const
export const AuthMethod = z.enum(METHODS)
export type AuthMethod = z.infer<typeof AuthMethod>
export const STATUSES = ['active', 'suspended', 'blocked', 'closed'] as const
export const Status = z.enum(STATUSES)
export type Status = z.infer<typeof Status>

/** Methods that reach the cardholder by SMS and so need a mobile number. */
const NEEDS_MOBILE: ReadonlySet<AuthMethod> = new Set(['sms-otp', 'sms-reply', 'dongle', 'mobile-signature'])

export const Pan = z
  .string()
  .transform((s) => s.replace(/[\s-]/g, ''))
  .refine((s) => /^\d{12,19}$/.test(s), '12 to 19 digits')
  .refine((s) => luhnValid(s), 'fails the Luhn check')

/** Card expiry as YYMM; accepts YYMM, MM/YY and YYYY-MM. */
export const Expiry = z
  .string()
  .trim()
  .transform((s, ctx) => {
    let m: RegExpExecArray | null
    let yymm: string | undefined
    if ((m = /^(\d{2})(\d{2})$/.exec(s))) yymm = s
    else if ((m = /^(\d{2})\/(\d{2})$/.exec(s))) yymm = m[2] + m[1]
    else if ((m = /^\d{2}(\d{2})-(\d{2})$/.exec(s))) yymm = m[1] + m[2]
    const month = yymm ? Number(yymm.slice(2)) : 0
    if (!yymm || month < 1 || month > 12) {
      ctx.addIssue({ code: 'custom', message: 'an expiry date as YYMM, MM/YY or YYYY-MM' })
      return z.NEVER
    }
    return yymm
  })

/** Mobile numbers in E.164: `+` and 8–15 digits (spaces, dashes and brackets are dropped). */
export const Mobile = z
  .string()
  .transform((s) => s.replace(/[\s\-()]/g, ''))
  .refine((s) => /^\+[1-9]\d{7,14}$/.test(s), 'an international number such as +447700900123')

export const Language = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z]{2}$/, 'a two-letter ISO 639-1 language code')

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional())

export const CardholderFields = z
  .object({
    name: z.string().trim().min(1, 'required').max(100),
    mobile: optional(Mobile),
    email: optional(z.email('an e-mail address')),
    language: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? 'en' : v), Language),
    method: AuthMethod,
  })
  .superRefine((c, ctx) => {
    if (NEEDS_MOBILE.has(c.method) && !c.mobile) {
      ctx.addIssue({ code: 'custom', path: ['mobile'], message: `required for the ${c.method} method` })
    }
  })

/** One line of a mass-enrolment CSV: `pan,expiry,name,mobile,email,language,method`. */
export const EnrolmentLine = z.intersection(z.object({ pan: Pan, expiry: Expiry }), CardholderFields)
export type EnrolmentLine = z.infer<typeof EnrolmentLine>
export const CSV_HEADER = ['pan', 'expiry', 'name', 'mobile', 'email', 'language', 'method'] as const

export const CardView = z.object({
  id: z.number(),
  panMasked: z.string(),
  last4: z.string(),
  brand: z.string(),
  expiry: z.string(),
  status: Status,
  statusReason: z.string().optional(),
})
export const CardholderView = z.object({
  id: z.number(),
  issuerId: z.number(),
  name: z.string(),
  mobile: z.string().optional(),
  email: z.string().optional(),
  language: z.string(),
  method: AuthMethod,
  status: Status,
  statusReason: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  cards: z.array(CardView),
})
export type CardholderView = z.infer<typeof CardholderView>
