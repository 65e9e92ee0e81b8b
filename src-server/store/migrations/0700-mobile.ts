export default {
  id: '0700-mobile',
  sql: `
-- Mobile authenticator (docs/mobile-authenticator.md). Activation tokens and stream tickets are kept only as
-- SHA-256 hashes; a device is its ECDSA P-256 public key (SPKI DER) and a hash of its description.
CREATE TABLE mobile_activation_tokens (
  id INTEGER PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  cardholder_id INTEGER NOT NULL REFERENCES cardholders (id),
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
) STRICT;

CREATE TABLE mobile_devices (
  id TEXT PRIMARY KEY,
  cardholder_id INTEGER NOT NULL REFERENCES cardholders (id),
  name TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'revoked')),
  public_key BLOB NOT NULL,
  key_thumbprint TEXT NOT NULL UNIQUE,
  fingerprint TEXT NOT NULL,
  platform TEXT NOT NULL,
  -- The origin the device activated through: where the wake-up SMS link points when no public URL is set.
  origin TEXT NOT NULL,
  -- The pending SMS confirmation code (a OneTimeCodeRecord: salted HMAC only), cleared on activation.
  confirm_code TEXT,
  created_at INTEGER NOT NULL,
  activated_at INTEGER,
  last_used_at INTEGER,
  revoked_at INTEGER,
  revoked_by TEXT,
  revoke_reason TEXT
) STRICT;
CREATE INDEX mobile_devices_cardholder ON mobile_devices (cardholder_id);

CREATE TABLE mobile_device_cards (
  device_id TEXT NOT NULL REFERENCES mobile_devices (id),
  card_id INTEGER NOT NULL REFERENCES cards (id),
  PRIMARY KEY (device_id, card_id)
) STRICT;
CREATE INDEX mobile_device_cards_card ON mobile_device_cards (card_id);

CREATE TABLE mobile_fingerprint_changes (
  id INTEGER PRIMARY KEY,
  device_id TEXT NOT NULL REFERENCES mobile_devices (id),
  previous TEXT NOT NULL,
  current TEXT NOT NULL,
  at INTEGER NOT NULL
) STRICT;
CREATE INDEX mobile_fingerprint_changes_device ON mobile_fingerprint_changes (device_id);

CREATE TABLE mobile_approvals (
  id TEXT PRIMARY KEY,
  acs_trans_id TEXT NOT NULL UNIQUE,
  mode TEXT NOT NULL CHECK (mode IN ('browser', 'app', 'decoupled')),
  nonce TEXT NOT NULL,
  -- The point-of-interaction screen of this approval (rotating QR); 'scan' once the approval requires it.
  poi_id TEXT NOT NULL UNIQUE,
  presence TEXT NOT NULL CHECK (presence IN ('tap', 'scan')),
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'declined', 'fraud')),
  device_id TEXT REFERENCES mobile_devices (id),
  -- The canonical record the device signed and its signature (IEEE P1363 r||s), kept as evidence. No PAN.
  signed_record TEXT,
  signature BLOB,
  scanned INTEGER NOT NULL DEFAULT 0,
  woken_by_sms INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  decided_at INTEGER
) STRICT;
CREATE INDEX mobile_approvals_status ON mobile_approvals (status, created_at);

CREATE TABLE mobile_settings (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  value TEXT NOT NULL
) STRICT;
`,
}
