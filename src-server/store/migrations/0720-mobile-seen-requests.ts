export default {
  id: '0720-mobile-seen-requests',
  sql: `
-- Device-signed requests already accepted: SHA-256 of the device id and the signed record. Kept in the database
-- so that a captured request is refused after a restart too; rows older than twice the clock window (where no
-- signature is accepted any more) are deleted as new ones come in.
CREATE TABLE mobile_seen_requests (
  digest BLOB PRIMARY KEY,
  seen_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX mobile_seen_requests_at ON mobile_seen_requests (seen_at);
`,
}
