/** The merchant a trust-list entry names, as far as an AReq identifies it. */
export interface MerchantIdentity {
  /** What the trust list is keyed on (see merchantIdentity). */
  key: string
  merchantName?: string
  acquirerBIN?: string
  acquirerMerchantID?: string
}

export interface MerchantFields {
  merchantName?: string
  acquirerBIN?: string
  acquirerMerchantID?: string
}

/**
 * The merchant's stable key. Acquirer BIN + acquirer merchant ID when the message carries both: the acquirer
 * assigns the ID (unique only within that acquirer, hence the BIN) and neither changes when the shop renames
 * itself or its 3DS Server words the name differently. Otherwise (a non-payment message need not carry the
 * acquirer fields) the merchant name, case-folded with its spaces collapsed, because it is free text the
 * requestor chooses. Undefined when nothing names the merchant: such a transaction can be neither trusted
 * nor offered.
 */
export function merchantIdentity(m: MerchantFields): MerchantIdentity | undefined {
  const name = m.merchantName?.trim() || undefined
  const bin = m.acquirerBIN?.trim()
  const mid = m.acquirerMerchantID?.trim()
  // The BIN is digits, so the first ':' after it separates it from the merchant ID unambiguously.
  if (bin && mid)
    return {
      key: `acquirer:${bin}:${mid}`,
      merchantName: name,
      acquirerBIN: bin,
      acquirerMerchantID: mid,
    }
  if (name) return { key: `name:${name.toLowerCase().replace(/\s+/g, ' ')}`, merchantName: name }
  return undefined
}
