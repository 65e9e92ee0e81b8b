export default {
  id: '0510-peds',
  sql: `
-- The station's TR-34 credentials: the CA it trusts for device (KRD) certificates and its own KDH
-- certificate and private key (sealed). One row.
CREATE TABLE ped_trust (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  trusted_ca TEXT NOT NULL,
  kdh_certificate TEXT NOT NULL,
  kdh_key_sealed BLOB NOT NULL,
  sealed_aad TEXT GENERATED ALWAYS AS ('ims kdh private key') VIRTUAL,
  updated_by TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;

-- Key-injection stations: a serial port (or tcp:// serial-over-IP) with a PED on it.
CREATE TABLE ped_stations (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  url TEXT NOT NULL UNIQUE,
  profile TEXT NOT NULL CHECK (profile IN ('stx', 'syn')),
  baud INTEGER NOT NULL,
  created_at TEXT NOT NULL
) STRICT;

-- A production (or lab) run: one BDK, a predefined inventory of device serials, a key transport.
CREATE TABLE injection_runs (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  bdk_key_id INTEGER NOT NULL REFERENCES keys (id),
  profile TEXT NOT NULL CHECK (profile IN ('production', 'lab')),
  key_transport TEXT NOT NULL CHECK (key_transport IN ('tr34', 'clear')),
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  CHECK (key_transport = 'tr34' OR profile = 'lab')
) STRICT;

CREATE TABLE injection_run_devices (
  run_id INTEGER NOT NULL REFERENCES injection_runs (id),
  serial TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('expected', 'injected', 'failed')),
  PRIMARY KEY (run_id, serial)
) STRICT;

-- Every DUKPT initial key ever issued, per BDK. Allocation is monotonic and never re-issued, failed loads
-- included; the UNIQUE constraints are the store's guarantee of one initial key and KSN per device.
-- key_fingerprint is an HMAC of the initial key (a full-length duplicate check, where 24-bit KCVs would
-- collide by chance within a few thousand devices).
CREATE TABLE dukpt_initial_keys (
  id INTEGER PRIMARY KEY,
  bdk_key_id INTEGER NOT NULL REFERENCES keys (id),
  device_number INTEGER NOT NULL,
  initial_key_id TEXT NOT NULL,
  key_fingerprint BLOB NOT NULL,
  kcv TEXT NOT NULL,
  device_serial TEXT NOT NULL,
  run_id INTEGER REFERENCES injection_runs (id),
  allocated_at TEXT NOT NULL,
  UNIQUE (bdk_key_id, device_number),
  UNIQUE (bdk_key_id, initial_key_id),
  UNIQUE (key_fingerprint)
) STRICT;

-- One attempt to load one device on one station. The audit chain holds the tamper-evident copy.
CREATE TABLE ped_injections (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES injection_runs (id),
  station_id INTEGER NOT NULL REFERENCES ped_stations (id),
  device_serial TEXT,
  device_model TEXT,
  security_version TEXT,
  initial_key INTEGER REFERENCES dukpt_initial_keys (id),
  status TEXT NOT NULL CHECK (status IN ('running', 'injected', 'failed', 'refused')),
  step TEXT NOT NULL,
  kbpk_kcv TEXT,
  initial_key_kcv TEXT,
  initial_ksn TEXT,
  self_test_ksn TEXT,
  error TEXT,
  operators TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT
) STRICT;
CREATE INDEX ped_injections_run ON ped_injections (run_id, id);
`,
}
