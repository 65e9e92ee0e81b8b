import { z } from 'zod'
import { CODE_ALPHABETS } from '../otp/one-time-code'
import { DurationText, RateLimitText } from './limits'
import { MAX_RENDERED_LENGTH, PIN_PLACEHOLDER, placeholdersOf } from './template'

const PinAttempts = z.number().int().min(1).max(100)
const PinTimeToLive = DurationText(1000, 86_400_000)

/** Application policy, with Infobip's defaults. */
export const ApplicationConfiguration = z
  .object({
    pinAttempts: PinAttempts.default(10),
    pinTimeToLive: PinTimeToLive.default('15m'),
    /** Per PIN: verification requests allowed per window (wrong or right). */
    verifyPinLimit: RateLimitText.default('1/3s'),
    /** Per application and phone number: PINs sent (first sends and resends). */
    sendPinPerPhoneNumberLimit: RateLimitText.default('3/1d'),
    /** Per application: PINs sent. */
    sendPinPerApplicationLimit: RateLimitText.default('10000/1d'),
  })
  .strict()
/** An update names only what changes (no defaults filled in). */
const ConfigurationPatch = z
  .object({
    pinAttempts: PinAttempts,
    pinTimeToLive: PinTimeToLive,
    verifyPinLimit: RateLimitText,
    sendPinPerPhoneNumberLimit: RateLimitText,
    sendPinPerApplicationLimit: RateLimitText,
  })
  .partial()
  .strict()
export type ApplicationConfiguration = z.infer<typeof ApplicationConfiguration>

const Name = z.string().trim().min(1, 'required').max(100)

export const CreateApplication = z
  .object({ name: Name, configuration: ApplicationConfiguration.default(ApplicationConfiguration.parse({})) })
  .strict()
export const UpdateApplication = z
  .object({
    name: Name.optional(),
    configuration: ConfigurationPatch.optional(),
    enabled: z.boolean().optional(),
  })
  .strict()

export const ApplicationView = z.object({
  applicationId: z.string(),
  name: z.string(),
  configuration: ApplicationConfiguration,
  enabled: z.boolean(),
  /** The first characters of the API key, to recognise it; the key itself is shown only once. */
  keyPrefix: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  keyRotatedAt: z.string(),
})
export type ApplicationView = z.infer<typeof ApplicationView>
export const CreatedApplication = ApplicationView.extend({ apiKey: z.string() })

export const PinType = z.enum(Object.keys(CODE_ALPHABETS) as [keyof typeof CODE_ALPHABETS])

export const CreateMessage = z
  .object({
    messageText: z
      .string()
      .min(1)
      .max(MAX_RENDERED_LENGTH)
      .refine((t) => placeholdersOf(t).includes(PIN_PLACEHOLDER), 'must contain the {{pin}} placeholder'),
    pinLength: z.number().int().min(4).max(12).default(6),
    pinType: PinType.default('NUMERIC'),
    senderId: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9 ]{1,11}$|^\+?\d{3,15}$/, 'up to 11 letters or digits, or a phone number')
      .optional(),
    language: z
      .string()
      .trim()
      .regex(/^[a-z]{2}$/, 'a two-letter ISO 639-1 code')
      .optional(),
  })
  .strict()
export type CreateMessage = z.infer<typeof CreateMessage>

export const MessageView = z.object({
  messageId: z.string(),
  applicationId: z.string(),
  messageText: z.string(),
  pinLength: z.number(),
  pinType: PinType,
  senderId: z.string().optional(),
  language: z.string().optional(),
  createdAt: z.string(),
})
export type MessageView = z.infer<typeof MessageView>

export const UsageCounts = z.object({
  sent: z.number(),
  verified: z.number(),
  failed: z.number(),
  limited: z.number(),
})
export const UsageView = z.object({
  applicationId: z.string(),
  totals: UsageCounts,
  days: z.array(UsageCounts.extend({ day: z.string() })),
})
export type UsageView = z.infer<typeof UsageView>

// ----------------------------------------------------------------------------------------- PIN API

export const Id = z.string().regex(/^[0-9A-F]{32}$/, 'an identifier of 32 hexadecimal digits')

/** MSISDN with or without the leading `+` (Infobip clients send `41793026727`); kept in E.164. */
export const Msisdn = z
  .string()
  .transform((s) => s.replace(/[\s\-()]/g, ''))
  .transform((s) => (s.startsWith('+') ? s : `+${s}`))
  .refine((s) => /^\+[1-9]\d{7,14}$/.test(s), 'an international number such as 41793026727')

export const SendPin = z
  .object({
    applicationId: Id,
    messageId: Id,
    to: Msisdn,
    from: z.string().max(15).optional(),
    placeholders: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,31}$/), z.string().max(160)).optional(),
  })
  .strict()
export const SmsStatus = z.enum(['MESSAGE_SENT', 'MESSAGE_NOT_SENT'])
export const SendPinResponse = z.object({ pinId: z.string(), to: z.string(), smsStatus: SmsStatus })

export const VerifyPin = z.object({ pin: z.string().min(1).max(32) }).strict()
export const PIN_ERRORS = ['WRONG_PIN', 'TTL_EXPIRED', 'NO_MORE_PIN_ATTEMPTS', 'PIN_ALREADY_USED'] as const
export const PinError = z.enum(PIN_ERRORS)
export type PinError = z.infer<typeof PinError>
export const VerifyPinResponse = z.object({
  pinId: z.string(),
  msisdn: z.string(),
  verified: z.boolean(),
  attemptsRemaining: z.number(),
  pinError: PinError.optional(),
})
export type VerifyPinResponse = z.infer<typeof VerifyPinResponse>

export const PinStatus = z.enum(['PENDING', 'VERIFIED', 'TTL_EXPIRED', 'NO_MORE_PIN_ATTEMPTS'])
export const PinStatusView = z.object({
  pinId: z.string(),
  msisdn: z.string(),
  status: PinStatus,
  attemptsRemaining: z.number(),
  expiresAt: z.string(),
  verifiedAt: z.string().optional(),
  sends: z.number(),
})
export type PinStatusView = z.infer<typeof PinStatusView>
