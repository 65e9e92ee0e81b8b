export default {
  id: '0530-peds-crl',
  sql: `
-- The trusted PED CA's current CRL (DER), checked at import against that CA (signature, nextUpdate, no
-- rollback) and applied to every injection. One row; it stays when the trusted CA is replaced, so that
-- another CA's CRL stops injection until that CA's own is imported (peds/service.ts).
CREATE TABLE ped_trust_crl (
  id INTEGER PRIMARY KEY CHECK (id = 1) REFERENCES ped_trust (id),
  crl_der BLOB NOT NULL,
  imported_by TEXT NOT NULL,
  imported_at TEXT NOT NULL
) STRICT;
`,
}
