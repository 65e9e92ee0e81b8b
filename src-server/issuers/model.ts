import { z } from 'zod'

export const BRANDS = ['visa', 'mastercard', 'amex', 'jcb', 'discover', 'unionpay'] as const
export const Brand = z.enum(BRANDS)
export type Brand = z.infer<typeof Brand>

export const Branding = z
  .object({
    displayName: z.string().trim().min(1).max(80),
    colour: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a #rrggbb colour'),
    logo: z
      .string()
      .max(200_000)
      .regex(
        /^data:image\/(png|svg\+xml|jpeg);base64,[A-Za-z0-9+/=]+$/,
        'a base64 data: URI (png, svg or jpeg)',
      ),
  })
  .partial()
export type Branding = z.infer<typeof Branding>

export const IssuerInput = z.object({
  name: z.string().trim().min(1).max(100),
  acsReferenceNumber: z.string().trim().min(1).max(32),
  acsOperatorId: z.string().trim().min(1).max(32).optional(),
  branding: Branding.default({}),
})
export const Issuer = IssuerInput.extend({ id: z.number().int(), createdAt: z.string() })
export type Issuer = z.infer<typeof Issuer>

const Prefix = z.string().regex(/^\d{1,19}$/, '1 to 19 digits')

/**
 * The authentication-value generators a range can name (built by acs/keys/key-store.ts); `none` leaves the range
 * without one, so its AReqs are answered U (fail closed).
 */
export const AUTH_VALUE_GENERATORS = [
  'visa-cavv',
  'mastercard-spa2-go-cavv',
  'mastercard-spa2-dstransid',
  'none',
] as const
export type AuthValueGeneratorName = (typeof AUTH_VALUE_GENERATORS)[number]

const Eci = z.string().regex(/^[0-9A-Z]{2}$/, 'two digits or capital letters')

/**
 * How a range computes its authentication values (CAVV / AAV): a generator, its key indicator, and the ECI per
 * transaction status of payment authentications where the scheme gave this range other values than the
 * brand's table (acs/auth-values/eci.ts).
 */
export const AuthValueConfig = z
  .object({
    generator: z.enum(AUTH_VALUE_GENERATORS),
    keyIndicator: z.string().regex(/^\d{2}$/),
    eci: z.object({ Y: Eci, A: Eci, N: Eci, U: Eci, R: Eci }).partial().strict(),
  })
  .partial()
  .passthrough()
export type AuthValueConfig = z.infer<typeof AuthValueConfig>

export const CardRangeInput = z
  .object({
    issuerId: z.number().int().positive(),
    brand: Brand,
    startPrefix: Prefix,
    endPrefix: Prefix,
    production: z.boolean().default(false),
    methodUrl: z.url().optional(),
    authValue: AuthValueConfig.default({}),
  })
  .refine(
    (r) => rangeBounds(r.startPrefix, r.endPrefix).low <= rangeBounds(r.startPrefix, r.endPrefix).high,
    {
      message: 'startPrefix must not sort after endPrefix',
      path: ['endPrefix'],
    },
  )
export const CardRange = z.object({
  id: z.number().int(),
  issuerId: z.number().int(),
  brand: Brand,
  startPrefix: z.string(),
  endPrefix: z.string(),
  production: z.boolean(),
  methodUrl: z.string().optional(),
  authValue: z.record(z.string(), z.unknown()),
  status: z.enum(['active', 'disabled']),
  createdAt: z.string(),
})
export type CardRange = z.infer<typeof CardRange>

/**
 * Bounds of a range given by prefixes of any length, padded to 19 digits: `4`..`4` covers every PAN that
 * starts with 4, `2221`..`2720` covers Mastercard's 2-series.
 */
export function rangeBounds(startPrefix: string, endPrefix: string): { low: string; high: string } {
  return { low: startPrefix.padEnd(19, '0'), high: endPrefix.padEnd(19, '9') }
}

export function padPan(pan: string): string {
  return pan.padEnd(19, '0')
}
