/** Console API schemas of the ACS trust list (re-exported by src-server/contract.ts). */
import { z } from 'zod'

export const TrustSource = z.enum(['challenge', 'console'])
export type TrustSource = z.infer<typeof TrustSource>

/** One merchant a cardholder trusts for one card (no PAN: the card's mask only). */
export const TrustedMerchantView = z.object({
  id: z.number().int(),
  cardId: z.number().int(),
  panMasked: z.string(),
  merchantName: z.string().optional(),
  acquirerBIN: z.string().optional(),
  acquirerMerchantID: z.string().optional(),
  /** challenge: the cardholder ticked "trust" in a successful challenge; console: an operator added it. */
  source: TrustSource,
  acsTransID: z.string().optional(),
  addedAt: z.string(),
  addedBy: z.string(),
  removedAt: z.string().optional(),
  removedBy: z.string().optional(),
  removalReason: z.string().optional(),
})
export type TrustedMerchantView = z.infer<typeof TrustedMerchantView>

export const TrustReason = z.string().trim().min(3, 'say why, in a few words').max(500)

export const TrustedMerchantAdd = z.object({
  /** One of the cardholder's authentications: its merchant is the one trusted. */
  acsTransID: z.uuid(),
  reason: TrustReason,
})
export type TrustedMerchantAdd = z.infer<typeof TrustedMerchantAdd>

export const TrustedMerchantRemoval = z.object({ reason: TrustReason })
export type TrustedMerchantRemoval = z.infer<typeof TrustedMerchantRemoval>
