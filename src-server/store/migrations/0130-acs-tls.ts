export default {
  id: '0130-acs-tls',
  sql: `
-- Mutual TLS with each card scheme's directory server: the ACS's certificate chain (server for the AReqs the DS
-- sends, client for the RReqs the ACS sends) with its sealed key, and the CA certificates the DS's own
-- certificates chain to. One row per brand.
CREATE TABLE acs_tls_identities (
  brand TEXT PRIMARY KEY,
  chain_pem TEXT NOT NULL,
  key_sealed BLOB NOT NULL,
  ds_ca_pem TEXT NOT NULL,
  subject TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL
) STRICT;
`,
}
