export default {
  id: '0910-channels',
  sql: `
-- Clients of the MOTO / EDC / ECOM authentication API (call centres, terminal hosts, merchants). Like 2FA
-- applications, only a hash of the API key is kept; the webhook secret must be usable for signing, so it is
-- sealed instead. channels is a JSON array of the channels the client may use.
CREATE TABLE channel_clients (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  key_hash BLOB NOT NULL UNIQUE,
  key_prefix TEXT NOT NULL,
  channels TEXT NOT NULL,
  webhook_url TEXT,
  webhook_secret_sealed BLOB NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

-- Opaque card references handed to channel clients so they need not keep PANs.
CREATE TABLE channel_card_refs (
  card_id INTEGER PRIMARY KEY REFERENCES cards (id),
  reference TEXT NOT NULL UNIQUE
) STRICT;

-- Authentications requested by a channel client. No PAN: the card id and its mask only.
CREATE TABLE channel_auth_requests (
  id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL REFERENCES channel_clients (id),
  client_reference TEXT,
  channel TEXT NOT NULL CHECK (channel IN ('MOTO', 'EDC', 'ECOM')),
  card_id INTEGER NOT NULL REFERENCES cards (id),
  pan_masked TEXT NOT NULL,
  amount TEXT NOT NULL,
  currency TEXT NOT NULL,
  merchant TEXT NOT NULL,
  method TEXT NOT NULL,
  mode TEXT NOT NULL,
  mobile TEXT,
  language TEXT NOT NULL,
  method_state TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'authenticated', 'failed', 'refused', 'expired')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  decided_at INTEGER,
  UNIQUE (client_id, client_reference)
) STRICT;
CREATE INDEX channel_auth_pending ON channel_auth_requests (status, expires_at);
CREATE INDEX channel_auth_mobile ON channel_auth_requests (mobile, status, created_at);

-- Webhook outbox: written in the same transaction as the result, delivered and retried from here.
CREATE TABLE channel_webhooks (
  id INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  client_id TEXT NOT NULL REFERENCES channel_clients (id),
  request_id TEXT NOT NULL REFERENCES channel_auth_requests (id),
  url TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  delivered_at INTEGER
) STRICT;
CREATE INDEX channel_webhooks_due ON channel_webhooks (status, next_attempt_at);
CREATE INDEX channel_webhooks_request ON channel_webhooks (request_id);
`,
}
