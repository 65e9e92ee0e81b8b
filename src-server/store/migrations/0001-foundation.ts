export default {
  id: '0001-foundation',
  sql: `
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

-- Data keys, each wrapped (AES-256-GCM) under the master key. Never stored in clear.
CREATE TABLE data_keys (
  id INTEGER PRIMARY KEY,
  purpose TEXT NOT NULL,
  wrapped BLOB NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'retired')),
  created_at TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX data_keys_one_active ON data_keys (purpose) WHERE status = 'active';

CREATE TABLE operators (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE COLLATE NOCASE,
  display_name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent', 'bench', 'key-custodian')),
  password_hash TEXT NOT NULL,
  totp_secret BLOB,
  totp_pending BLOB,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0,
  last_totp_step INTEGER NOT NULL DEFAULT 0,
  password_changed_at TEXT NOT NULL,
  created_at TEXT NOT NULL
) STRICT;

-- Only the SHA-256 of a session token is stored: a copy of the database does not hand out sessions.
CREATE TABLE sessions (
  token_hash BLOB PRIMARY KEY,
  operator_id INTEGER NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  ip TEXT,
  user_agent TEXT
) STRICT;
CREATE INDEX sessions_operator ON sessions (operator_id);

-- Hash-chained audit trail: mac = HMAC(audit key, prev_mac || canonical row). Append only.
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  details TEXT NOT NULL,
  prev_mac TEXT NOT NULL,
  mac TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_action ON audit_log (action, id);
`,
}
