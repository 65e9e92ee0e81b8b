export default {
  id: '0500-keys',
  sql: `
-- The key store. Key material is never stored in clear: either sealed by the vault under the master-key
-- hierarchy ('master') or held as a TR-31 key block under another stored key-encryption key ('key').
-- A destroyed key keeps its row (the audit trail refers to it) but loses its material.
CREATE TABLE keys (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('bdk', 'kek', 'kbpk', 'tmk', 'pin', 'mac', 'data', 'signing')),
  algorithm TEXT NOT NULL CHECK (algorithm IN ('tdes2', 'tdes3', 'aes128', 'aes192', 'aes256', 'ecdsa-p256')),
  -- TR-31 key usage and mode of use (B0 BDK, K0 KEK, K1 KBPK, ...); 'S0' with mode 'S' for signing keys.
  key_usage TEXT NOT NULL,
  mode_of_use TEXT NOT NULL,
  kcv TEXT NOT NULL,
  kcv_method TEXT NOT NULL CHECK (kcv_method IN ('legacy', 'cmac', 'sha256')),
  status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'retired', 'destroyed')),
  wrapped_under TEXT NOT NULL CHECK (wrapped_under IN ('master', 'key')),
  -- Set when wrapped_under = 'key': the key-encryption key whose TR-31 block this is.
  kek_id INTEGER REFERENCES keys (id),
  sealed BLOB,
  key_block TEXT,
  -- Signing keys: the public half (SPKI PEM), for verifiers.
  public_key TEXT,
  -- DUKPT BDKs: the key set ID (TDES, 3 bytes hex) or BDK ID (AES, 4 bytes hex) that starts every KSN.
  bdk_id TEXT,
  origin TEXT NOT NULL CHECK (origin IN ('generated', 'ceremony', 'imported')),
  ceremony_id INTEGER,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  status_changed_at TEXT NOT NULL,
  -- What the vault binds the sealed value to (lets a data-key rotation re-encrypt this column).
  sealed_aad TEXT GENERATED ALWAYS AS ('ims key ' || id || ' ' || algorithm) VIRTUAL,
  CHECK ((wrapped_under = 'key') = (kek_id IS NOT NULL)),
  CHECK (status = 'destroyed' OR sealed IS NOT NULL OR key_block IS NOT NULL)
) STRICT;
CREATE UNIQUE INDEX keys_bdk_id ON keys (algorithm, bdk_id) WHERE bdk_id IS NOT NULL;

-- Key-component ceremonies under dual control and split knowledge. Components are sealed until the last
-- one arrives, then combined and wiped (sealed set to NULL); their KCVs stay as the record.
CREATE TABLE key_ceremonies (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  algorithm TEXT NOT NULL,
  key_usage TEXT NOT NULL,
  mode_of_use TEXT NOT NULL,
  bdk_id TEXT,
  scheme TEXT NOT NULL CHECK (scheme IN ('xor', 'shamir')),
  -- xor: every one of the n components; shamir: any 'threshold' of the n shares.
  components INTEGER NOT NULL CHECK (components BETWEEN 2 AND 9),
  threshold INTEGER NOT NULL,
  opened_by INTEGER NOT NULL REFERENCES operators (id),
  status TEXT NOT NULL CHECK (status IN ('open', 'completed', 'cancelled')),
  key_id INTEGER REFERENCES keys (id),
  opened_at TEXT NOT NULL,
  closed_at TEXT,
  CHECK (threshold BETWEEN 2 AND components)
) STRICT;

CREATE TABLE key_ceremony_components (
  ceremony_id INTEGER NOT NULL REFERENCES key_ceremonies (id),
  position INTEGER NOT NULL,
  custodian_id INTEGER NOT NULL REFERENCES operators (id),
  kcv TEXT,
  sealed BLOB,
  entered_at TEXT,
  sealed_aad TEXT GENERATED ALWAYS AS ('ims ceremony ' || ceremony_id || ' component ' || position) VIRTUAL,
  PRIMARY KEY (ceremony_id, position),
  -- Split knowledge: one custodian holds at most one component of a ceremony.
  UNIQUE (ceremony_id, custodian_id)
) STRICT;
`,
}
