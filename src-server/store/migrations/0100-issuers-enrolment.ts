export default {
  id: '0100-issuers-enrolment',
  sql: `
CREATE TABLE issuers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  acs_reference_number TEXT NOT NULL,
  acs_operator_id TEXT,
  -- JSON: { displayName, colour, logo (data: URI) } shown on challenge pages
  branding TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL
) STRICT;

-- A BIN range, stored as inclusive bounds padded to 19 digits so ranges of any length compare as text.
CREATE TABLE card_ranges (
  id INTEGER PRIMARY KEY,
  issuer_id INTEGER NOT NULL REFERENCES issuers (id),
  brand TEXT NOT NULL CHECK (brand IN ('visa', 'mastercard', 'amex', 'jcb', 'discover', 'unionpay')),
  start_prefix TEXT NOT NULL,
  end_prefix TEXT NOT NULL,
  low TEXT NOT NULL,
  high TEXT NOT NULL,
  -- Production ranges require https for dsURL and threeDSServerURL; lab ranges accept http on loopback.
  production INTEGER NOT NULL DEFAULT 0 CHECK (production IN (0, 1)),
  method_url TEXT,
  -- JSON: which authentication-value generator and key indicator this range uses.
  auth_value TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at TEXT NOT NULL,
  CHECK (low <= high)
) STRICT;
CREATE INDEX card_ranges_low ON card_ranges (low);

CREATE TABLE cardholders (
  id INTEGER PRIMARY KEY,
  issuer_id INTEGER NOT NULL REFERENCES issuers (id),
  name TEXT NOT NULL,
  mobile TEXT,
  email TEXT,
  language TEXT NOT NULL DEFAULT 'en',
  method TEXT NOT NULL CHECK (method IN ('sms-otp', 'sms-reply', 'dongle', 'mobile-signature', 'none')),
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'blocked', 'closed')),
  status_reason TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX cardholders_mobile ON cardholders (mobile);
CREATE INDEX cardholders_name ON cardholders (name COLLATE NOCASE);

CREATE TABLE cards (
  id INTEGER PRIMARY KEY,
  cardholder_id INTEGER NOT NULL REFERENCES cardholders (id),
  range_id INTEGER NOT NULL REFERENCES card_ranges (id),
  pan_ct BLOB NOT NULL,
  pan_lookup BLOB NOT NULL UNIQUE,
  pan_masked TEXT NOT NULL,
  last4 TEXT NOT NULL,
  expiry TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'blocked', 'closed')),
  status_reason TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX cards_last4 ON cards (last4);
CREATE INDEX cards_cardholder ON cards (cardholder_id);

-- Mass enrolment runs: progress, counts and the line-numbered error report. The file itself is never
-- stored (it holds PANs in clear); a crashed run resumes when the same file (same SHA-256) is imported again.
CREATE TABLE enrolment_jobs (
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('importing', 'done', 'failed', 'rejected')),
  skip_invalid INTEGER NOT NULL,
  total_lines INTEGER NOT NULL,
  processed_lines INTEGER NOT NULL DEFAULT 0,
  inserted INTEGER NOT NULL DEFAULT 0,
  updated INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  errors TEXT NOT NULL DEFAULT '[]',
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  finished_at TEXT
) STRICT;
CREATE INDEX enrolment_jobs_sha ON enrolment_jobs (sha256, status);
`,
}
