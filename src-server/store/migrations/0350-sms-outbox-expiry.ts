export default {
  id: '0350-sms-outbox-expiry',
  sql: `
-- A one-time code is worth sending only while it is valid: a message queued during a long modem outage whose
-- code has expired is failed (with that reason) instead of reaching the cardholder late. NULL: no expiry.
ALTER TABLE sms_outbox ADD COLUMN expires_at INTEGER;
`,
}
