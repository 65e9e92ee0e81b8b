export default {
  id: '0140-acs-ds-certificate',
  sql: `
-- Which directory server sent each AReq that came over the mutual-TLS listener: its client certificate's
-- subject and SHA-256 fingerprint (both NULL for an AReq on the main listener).
ALTER TABLE acs_transactions ADD COLUMN ds_cert_subject TEXT;
ALTER TABLE acs_transactions ADD COLUMN ds_cert_sha256 TEXT;
`,
}
