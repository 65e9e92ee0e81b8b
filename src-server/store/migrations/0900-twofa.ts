export default {
  id: '0900-twofa',
  sql: `
-- 2FA PIN API applications. Only a SHA-256 hash of the API key is kept (the key is shown once); key_prefix
-- lets an operator recognise a key without it being usable. config is the JSON policy (attempts, TTL, limits).
CREATE TABLE twofa_applications (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  key_hash BLOB NOT NULL UNIQUE,
  key_prefix TEXT NOT NULL,
  config TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  key_rotated_at INTEGER NOT NULL
) STRICT;

-- Message templates of an application: the text holds {{pin}} and optional custom {{placeholders}}.
CREATE TABLE twofa_messages (
  id TEXT PRIMARY KEY,
  application_id TEXT NOT NULL REFERENCES twofa_applications (id),
  message_text TEXT NOT NULL,
  pin_length INTEGER NOT NULL,
  pin_type TEXT NOT NULL CHECK (pin_type IN ('NUMERIC', 'ALPHA', 'HEX', 'ALPHANUMERIC')),
  sender_id TEXT,
  language TEXT,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX twofa_messages_app ON twofa_messages (application_id, created_at);

-- Issued PINs: never the PIN, only its salted HMAC under the otp-hash data key (key_id). text_sealed is the
-- rendered message with {{pin}} still in it (custom placeholders may be personal data), kept for resends.
CREATE TABLE twofa_pins (
  id TEXT PRIMARY KEY,
  application_id TEXT NOT NULL REFERENCES twofa_applications (id),
  message_id TEXT NOT NULL REFERENCES twofa_messages (id),
  to_number TEXT NOT NULL,
  text_sealed BLOB NOT NULL,
  key_id INTEGER NOT NULL,
  salt TEXT NOT NULL,
  hash TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  attempts_left INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'verified')),
  sends INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  verified_at INTEGER
) STRICT;
CREATE INDEX twofa_pins_app ON twofa_pins (application_id, created_at);

-- Sliding-window rate limits: one row per counted event, so "n per window" is exact across restarts.
CREATE TABLE rate_limit_events (
  bucket TEXT NOT NULL,
  at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX rate_limit_events_bucket ON rate_limit_events (bucket, at);
CREATE INDEX rate_limit_events_expiry ON rate_limit_events (expires_at);

-- Usage statistics per application and UTC day.
CREATE TABLE twofa_usage (
  application_id TEXT NOT NULL REFERENCES twofa_applications (id),
  day TEXT NOT NULL,
  sent INTEGER NOT NULL DEFAULT 0,
  verified INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  limited INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (application_id, day)
) STRICT, WITHOUT ROWID;
`,
}
