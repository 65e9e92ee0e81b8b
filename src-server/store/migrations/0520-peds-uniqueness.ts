export default {
  id: '0520-peds-uniqueness',
  sql: `
-- Lookups for the injection uniqueness checks the code makes (peds/injector.ts, peds/allocator.ts). Plain
-- indexes on purpose: a UNIQUE one would fail to build on a database that already holds a duplicate, which
-- is exactly the database that must still start so the duplicate can be investigated.
-- An Initial Key ID / initial KSN is unique across every BDK, not only within one (PCI PIN 20-1).
CREATE INDEX dukpt_initial_keys_initial_key_id ON dukpt_initial_keys (initial_key_id);
-- A device serial is claimed by at most one running injection of a run.
CREATE INDEX ped_injections_running_serial ON ped_injections (run_id, device_serial) WHERE status = 'running';
`,
}
