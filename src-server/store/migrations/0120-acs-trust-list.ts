export default {
  id: '0120-acs-trust-list',
  sql: `
-- The ACS's own trust list: merchants a cardholder trusted for one card, by consenting during a successful
-- challenge or through an operator (audited). A removed entry keeps its row (who, when, why); a new consent
-- adds a new row. merchant_key identifies the merchant (see acs/trust-list/merchant.ts); the other merchant
-- columns are kept for display only.
CREATE TABLE acs_trusted_merchants (
  id INTEGER PRIMARY KEY,
  card_id INTEGER NOT NULL REFERENCES cards (id),
  merchant_key TEXT NOT NULL,
  merchant_name TEXT,
  acquirer_bin TEXT,
  acquirer_merchant_id TEXT,
  source TEXT NOT NULL CHECK (source IN ('challenge', 'console')),
  -- The authentication the consent was given in (challenge) or that the operator picked the merchant from.
  acs_trans_id TEXT,
  added_at INTEGER NOT NULL,
  added_by TEXT NOT NULL,
  removed_at INTEGER,
  removed_by TEXT,
  removal_reason TEXT
) STRICT;
-- The AReq path's one point read (card, merchant) and the guard against a second active entry.
CREATE UNIQUE INDEX acs_trusted_merchants_active ON acs_trusted_merchants (card_id, merchant_key)
  WHERE removed_at IS NULL;
CREATE INDEX acs_trusted_merchants_card ON acs_trusted_merchants (card_id, added_at);
`,
}
