import { z } from 'zod'
import { Pan } from '../enrolment/model'

export const CHANNELS = ['MOTO', 'EDC', 'ECOM'] as const
export const Channel = z.enum(CHANNELS)
export type Channel = z.infer<typeof Channel>

export const STATUSES = ['pending', 'authenticated', 'failed', 'refused', 'expired'] as const
export type AuthRequestStatus = (typeof STATUSES)[number]

const Name = z.string().trim().min(1, 'required').max(100)
const WebhookUrl = z
  .url({ protocol: /^https?$/, error: 'an http or https URL' })
  .max(500)
  .refine((u) => !new URL(u).username && !new URL(u).password, 'no credentials in the URL')

export const CreateChannelClient = z
  .object({
    name: Name,
    channels: z
      .array(Channel)
      .min(1)
      .default([...CHANNELS]),
    webhookUrl: WebhookUrl.optional(),
  })
  .strict()
export const UpdateChannelClient = z
  .object({
    name: Name.optional(),
    channels: z.array(Channel).min(1).optional(),
    webhookUrl: WebhookUrl.nullable().optional(),
    enabled: z.boolean().optional(),
  })
  .strict()

export const ChannelClientView = z.object({
  clientId: z.string(),
  name: z.string(),
  channels: z.array(Channel),
  webhookUrl: z.string().optional(),
  enabled: z.boolean(),
  keyPrefix: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
})
export type ChannelClientView = z.infer<typeof ChannelClientView>
export const CreatedChannelClient = ChannelClientView.extend({
  apiKey: z.string(),
  webhookSecret: z.string(),
})

export const CardReference = z.string().regex(/^crd_[A-Za-z0-9_-]{20,64}$/, 'a card reference (crd_...)')

/** Decimal amount in major units, as text or number: `12.34`. */
const Amount = z
  .union([z.string(), z.number()])
  .transform((v) => String(v).trim())
  .refine((s) => /^\d{1,12}(\.\d{1,3})?$/.test(s) && Number(s) > 0, 'a positive amount such as 12.34')

/** Printable text only: the merchant's name goes into the cardholder's SMS. */
const Merchant = z
  .string()
  .trim()
  .min(1, 'required')
  .max(40)
  // eslint-disable-next-line no-control-regex
  .refine((s) => !/[\u0000-\u001f\u007f\u2028\u2029\u2063{}]/.test(s), 'printable text only')

export const CreateAuthRequest = z
  .object({
    channel: Channel,
    pan: Pan.optional(),
    cardReference: CardReference.optional(),
    amount: Amount,
    currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR'),
    merchant: Merchant,
    /** The client's own id for this request: sending it again returns the same request (safe retries). */
    clientReference: z.string().trim().min(1).max(64).optional(),
  })
  .strict()
  .refine((r) => (r.pan === undefined) !== (r.cardReference === undefined), {
    message: 'give either pan or cardReference',
    path: ['pan'],
  })
export type CreateAuthRequest = z.infer<typeof CreateAuthRequest>

export const Verify = z.object({ code: z.string().min(1).max(32) }).strict()

export const AuthRequestView = z.object({
  id: z.string(),
  status: z.enum(STATUSES),
  channel: Channel,
  card: z.object({ masked: z.string(), reference: z.string() }),
  amount: z.string(),
  currency: z.string(),
  merchant: z.string(),
  /** The method that actually challenges the cardholder. */
  method: z.string(),
  /**
   * The cardholder's own method, when it could not reach them and `method` runs instead (a mobile
   * signature without an active authenticator falls back to SMS OTP).
   */
  fallbackFrom: z.string().optional(),
  /**
   * code-entry: the agent or terminal sends the code to /verify; reply: the cardholder answers by SMS;
   * approval: the cardholder approves in the bank's authenticator (scanning the QR code of `screen`).
   */
  interaction: z.enum(['code-entry', 'reply', 'approval']),
  prompt: z.object({
    kind: z.enum(['code', 'oob']),
    maskedDestination: z.string(),
    codeLength: z.number().optional(),
    resendAvailable: z.boolean().optional(),
  }),
  /**
   * The point-of-interaction screen of an approval, on this server: the merchant's or call centre's screen
   * shows this page, a QR code refreshed every 30 s that the cardholder scans with the authenticator.
   */
  screen: z.object({ path: z.string() }).optional(),
  /** What the last answer changed: a wrong code (with attempts left), a code resent, an expired code. */
  notice: z
    .object({
      kind: z.enum(['wrong-code', 'code-resent', 'code-expired']),
      attemptsLeft: z.number().optional(),
    })
    .optional(),
  clientReference: z.string().optional(),
  createdAt: z.string(),
  expiresAt: z.string(),
  decidedAt: z.string().optional(),
})
export type AuthRequestView = z.infer<typeof AuthRequestView>
