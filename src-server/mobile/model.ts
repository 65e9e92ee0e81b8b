import { z } from 'zod'
import { Channel } from '../channels/model'
import { DECISIONS } from './canonical'

/** What the authenticator reports about the device it runs on; stored only as a hash (fingerprintOf). */
export const DeviceDescription = z
  .object({
    platform: z.string().max(200),
    userAgent: z.string().max(1000),
    /** e.g. "390x844@3". */
    screen: z.string().max(40),
    /** IANA zone, e.g. "Europe/Paris". */
    timeZone: z.string().max(80),
  })
  .strict()
export type DeviceDescription = z.infer<typeof DeviceDescription>

const B64url = (max: number) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'base64url')
    .max(max)
export const DeviceName = z.string().trim().min(1, 'required').max(60)

export const ActivationRequest = z
  .object({
    token: B64url(64),
    /** SPKI DER of the new ECDSA P-256 key, base64url. */
    publicKey: B64url(400),
    /** Signature (r‖s, base64url) over the activation record. */
    proof: B64url(100),
    name: DeviceName,
    description: DeviceDescription,
  })
  .strict()

export const ActivationResponse = z.object({ deviceId: z.string(), maskedMobile: z.string() })

export const DeviceView = z.object({
  id: z.string(),
  cardholderId: z.number(),
  name: z.string(),
  status: z.enum(['pending', 'active', 'revoked']),
  platform: z.string(),
  keyThumbprint: z.string(),
  fingerprint: z.string(),
  fingerprintChanges: z.number(),
  lastFingerprintChangeAt: z.string().optional(),
  cards: z.array(z.object({ id: z.number(), panMasked: z.string() })),
  createdAt: z.string(),
  activatedAt: z.string().optional(),
  lastUsedAt: z.string().optional(),
  revokedAt: z.string().optional(),
  revokedBy: z.string().optional(),
  revokeReason: z.string().optional(),
})
export type DeviceView = z.infer<typeof DeviceView>

/** An approval request as the authenticator shows it: what the cardholder approves, and what it signs. */
export const ApprovalView = z.object({
  id: z.string(),
  /** The 3-D Secure transaction approved; absent for a channel request. */
  acsTransID: z.string().optional(),
  /** The channel API's authentication request approved (MOTO, EDC, ECOM); absent for 3-D Secure. */
  authRequest: z.string().optional(),
  /** The channel of an authRequest: a phone or mail order, a shop terminal, a web shop without 3-D Secure. */
  channel: Channel.optional(),
  mode: z.enum(['browser', 'app', 'decoupled']),
  merchant: z.string(),
  /** Minor units (digits) or '-'; with exponent and currency exactly as the signed record takes them. */
  amount: z.string(),
  exponent: z.string(),
  /** ISO 4217: numeric for 3-D Secure, alphabetic for a channel request; '-' without an amount. */
  currency: z.string(),
  /** e.g. "EUR 12.34", for display only. */
  amountText: z.string().optional(),
  panMasked: z.string(),
  issuedAt: z.number(),
  expiresAt: z.number(),
  nonce: z.string(),
  /** 'scan': the cardholder must scan the QR code on the merchant's screen before approving. */
  presence: z.enum(['tap', 'scan']),
  /** Set when the device resolved a scanned QR code of this approval's screen. */
  poi: z.string().optional(),
})
export type ApprovalView = z.infer<typeof ApprovalView>

export const DecisionRequest = z
  .object({
    decision: z.enum(DECISIONS),
    signedAt: z.number().int().min(0),
    /** The scanned QR token when the approval is bound to a screen. */
    poiToken: z.string().max(200).optional(),
    signature: B64url(100),
  })
  .strict()

export const ApprovalStatus = z.enum(['pending', 'approved', 'declined', 'fraud'])
export const DecisionResponse = z.object({
  status: ApprovalStatus,
  /** The 3-D Secure result sent in the RReq; absent for a channel request. */
  transStatus: z.string().optional(),
})

export const MobileSettings = z
  .object({
    /** How long an approval request stays open (it also ends with its challenge). */
    approvalTtlSeconds: z.number().int().min(1).max(3600).default(300),
    /** Every approval must be bound to a screen by scanning its rotating QR code (no remote approval). */
    scanRequired: z.boolean().default(false),
    /** How often the rotating QR codes change; a code is accepted for two periods. */
    qrPeriodSeconds: z.number().int().min(1).max(300).default(30),
    /** Largest difference accepted between the device's clock and the server's. */
    clockSkewSeconds: z.number().int().min(5).max(600).default(120),
    /**
     * How long an authenticator reached over its event stream has to read the request (or decide it) before
     * the wake-up SMS is sent anyway: a phone gone off the network can leave its stream open (half-open TCP).
     */
    wakeGraceSeconds: z.number().int().min(1).max(120).default(8),
    /**
     * Who is shown an activation QR code on the last page of a browser challenge passed with an SMS code
     * (mobile/activation-offer.ts): cardholders enrolled for the mobile signature without an active device,
     * every such cardholder, or nobody.
     */
    activationOnChallenge: z.enum(['enrolled', 'all', 'off']).default('enrolled'),
  })
  .strict()
export type MobileSettings = z.infer<typeof MobileSettings>

export const MethodStatistics = z.object({
  devices: z.object({ pending: z.number(), active: z.number(), revoked: z.number() }),
  approvals: z.object({
    pending: z.number(),
    approved: z.number(),
    declined: z.number(),
    fraud: z.number(),
    expired: z.number(),
  }),
  /** Share of decided approvals bound to a screen by a scanned QR code. */
  scannedShare: z.number(),
  /** Share of approvals that needed an SMS to wake the authenticator. */
  smsWakeShare: z.number(),
  /** Median seconds from request to decision. */
  medianDecisionSeconds: z.number().optional(),
  fingerprintChanges: z.number(),
})
export type MethodStatistics = z.infer<typeof MethodStatistics>
