export default {
  id: '0110-acs',
  sql: `
-- Authentication-value keys per card range (Visa CVK pair per key indicator, Mastercard IAV key), sealed
-- with the vault ('secret-enc'); operators only ever see the key check value.
CREATE TABLE acs_range_keys (
  id INTEGER PRIMARY KEY,
  range_id INTEGER NOT NULL REFERENCES card_ranges (id),
  kind TEXT NOT NULL CHECK (kind IN ('visa-cvk', 'mastercard-iav')),
  key_indicator TEXT NOT NULL,
  sealed BLOB NOT NULL,
  kcv TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (range_id, kind, key_indicator)
) STRICT;

-- Per-brand app-channel signing key (sealed) and its certificate chain, validated on import.
CREATE TABLE acs_signing_keys (
  brand TEXT PRIMARY KEY,
  alg TEXT NOT NULL CHECK (alg IN ('PS256', 'ES256')),
  chain_pem TEXT NOT NULL,
  root_pem TEXT,
  key_sealed BLOB NOT NULL,
  subject TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL
) STRICT;

-- Console alarms, one open row per (kind, ref) counting repeats.
CREATE TABLE alarms (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  ref TEXT NOT NULL,
  severity TEXT NOT NULL CHECK (severity IN ('warning', 'critical')),
  message TEXT NOT NULL,
  count INTEGER NOT NULL DEFAULT 1,
  first_at TEXT NOT NULL,
  last_at TEXT NOT NULL,
  acknowledged_at TEXT,
  acknowledged_by TEXT
) STRICT;
CREATE UNIQUE INDEX alarms_open ON alarms (kind, ref) WHERE acknowledged_at IS NULL;

CREATE TABLE acs_settings (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;

-- Versioned risk rule sets; one active version per rule set id.
CREATE TABLE risk_rule_sets (
  id INTEGER PRIMARY KEY,
  set_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  issuer_id INTEGER NOT NULL REFERENCES issuers (id),
  body TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('draft', 'active', 'retired')),
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  activated_by TEXT,
  activated_at TEXT,
  UNIQUE (set_id, version)
) STRICT;
CREATE UNIQUE INDEX risk_rule_sets_active ON risk_rule_sets (set_id) WHERE status = 'active';

-- One row per authentication (acsTransID). Amounts in minor units; no PAN, only its mask and lookup hash.
CREATE TABLE acs_transactions (
  acs_trans_id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  day TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER,
  message_version TEXT NOT NULL,
  message_category TEXT NOT NULL,
  channel TEXT NOT NULL CHECK (channel IN ('browser', 'app', '3ri')),
  brand TEXT NOT NULL,
  issuer_id INTEGER NOT NULL,
  range_id INTEGER,
  card_id INTEGER,
  card_key BLOB NOT NULL,
  pan_masked TEXT NOT NULL,
  threeds_server_trans_id TEXT NOT NULL,
  ds_trans_id TEXT NOT NULL,
  sdk_trans_id TEXT,
  ds_url TEXT NOT NULL,
  merchant_name TEXT,
  acquirer_merchant_id TEXT,
  mcc TEXT,
  amount INTEGER,
  currency TEXT,
  exponent INTEGER,
  ares_status TEXT NOT NULL,
  final_status TEXT,
  trans_status_reason TEXT,
  challenge_cancel TEXT,
  interaction_counter INTEGER,
  eci TEXT,
  method TEXT,
  rule_set_id TEXT,
  rule_set_version INTEGER,
  rule_id TEXT NOT NULL,
  decision_reason TEXT NOT NULL,
  outcome TEXT NOT NULL
) STRICT;
CREATE INDEX acs_transactions_card ON acs_transactions (card_key, created_at);
CREATE INDEX acs_transactions_time ON acs_transactions (created_at, acs_trans_id);
CREATE INDEX acs_transactions_issuer ON acs_transactions (issuer_id, created_at);

-- Every message in and out, PAN masked, linked by acsTransID (NULL for an AReq rejected before one existed).
CREATE TABLE acs_messages (
  id INTEGER PRIMARY KEY,
  acs_trans_id TEXT,
  threeds_server_trans_id TEXT,
  message_type TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX acs_messages_tx ON acs_messages (acs_trans_id, id);

-- A challenge or decoupled authentication in progress: everything needed to continue it after a restart.
CREATE TABLE acs_challenges (
  acs_trans_id TEXT PRIMARY KEY REFERENCES acs_transactions (acs_trans_id),
  mode TEXT NOT NULL CHECK (mode IN ('browser', 'app', 'decoupled')),
  method TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('awaiting-creq', 'active', 'ended')),
  mobile TEXT,
  context TEXT NOT NULL,
  method_state TEXT NOT NULL DEFAULT '{}',
  nonce TEXT,
  session_data TEXT,
  window_size TEXT,
  app_cek BLOB,
  app_state TEXT,
  interaction_counter INTEGER NOT NULL DEFAULT 0,
  deadline_at INTEGER,
  deadline_kind TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX acs_challenges_deadline ON acs_challenges (deadline_at) WHERE status != 'ended';
CREATE INDEX acs_challenges_mobile ON acs_challenges (mobile) WHERE status != 'ended';

-- Persistent RReq outbox: exactly one RReq per challenged transaction, retried with back-off.
CREATE TABLE acs_rreq_outbox (
  id INTEGER PRIMARY KEY,
  acs_trans_id TEXT NOT NULL UNIQUE,
  ds_url TEXT NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  results_status TEXT,
  created_at INTEGER NOT NULL,
  delivered_at INTEGER
) STRICT;
CREATE INDEX acs_rreq_outbox_due ON acs_rreq_outbox (next_attempt_at) WHERE status IN ('pending', 'sending');

-- Statistics per day, brand and issuer, updated in the same transaction as each result.
CREATE TABLE acs_stats_daily (
  day TEXT NOT NULL,
  brand TEXT NOT NULL,
  issuer_id INTEGER NOT NULL,
  total INTEGER NOT NULL DEFAULT 0,
  frictionless INTEGER NOT NULL DEFAULT 0,
  challenged INTEGER NOT NULL DEFAULT 0,
  successful INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  unavailable INTEGER NOT NULL DEFAULT 0,
  incomplete INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  in_progress INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, brand, issuer_id)
) STRICT;

-- The pilot lab: purchases driven through the built-in 3DS Server and the RReqs its DS received.
CREATE TABLE lab_purchases (
  id TEXT PRIMARY KEY,
  acs_trans_id TEXT,
  channel TEXT NOT NULL,
  flow TEXT NOT NULL,
  areq TEXT NOT NULL,
  ares TEXT,
  cres TEXT,
  session_data TEXT,
  created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE lab_ds_rreqs (
  id INTEGER PRIMARY KEY,
  acs_trans_id TEXT NOT NULL,
  body TEXT NOT NULL,
  received_at INTEGER NOT NULL
) STRICT;
CREATE INDEX lab_ds_rreqs_tx ON lab_ds_rreqs (acs_trans_id);
`,
}
