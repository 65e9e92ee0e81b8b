export default {
  id: '0600-terminals',
  sql: `
-- Terminal management. A terminal authenticates to the terminal-facing endpoints (/tms/v1) with its own
-- API key, of which only a SHA-256 hash is kept.
CREATE TABLE terminal_parameter_sets (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  -- The exact signed bytes (canonical JSON, see docs/keys.md) and the ECDSA P-256 signature over them.
  payload TEXT NOT NULL,
  signature TEXT NOT NULL,
  signing_key_id INTEGER NOT NULL REFERENCES keys (id),
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (name, version)
) STRICT;

CREATE TABLE terminals (
  id INTEGER PRIMARY KEY,
  terminal_id TEXT NOT NULL UNIQUE,
  merchant_id TEXT NOT NULL,
  acquirer_id TEXT NOT NULL,
  name TEXT NOT NULL,
  api_key_hash BLOB NOT NULL,
  parameter_set_id INTEGER REFERENCES terminal_parameter_sets (id),
  -- What the terminal last acknowledged having applied.
  applied_parameter_set_id INTEGER REFERENCES terminal_parameter_sets (id),
  exception_list_version INTEGER NOT NULL DEFAULT 0,
  allow_list_version INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'ok', 'error')),
  status_message TEXT,
  last_seen_at TEXT,
  created_at TEXT NOT NULL
) STRICT;

-- Card lists, versioned: each change set gets the next version of its list; a terminal at version N
-- downloads the changes after N (delta) or the whole current list (full).
-- exception: PANs (+ optional PAN sequence number), sealed, looked up by HMAC; allow: BIN prefixes.
CREATE TABLE card_list_versions (
  list TEXT NOT NULL CHECK (list IN ('exception', 'allow')),
  version INTEGER NOT NULL,
  added INTEGER NOT NULL,
  removed INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (list, version)
) STRICT;

CREATE TABLE card_list_changes (
  id INTEGER PRIMARY KEY,
  list TEXT NOT NULL,
  version INTEGER NOT NULL,
  op TEXT NOT NULL CHECK (op IN ('add', 'remove')),
  -- exception: hex HMAC lookup of PAN ‖ PSN; allow: the BIN itself.
  entry_key TEXT NOT NULL,
  pan_sealed BLOB,
  display TEXT NOT NULL,
  FOREIGN KEY (list, version) REFERENCES card_list_versions (list, version)
) STRICT;
CREATE INDEX card_list_changes_entry ON card_list_changes (list, entry_key, version);
CREATE INDEX card_list_changes_version ON card_list_changes (list, version);
`,
}
