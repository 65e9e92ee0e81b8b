export default {
  id: '0300-sms',
  sql: `
-- Outgoing SMS. The text is sealed (it may hold a one-time code); text_display is the same text with codes
-- masked, for the console. A message is sent at most once per idempotency key.
CREATE TABLE sms_outbox (
  id INTEGER PRIMARY KEY,
  idempotency_key TEXT NOT NULL UNIQUE,
  to_number TEXT NOT NULL,
  text_sealed BLOB NOT NULL,
  text_display TEXT NOT NULL,
  -- 0 = one-time codes and challenge requests, 1 = notifications: codes always go first.
  priority INTEGER NOT NULL DEFAULT 1,
  kind TEXT NOT NULL,
  ref TEXT,
  status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed')),
  gateway TEXT,
  modem TEXT,
  message_ref TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  -- Set when a send was interrupted after the modem may already have transmitted: it may arrive twice.
  possible_duplicate INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  next_attempt_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  sent_at INTEGER,
  delivered_at INTEGER
) STRICT;
CREATE INDEX sms_outbox_queue ON sms_outbox (status, priority, next_attempt_at, id);
CREATE INDEX sms_outbox_to ON sms_outbox (to_number, id);
CREATE INDEX sms_outbox_ref ON sms_outbox (ref);

-- Incoming SMS, every one kept: matched to a challenge or a fraud notification, or left unmatched for the
-- Incoming Verification report. Never dropped.
CREATE TABLE sms_inbox (
  id INTEGER PRIMARY KEY,
  from_number TEXT NOT NULL,
  text TEXT NOT NULL,
  gateway TEXT NOT NULL,
  modem TEXT,
  received_at INTEGER NOT NULL,
  outcome TEXT NOT NULL DEFAULT 'unmatched',
  handled_by TEXT,
  ref TEXT
) STRICT;
CREATE INDEX sms_inbox_from ON sms_inbox (from_number, id);
CREATE INDEX sms_inbox_received ON sms_inbox (received_at);
`,
}
