export default {
  id: '0710-mobile-subjects-qr-keys',
  sql: `
-- An approval is about a 3-D Secure transaction (kind '3ds', reference = acsTransID) or an authentication
-- request of the channel API (kind 'channel', reference = the MOTO / EDC / ECOM request id). Both references
-- are random UUIDs, so the reference stays unique on its own.
ALTER TABLE mobile_approvals RENAME COLUMN acs_trans_id TO subject_ref;
ALTER TABLE mobile_approvals ADD COLUMN subject_kind TEXT NOT NULL DEFAULT '3ds'
  CHECK (subject_kind IN ('3ds', 'channel'));

-- MAC keys of the rotating screen QR codes, sealed under the 'secret-enc' data key (AAD 'mobile-poi-key:<id>'),
-- so codes on screen survive a restart. The newest unretired key signs; a replaced key still verifies the codes
-- it signed until accepted_until (one QR lifetime after it was replaced), and is then deleted.
CREATE TABLE mobile_poi_keys (
  id INTEGER PRIMARY KEY,
  key_sealed BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  accepted_until INTEGER
) STRICT;
`,
}
