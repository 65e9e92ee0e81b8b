export default {
  id: '0400-dongles',
  sql: `
-- Seed-import runs: progress while parsing and inserting, and the report (errors name the element or line).
CREATE TABLE dongle_imports (
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  format TEXT NOT NULL CHECK (format IN ('pskc', 'oath-csv', 'yubikey-csv')),
  batch TEXT,
  status TEXT NOT NULL CHECK (status IN ('parsing', 'importing', 'done', 'rejected', 'failed')),
  bytes_total INTEGER NOT NULL,
  entries INTEGER NOT NULL DEFAULT 0,
  total INTEGER NOT NULL DEFAULT 0,
  inserted INTEGER NOT NULL DEFAULT 0,
  errors TEXT NOT NULL DEFAULT '[]',
  more_errors INTEGER NOT NULL DEFAULT 0,
  warnings TEXT NOT NULL DEFAULT '[]',
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER
) STRICT;

-- The OTP dongle inventory. The seed is sealed by the vault (purpose secret-enc, AAD = serial); the columns
-- counter … pending_resync are the token state of src-server/otp/token.ts, persisted after every verification.
CREATE TABLE dongles (
  id INTEGER PRIMARY KEY,
  serial TEXT NOT NULL UNIQUE,
  manufacturer TEXT,
  model TEXT,
  kind TEXT NOT NULL CHECK (kind IN ('hotp', 'totp')),
  algorithm TEXT NOT NULL CHECK (algorithm IN ('SHA1', 'SHA256', 'SHA512')),
  digits INTEGER NOT NULL CHECK (digits BETWEEN 6 AND 8),
  period INTEGER NOT NULL CHECK (period > 0),
  counter INTEGER NOT NULL CHECK (counter >= 0),
  drift_steps INTEGER NOT NULL DEFAULT 0,
  last_time_step INTEGER,
  fail_count INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER,
  pending_resync_counter INTEGER,
  pending_resync_at INTEGER,
  state TEXT NOT NULL CHECK (state IN ('in-stock', 'assigned', 'locked', 'lost', 'revoked')),
  state_reason TEXT,
  batch TEXT,
  import_id INTEGER REFERENCES dongle_imports (id),
  seed_sealed BLOB NOT NULL,
  -- Kept after revocation or loss, for the history; only an assigned or locked token is in use.
  cardholder_id INTEGER REFERENCES cardholders (id),
  programmed_at INTEGER,
  last_used_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
-- One token in use per cardholder: verifyDongleCode(cardholderId, code) must know which one.
CREATE UNIQUE INDEX dongles_in_use ON dongles (cardholder_id) WHERE state IN ('assigned', 'locked');
CREATE INDEX dongles_cardholder ON dongles (cardholder_id, serial);
CREATE INDEX dongles_state ON dongles (state, serial);
CREATE INDEX dongles_batch ON dongles (batch, serial);
CREATE INDEX dongles_import ON dongles (import_id);

-- Serial programmers configured on this server (USB keys are found by hot-plug, not configured).
CREATE TABLE dongle_programmers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  url TEXT NOT NULL UNIQUE,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
`,
}
