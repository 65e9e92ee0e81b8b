export default {
  id: '0330-sms-part-reports',
  sql: `
-- A message sent in several parts has one TP-MR per part (message_ref '12,13'), and the network reports each
-- part. The parts reported delivered so far are kept on the row, so a message is delivered once all its parts
-- are, whatever restarts came between the reports (they used to be tracked in memory only).
ALTER TABLE sms_outbox ADD COLUMN parts_delivered TEXT NOT NULL DEFAULT '';
`,
}
