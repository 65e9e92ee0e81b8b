export default {
  id: '0200-auth-methods',
  sql: `
-- SMS message templates per issuer, kind and language; absent rows fall back to the built-in texts.
CREATE TABLE sms_templates (
  issuer_id INTEGER NOT NULL REFERENCES issuers (id),
  kind TEXT NOT NULL,
  language TEXT NOT NULL,
  text TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (issuer_id, kind, language)
) STRICT;

-- Per-issuer overrides of the authentication methods' settings (JSON, validated on write).
CREATE TABLE auth_method_settings (
  issuer_id INTEGER PRIMARY KEY REFERENCES issuers (id),
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;

-- A late SMS reply is matched against the sender's recently ended challenges (recorded as expired).
CREATE INDEX acs_challenges_mobile_created ON acs_challenges (mobile, created_at);
`,
}
