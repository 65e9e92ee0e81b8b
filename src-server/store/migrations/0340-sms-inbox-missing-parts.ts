export default {
  id: '0340-sms-inbox-missing-parts',
  sql: `
-- A concatenated SMS whose last parts never came is delivered after the multipart timeout with what arrived:
-- the parts that are missing ("2,3"), NULL for a whole message, so nobody reads a fragment as the whole text.
ALTER TABLE sms_inbox ADD COLUMN missing_parts TEXT;
`,
}
