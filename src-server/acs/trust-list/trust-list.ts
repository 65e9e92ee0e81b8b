import type { AuditLog } from '../../audit/audit-log'
import { conflict, HttpProblem, notFound } from '../../http/problem'
import { statementCache, type Db } from '../../store/db'
import type { TrustedMerchantView, TrustSource } from './contract'
import { merchantIdentity, type MerchantIdentity } from './merchant'

/**
 * The trust list the ACS keeps itself: (card, merchant) pairs a cardholder trusted, so the issuer's rules
 * can skip the challenge next time (`trustList` condition). Only two things put a pair here: the cardholder
 * ticking "trust" in a challenge that then succeeded, or an operator (audited, with a reason). What a
 * requestor reports in the AReq (`whiteListStatus`) never does.
 */
export interface NewTrust {
  cardId: number
  /** The card's mask, for the audit record. */
  panMasked: string
  merchant: MerchantIdentity
  source: TrustSource
  acsTransID?: string
  actor: string
  reason?: string
}

interface Row {
  id: number
  card_id: number
  pan_masked: string
  merchant_name: string | null
  acquirer_bin: string | null
  acquirer_merchant_id: string | null
  source: TrustSource
  acs_trans_id: string | null
  added_at: number
  added_by: string
  removed_at: number | null
  removed_by: string | null
  removal_reason: string | null
}

/** The AReq path's read: one point lookup on the partial unique index `acs_trusted_merchants_active`. */
export const TRUSTED_PAIR_SQL =
  'SELECT 1 FROM acs_trusted_merchants WHERE card_id = ? AND merchant_key = ? AND removed_at IS NULL'

const SELECT_VIEW = `SELECT t.*, c.pan_masked FROM acs_trusted_merchants t JOIN cards c ON c.id = t.card_id`

function view(r: Row): TrustedMerchantView {
  return {
    id: r.id,
    cardId: r.card_id,
    panMasked: r.pan_masked,
    merchantName: r.merchant_name ?? undefined,
    acquirerBIN: r.acquirer_bin ?? undefined,
    acquirerMerchantID: r.acquirer_merchant_id ?? undefined,
    source: r.source,
    acsTransID: r.acs_trans_id ?? undefined,
    addedAt: new Date(r.added_at).toISOString(),
    addedBy: r.added_by,
    removedAt: r.removed_at === null ? undefined : new Date(r.removed_at).toISOString(),
    removedBy: r.removed_by ?? undefined,
    removalReason: r.removal_reason ?? undefined,
  }
}

/**
 * The trust-list fact of one AReq: looked up only when a rule asks for it (as the velocity facts are), and at
 * most once. `outcome` then tells the ARes what the ACS found; it stays undefined when no rule asked.
 */
export class TrustCheck {
  private found: boolean | undefined
  constructor(private readonly lookup: (() => boolean) | undefined) {}

  isTrusted(): boolean {
    return (this.found ??= this.lookup?.() ?? false)
  }

  get outcome(): boolean | undefined {
    return this.found
  }
}

export class TrustList {
  /** The AReq path's statement, prepared once. */
  private readonly activePair
  private readonly insert
  private readonly sql: ReturnType<typeof statementCache>

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
  ) {
    this.activePair = db.prepare(TRUSTED_PAIR_SQL).pluck()
    this.insert = db.prepare(
      `INSERT INTO acs_trusted_merchants (card_id, merchant_key, merchant_name, acquirer_bin, acquirer_merchant_id,
         source, acs_trans_id, added_at, added_by)
       VALUES (@cardId, @key, @merchantName, @acquirerBIN, @acquirerMerchantID, @source, @acsTransID, @now, @actor)
       ON CONFLICT (card_id, merchant_key) WHERE removed_at IS NULL DO NOTHING`,
    )
    this.sql = statementCache(db)
  }

  has(cardId: number, merchantKey: string): boolean {
    return this.activePair.get(cardId, merchantKey) !== undefined
  }

  /** The lazy fact for an AReq; never trusted without both a card and a merchant. */
  check(cardId: number | undefined, merchant: MerchantIdentity | undefined): TrustCheck {
    return new TrustCheck(cardId !== undefined && merchant ? () => this.has(cardId, merchant.key) : undefined)
  }

  /**
   * Lists the pair (nothing happens when it already is) and audits it. Joins the caller's transaction when
   * there is one, so a challenge's consent commits with its result. Returns whether an entry was added.
   */
  add(t: NewTrust, now = Date.now()): boolean {
    const m = t.merchant
    return this.db.transaction(() => {
      const added =
        this.insert.run({
          cardId: t.cardId,
          key: m.key,
          merchantName: m.merchantName ?? null,
          acquirerBIN: m.acquirerBIN ?? null,
          acquirerMerchantID: m.acquirerMerchantID ?? null,
          source: t.source,
          acsTransID: t.acsTransID ?? null,
          now,
          actor: t.actor,
        }).changes > 0
      if (added)
        this.audit.record({
          actor: t.actor,
          action: 'trust-list.add',
          target: `card:${t.panMasked}`,
          details: {
            merchant: m.merchantName ?? m.key,
            source: t.source,
            ...(t.acsTransID ? { acsTransID: t.acsTransID } : {}),
            ...(t.reason ? { reason: t.reason } : {}),
          },
        })
      return added
    })()
  }

  /** A cardholder's trusted merchants over all their cards, newest first (removed ones on request). */
  forCardholder(cardholderId: number, includeRemoved = false): TrustedMerchantView[] {
    const rows = this.sql(
      `${SELECT_VIEW} WHERE c.cardholder_id = ? AND (? OR t.removed_at IS NULL) ORDER BY t.added_at DESC, t.id DESC`,
    ).all(cardholderId, includeRemoved ? 1 : 0) as Row[]
    return rows.map(view)
  }

  /**
   * An operator trusts, for the cardholder, the merchant of one of their authentications (the cardholder
   * asked their bank). The merchant comes from that transaction's stored AReq, exactly as the AReq path
   * would key it.
   */
  addFromAuthentication(
    cardholderId: number,
    acsTransID: string,
    reason: string,
    actor: string,
  ): TrustedMerchantView {
    const tx = this.sql(
      `SELECT t.card_id, c.pan_masked,
         (SELECT m.body FROM acs_messages m WHERE m.acs_trans_id = t.acs_trans_id AND m.message_type = 'AReq'
           ORDER BY m.id LIMIT 1) AS areq
       FROM acs_transactions t JOIN cards c ON c.id = t.card_id
       WHERE t.acs_trans_id = ? AND c.cardholder_id = ?`,
    ).get(acsTransID, cardholderId) as
      { card_id: number; pan_masked: string; areq: string | null } | undefined
    if (!tx) throw notFound('No authentication with this acsTransID for this cardholder')
    const areq = tx.areq ? (JSON.parse(tx.areq) as Record<string, unknown>) : {}
    const text = (k: string) => (typeof areq[k] === 'string' ? areq[k] : undefined)
    const merchant = merchantIdentity({
      merchantName: text('merchantName'),
      acquirerBIN: text('acquirerBIN'),
      acquirerMerchantID: text('acquirerMerchantID'),
    })
    if (!merchant)
      throw new HttpProblem(422, 'No merchant', 'This authentication names no merchant that could be trusted')
    this.add({
      cardId: tx.card_id,
      panMasked: tx.pan_masked,
      merchant,
      source: 'console',
      acsTransID,
      actor,
      reason,
    })
    const row = this.sql(
      `${SELECT_VIEW} WHERE t.card_id = ? AND t.merchant_key = ? AND t.removed_at IS NULL`,
    ).get(tx.card_id, merchant.key) as Row
    return view(row)
  }

  /** Ends an entry of this cardholder's (kept, with who removed it and why); audited. */
  remove(
    cardholderId: number,
    id: number,
    reason: string,
    actor: string,
    now = Date.now(),
  ): TrustedMerchantView {
    return this.db.transaction(() => {
      const row = this.sql(`${SELECT_VIEW} WHERE t.id = ? AND c.cardholder_id = ?`).get(id, cardholderId) as
        Row | undefined
      if (!row) throw notFound(`No trusted merchant ${id} for this cardholder`)
      if (row.removed_at !== null)
        throw conflict(`This merchant was already removed on ${view(row).removedAt}`)
      this.sql(
        'UPDATE acs_trusted_merchants SET removed_at = ?, removed_by = ?, removal_reason = ? WHERE id = ?',
      ).run(now, actor, reason, id)
      this.audit.record({
        actor,
        action: 'trust-list.remove',
        target: `card:${row.pan_masked}`,
        details: { merchant: row.merchant_name ?? row.acquirer_merchant_id ?? String(id), reason },
      })
      return view({ ...row, removed_at: now, removed_by: actor, removal_reason: reason })
    })()
  }
}
