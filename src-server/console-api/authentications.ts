import { z } from 'zod'
import type { ReadPool } from '../store/read-pool'

export const CardholderAuthentication = z.object({
  acsTransID: z.string(),
  createdAt: z.string(),
  panMasked: z.string(),
  merchantName: z.string().optional(),
  amount: z.number().optional(),
  currency: z.string().optional(),
  exponent: z.number().optional(),
  channel: z.string(),
  method: z.string().optional(),
  status: z.string(),
})
export type CardholderAuthentication = z.infer<typeof CardholderAuthentication>

interface Row {
  acs_trans_id: string
  created_at: number
  pan_masked: string
  merchant_name: string | null
  amount: number | null
  currency: string | null
  exponent: number | null
  channel: string
  method: string | null
  status: string
}

/**
 * The latest authentications of every card of one cardholder. The ledger keys cards by the PAN's lookup
 * hash (card_key = cards.pan_lookup), indexed with created_at, so each card is a short index range.
 */
export async function cardholderAuthentications(
  reads: ReadPool,
  cardholderId: number,
  limit: number,
): Promise<CardholderAuthentication[]> {
  const rows = await reads.all<Row>(
    `SELECT t.acs_trans_id, t.created_at, t.pan_masked, t.merchant_name, t.amount, t.currency, t.exponent, t.channel,
            t.method, coalesce(t.final_status, t.ares_status) AS status
     FROM cards c JOIN acs_transactions t ON t.card_key = c.pan_lookup
     WHERE c.cardholder_id = ?
     ORDER BY t.created_at DESC, t.acs_trans_id DESC LIMIT ?`,
    [cardholderId, limit],
  )
  return rows.map((r) => ({
    acsTransID: r.acs_trans_id,
    createdAt: new Date(r.created_at).toISOString(),
    panMasked: r.pan_masked,
    ...(r.merchant_name !== null ? { merchantName: r.merchant_name } : {}),
    ...(r.amount !== null ? { amount: r.amount } : {}),
    ...(r.currency !== null ? { currency: r.currency } : {}),
    ...(r.exponent !== null ? { exponent: r.exponent } : {}),
    channel: r.channel,
    ...(r.method !== null ? { method: r.method } : {}),
    status: r.status,
  }))
}
