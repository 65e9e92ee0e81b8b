/**
 * What the console dashboard reads, kept so that a refresh never scans the ledger or the SMS outbox
 * whatever their size (target: under 50 ms with 10 million authentications, bench/console/dashboard-refresh).
 */

/**
 * Fills the method mix from the ledger. Run once by this migration (the ledger's own counter takes over from
 * there) and by the dashboard benchmark after bulk-seeding the ledger, so both count the same way.
 */
export const METHOD_MIX_BACKFILL = `
INSERT INTO acs_method_daily (day, brand, issuer_id, method, total)
  SELECT day, brand, issuer_id, coalesce(method, 'none'), count(*) FROM acs_transactions GROUP BY 1, 2, 3, 4;
`

export default {
  id: '0800-dashboard-stats',
  sql: `
-- Authentications per UTC day, brand, issuer and authentication method: the method asked for in the ARes
-- ('none' when no challenge was asked: frictionless results and refusals). Kept by the ACS ledger in the same
-- transaction as acs_stats_daily.
CREATE TABLE acs_method_daily (
  day TEXT NOT NULL,
  brand TEXT NOT NULL,
  issuer_id INTEGER NOT NULL,
  method TEXT NOT NULL,
  total INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, brand, issuer_id, method)
) STRICT, WITHOUT ROWID;
${METHOD_MIX_BACKFILL}
-- SMS health of the last 24 hours: per status, a range of this index (a count without reading a row, the latest
-- delivered in order) instead of a scan of every message ever sent.
CREATE INDEX sms_outbox_status_created ON sms_outbox (status, created_at);

-- The newest open alarms without sorting all of them (undelivered RReqs raise one alarm each).
CREATE INDEX alarms_open_recent ON alarms (last_at) WHERE acknowledged_at IS NULL;
`,
}
