export default {
  id: '0150-acs-informational',
  sql: `
-- transStatus I (2.2.0, "informational only": the requestor asked for no challenge, 06, where the rules would
-- challenge) is neither a result nor unavailable: it gets its own statistics column, counted like attempts.
ALTER TABLE acs_stats_daily ADD COLUMN informational INTEGER NOT NULL DEFAULT 0;

-- The ledger counted those as unavailable until now: move them, per day, brand and issuer (the day the ledger
-- counted them on), so every total stays as it was. The ledger is never purged, so this finds them all.
UPDATE acs_stats_daily SET unavailable = unavailable - moved.n, informational = informational + moved.n
  FROM (SELECT day, brand, issuer_id, count(*) AS n FROM acs_transactions
        WHERE final_status = 'I' AND outcome = 'unavailable' GROUP BY day, brand, issuer_id) AS moved
  WHERE acs_stats_daily.day = moved.day AND acs_stats_daily.brand = moved.brand
    AND acs_stats_daily.issuer_id = moved.issuer_id;
UPDATE acs_transactions SET outcome = 'informational' WHERE final_status = 'I' AND outcome = 'unavailable';
`,
}
