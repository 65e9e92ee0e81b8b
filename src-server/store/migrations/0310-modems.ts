export default {
  id: '0310-modems',
  sql: `
-- GSM modems the SMS pool drives. The SIM PIN is sealed (secret-enc) and never leaves the server.
CREATE TABLE modems (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  -- /dev/ttyUSB0, /dev/serial/by-id/... (stable across re-plugging) or tcp://host:port
  port TEXT NOT NULL UNIQUE,
  profile TEXT NOT NULL,
  baud INTEGER NOT NULL DEFAULT 115200,
  pin_sealed BLOB,
  enabled INTEGER NOT NULL DEFAULT 1,
  -- SMS per minute on this SIM; NULL = as fast as the modem goes.
  rate_per_minute INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
`,
}
