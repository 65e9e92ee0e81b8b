export default {
  id: '0320-sms-queue-indexes',
  sql: `
-- The dispatcher asks for the next queued message in (priority, id) order. The old index ordered the queued
-- rows by next_attempt_at inside each priority, so every pick sorted the whole queue: during a burst (a
-- fraud notification per authentication) the queue grew and each pick got slower. Partial indexes hold only
-- the rows still moving, so they stay small however large the outbox grows.
DROP INDEX sms_outbox_queue;
CREATE INDEX sms_outbox_queued ON sms_outbox (priority, id, next_attempt_at) WHERE status = 'queued';
CREATE INDEX sms_outbox_queued_due ON sms_outbox (next_attempt_at) WHERE status = 'queued';
CREATE INDEX sms_outbox_sending ON sms_outbox (id) WHERE status = 'sending';
-- A delivery report names the gateway and its message reference; without this each report scanned the outbox.
CREATE INDEX sms_outbox_awaiting_report ON sms_outbox (gateway, message_ref) WHERE status = 'sent';
`,
}
