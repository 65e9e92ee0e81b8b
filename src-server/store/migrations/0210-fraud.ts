export default {
  id: '0210-fraud',
  sql: `
-- Fraud notification and the issuer webhook, per issuer. The webhook secret is sealed (secret-enc).
CREATE TABLE fraud_settings (
  issuer_id INTEGER PRIMARY KEY REFERENCES issuers (id),
  value TEXT NOT NULL,
  webhook_secret_sealed BLOB,
  updated_at TEXT NOT NULL
) STRICT;

-- One row per authentication notified to the cardholder; ref is what "FRAUD <ref>" names.
CREATE TABLE fraud_alerts (
  id INTEGER PRIMARY KEY,
  ref TEXT NOT NULL,
  mobile TEXT NOT NULL,
  issuer_id INTEGER NOT NULL,
  card_id INTEGER NOT NULL REFERENCES cards (id),
  cardholder_id INTEGER NOT NULL,
  acs_trans_id TEXT NOT NULL UNIQUE,
  pan_masked TEXT NOT NULL,
  merchant_name TEXT,
  amount_text TEXT,
  trans_status TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX fraud_alerts_mobile_ref ON fraud_alerts (mobile, ref);

-- The fraud queue: one report per alert the cardholder answered with FRAUD.
CREATE TABLE fraud_reports (
  id INTEGER PRIMARY KEY,
  alert_id INTEGER NOT NULL UNIQUE REFERENCES fraud_alerts (id),
  issuer_id INTEGER NOT NULL,
  card_id INTEGER NOT NULL,
  inbox_id INTEGER,
  status TEXT NOT NULL CHECK (status IN ('open', 'confirmed', 'released', 'closed')),
  card_status_before TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  suspended_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT,
  note TEXT
) STRICT;
CREATE INDEX fraud_reports_status ON fraud_reports (status, id);

-- Persistent webhook outbox: every event is a row before it is sent, retried with back-off across restarts.
CREATE TABLE fraud_webhook_outbox (
  id INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  issuer_id INTEGER NOT NULL,
  url TEXT NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  last_http_status INTEGER,
  created_at INTEGER NOT NULL,
  delivered_at INTEGER
) STRICT;
CREATE INDEX fraud_webhook_due ON fraud_webhook_outbox (next_attempt_at) WHERE status IN ('pending', 'sending');
`,
}
