import { EventEmitter } from 'node:events'
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto'
import type { z } from 'zod'
import type { AuditLog } from '../audit/audit-log'
import type { Vault } from '../crypto/vault'
import { conflict, HttpProblem, notFound } from '../http/problem'
import { constantTimeEqual } from '../keys/crypto/bytes'
import { issueParty, type Party } from '../keys/crypto/lab-pki'
import { withOddParity } from '../keys/crypto/parity'
import { CertificateValidationError, parseCrl, validatePartyCertificate, type Crl } from '../keys/crypto/pki'
import type { KeyStore } from '../keys/store'
import type { Logger } from '../log'
import type { Db } from '../store/db'
import type { InitialKeyAllocator } from './allocator'
import { admitCrl, crlSummary, decodeCrl, issuedBy } from './crl'
import { runInjection } from './injector'
import type {
  CrlImport,
  Injection,
  InjectRequest,
  LabTrust,
  NewRun,
  NewStation,
  ProgressEvent,
  Run,
  Station,
  TrustImport,
} from './model'

const TRUST_AAD = 'ims kdh private key'

/** Published test BDKs (X9.24-1 A.4 and X9.24-3 supplement): usable in lab runs only, never in production. */
const PUBLISHED_TEST_BDKS = ['0123456789ABCDEFFEDCBA9876543210', 'FEDCBA9876543210F1F1F1F1F1F1F1F1'].map(
  (h) => Buffer.from(h, 'hex'),
)

/**
 * Whether `key` is one of the published test BDKs. DES ignores the low (parity) bit of every byte, so a TDES
 * key that differs from a test key only there is the same key (same KCV, same IPEKs): TDES keys are compared
 * after forcing odd parity on both sides. AES keys have no parity bits and are compared exactly.
 */
export function isPublishedTestBdk(algorithm: string, key: Buffer): boolean {
  const normalise = algorithm.startsWith('tdes') ? withOddParity : (k: Buffer) => k
  const candidate = normalise(key)
  try {
    return PUBLISHED_TEST_BDKS.some((t) => constantTimeEqual(normalise(t), candidate))
  } finally {
    if (candidate !== key) candidate.fill(0)
  }
}

interface RunRow {
  id: number
  name: string
  bdk_key_id: number
  profile: 'production' | 'lab'
  key_transport: 'tr34' | 'clear'
  created_by: string
  created_at: string
}

interface InjectionRow {
  id: number
  run_id: number
  station_id: number
  device_serial: string | null
  device_model: string | null
  security_version: string | null
  status: Injection['status']
  step: string
  kbpk_kcv: string | null
  initial_key_kcv: string | null
  initial_ksn: string | null
  self_test_ksn: string | null
  error: string | null
  operators: string
  started_at: string
  finished_at: string | null
}

const opt = <T>(v: T | null) => v ?? undefined

export interface StationCredentials {
  kdh: Party
  trustedCa: X509Certificate
  /** The trusted CA's CRL: every device certificate is checked against it, and each device gets it at bind. */
  crl?: Crl
}

/**
 * Key-injection stations and production runs. A run is created by a key manager for one BDK and an
 * inventory of device serials; bench staff then inject devices on one or more stations at once, each
 * station's progress pushed as 'progress' events. Each load is recorded in ped_injections and, with the
 * device, key KCVs, KSN and operators, in the hash-chained audit log.
 */
export class PedService extends EventEmitter<{ progress: [ProgressEvent] }> {
  private readonly busy = new Set<number>()
  private readonly jobs = new Set<Promise<void>>()
  /** The stored CRL parsed, by its import (storedCrl), with its `issuedBy` verdicts per CA fingerprint. */
  private parsedCrl: { key: string; crl: Crl; issuedBy: Map<string, boolean> } | undefined

  constructor(
    readonly db: Db,
    private readonly vault: Vault,
    readonly audit: AuditLog,
    readonly keys: KeyStore,
    readonly allocator: InitialKeyAllocator,
    readonly log: Logger,
  ) {
    super()
  }

  // ---- TR-34 credentials ----------------------------------------------------------------------------

  setTrust(input: z.infer<typeof TrustImport>, actor: string): void {
    let ca: X509Certificate, kdh: X509Certificate
    try {
      ca = new X509Certificate(input.trustedCaPem)
      kdh = new X509Certificate(input.kdhCertificatePem)
    } catch {
      throw badTrust('a certificate is not valid PEM')
    }
    let privateKey
    try {
      privateKey = createPrivateKey(input.kdhPrivateKeyPem)
    } catch {
      throw badTrust('the KDH private key is not a valid PEM private key')
    }
    if (!kdh.checkPrivateKey(privateKey)) throw badTrust('the KDH private key does not match its certificate')
    try {
      validatePartyCertificate(kdh, { ca, role: 'KDH' })
    } catch (err) {
      if (err instanceof CertificateValidationError) throw badTrust(`KDH certificate: ${err.message}`)
      throw err
    }
    const der = privateKey.export({ type: 'pkcs8', format: 'der' })
    const sealed = this.vault.seal('secret-enc', der, TRUST_AAD)
    der.fill(0)
    this.db.transaction(() => {
      // The stored CRL stays. A renewed CA certificate (same name and key) keeps using it; another CA's CRL
      // fails its check at every injection, which then stops until this CA's CRL is imported: once revocation
      // is in use, a change of CA must not quietly switch it off.
      const stored = this.storedCrl()?.crl
      const crlOfAnotherCa = stored !== undefined && !issuedBy(stored, ca)
      this.db
        .prepare(
          `INSERT INTO ped_trust (id, trusted_ca, kdh_certificate, kdh_key_sealed, updated_by, updated_at)
           VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET trusted_ca = excluded.trusted_ca,
           kdh_certificate = excluded.kdh_certificate, kdh_key_sealed = excluded.kdh_key_sealed,
           updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
        )
        .run(ca.toString(), kdh.toString(), sealed, actor, new Date().toISOString())
      this.audit.record({
        actor,
        action: 'peds.trust.set',
        details: {
          trustedCa: ca.fingerprint256,
          kdhSerial: kdh.serialNumber,
          kdhSubject: kdh.subject,
          ...(crlOfAnotherCa ? { crlOfAnotherCa: true } : {}),
        },
      })
    })()
  }

  /**
   * Installs the trusted CA's CRL (PEM or base64 DER) after the checks of `admitCrl`: the CA's own, in
   * date, not older than the stored one. From then on every injection applies it (PedService.inject).
   */
  importCrl(input: z.infer<typeof CrlImport>, actor: string): void {
    const ca = this.trustedCa()
    if (!ca) throw conflict('Set the trusted CA first (PUT /api/peds/trust): a CRL is checked against it')
    const crl = decodeCrl(input.crl)
    // The rollback check compares with the CA's own earlier CRL only (another CA numbers its CRLs its own way).
    const stored = this.storedCrl()?.crl
    admitCrl(crl, { ca, stored: stored && issuedBy(stored, ca) ? stored : undefined })
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO ped_trust_crl (id, crl_der, imported_by, imported_at) VALUES (1, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET crl_der = excluded.crl_der, imported_by = excluded.imported_by,
           imported_at = excluded.imported_at`,
        )
        .run(crl.der, actor, new Date().toISOString())
      this.audit.record({
        actor,
        action: 'peds.trust.crl.import',
        details: {
          trustedCa: ca.fingerprint256,
          ...crlSummary(crl),
          sha256: createHash('sha256').update(crl.der).digest('hex'),
        },
      })
    })()
  }

  private trustedCa(): X509Certificate | undefined {
    const pem = this.db.prepare('SELECT trusted_ca FROM ped_trust WHERE id = 1').pluck().get() as
      string | undefined
    return pem === undefined ? undefined : new X509Certificate(pem)
  }

  private storedCrl(): { crl: Crl; importedBy: string; importedAt: string } | undefined {
    const row = this.db.prepare('SELECT * FROM ped_trust_crl WHERE id = 1').get() as
      { crl_der: Buffer; imported_by: string; imported_at: string } | undefined
    if (!row) return undefined
    // Parsed once per import: a CRL may be a megabyte, and the dashboard reads the trust on every refresh.
    const key = `${row.imported_at}/${row.crl_der.length}`
    if (this.parsedCrl?.key !== key) this.parsedCrl = { key, crl: parseCrl(row.crl_der), issuedBy: new Map() }
    return { crl: this.parsedCrl.crl, importedBy: row.imported_by, importedAt: row.imported_at }
  }

  /** `issuedBy` of the stored CRL, remembered per CA (a signature check over the whole CRL). */
  private storedCrlIssuedBy(crl: Crl, ca: X509Certificate): boolean {
    const memo = this.parsedCrl?.crl === crl ? this.parsedCrl.issuedBy : new Map<string, boolean>()
    let verdict = memo.get(ca.fingerprint256)
    if (verdict === undefined) memo.set(ca.fingerprint256, (verdict = issuedBy(crl, ca)))
    return verdict
  }

  /** Lab set-up: issue the station's KDH certificate under a lab CA (the CA's key is used once, not kept). */
  setLabTrust(input: z.infer<typeof LabTrust>, actor: string): void {
    let ca: Party
    try {
      ca = {
        certificate: new X509Certificate(input.caCertificatePem),
        privateKey: createPrivateKey(input.caPrivateKeyPem),
      }
    } catch {
      throw badTrust('the lab CA certificate or key is not valid PEM')
    }
    if (!ca.certificate.checkPrivateKey(ca.privateKey))
      throw badTrust('the CA key does not match the CA certificate')
    const kdh = issueParty(ca, 'KDH', 'IMS station')
    this.setTrust(
      {
        trustedCaPem: ca.certificate.toString(),
        kdhCertificatePem: kdh.certificate.toString(),
        kdhPrivateKeyPem: kdh.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
      actor,
    )
  }

  trust() {
    const row = this.db.prepare('SELECT * FROM ped_trust WHERE id = 1').get() as
      { trusted_ca: string; kdh_certificate: string; updated_by: string; updated_at: string } | undefined
    if (!row) return undefined
    const ca = new X509Certificate(row.trusted_ca)
    const kdh = new X509Certificate(row.kdh_certificate)
    const stored = this.storedCrl()
    return {
      trustedCa: { subject: ca.subject, fingerprint256: ca.fingerprint256, validTo: ca.validTo },
      kdh: { subject: kdh.subject, serialNumber: kdh.serialNumber, validTo: kdh.validTo },
      updatedBy: row.updated_by,
      updatedAt: row.updated_at,
      ...(stored
        ? {
            crl: {
              ...crlSummary(stored.crl),
              issuedByTrustedCa: this.storedCrlIssuedBy(stored.crl, ca),
              importedBy: stored.importedBy,
              importedAt: stored.importedAt,
            },
          }
        : {}),
    }
  }

  credentials(): StationCredentials {
    const row = this.db.prepare('SELECT * FROM ped_trust WHERE id = 1').get() as
      { trusted_ca: string; kdh_certificate: string; kdh_key_sealed: Buffer } | undefined
    if (!row) throw conflict('The station has no TR-34 credentials yet: set the trusted CA and KDH first')
    const der = this.vault.open(row.kdh_key_sealed, TRUST_AAD)
    try {
      return {
        trustedCa: new X509Certificate(row.trusted_ca),
        kdh: {
          certificate: new X509Certificate(row.kdh_certificate),
          privateKey: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
        },
        crl: this.storedCrl()?.crl,
      }
    } finally {
      der.fill(0)
    }
  }

  // ---- stations -------------------------------------------------------------------------------------

  listStations(): Station[] {
    const rows = this.db.prepare('SELECT * FROM ped_stations ORDER BY name').all() as {
      id: number
      name: string
      url: string
      profile: 'stx' | 'syn'
      baud: number
      created_at: string
    }[]
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      url: r.url,
      profile: r.profile,
      baud: r.baud,
      busy: this.busy.has(r.id),
      createdAt: r.created_at,
    }))
  }

  station(id: number): Station {
    const s = this.listStations().find((x) => x.id === id)
    if (!s) throw notFound(`No station with id ${id}`)
    return s
  }

  addStation(input: z.infer<typeof NewStation>, actor: string): Station {
    if (this.db.prepare('SELECT 1 FROM ped_stations WHERE name = ? OR url = ?').get(input.name, input.url)) {
      throw conflict('A station with this name or port already exists')
    }
    const info = this.db
      .prepare('INSERT INTO ped_stations (name, url, profile, baud, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(input.name, input.url, input.profile, input.baud, new Date().toISOString())
    this.audit.record({
      actor,
      action: 'peds.station.add',
      target: `station:${info.lastInsertRowid}`,
      details: input,
    })
    return this.station(Number(info.lastInsertRowid))
  }

  removeStation(id: number, actor: string): void {
    const s = this.station(id)
    if (s.busy) throw conflict(`Station ${s.name} is injecting a device`)
    if (this.db.prepare('SELECT 1 FROM ped_injections WHERE station_id = ?').get(id)) {
      throw conflict(`Station ${s.name} has injection records; it stays for the evidence`)
    }
    this.db.prepare('DELETE FROM ped_stations WHERE id = ?').run(id)
    this.audit.record({
      actor,
      action: 'peds.station.remove',
      target: `station:${id}`,
      details: { name: s.name },
    })
  }

  // ---- runs -----------------------------------------------------------------------------------------

  createRun(input: z.infer<typeof NewRun>, actor: string): Run {
    const bdk = this.keys.get(input.bdkKeyId)
    if (bdk.kind !== 'bdk') throw badRun(`${bdk.name} is not a BDK`)
    if (bdk.status !== 'active') throw conflict(`BDK ${bdk.name} is ${bdk.status}, not active`)
    if (input.keyTransport === 'clear' && input.profile !== 'lab') {
      throw badRun('clear-key loading exists only in a lab run; production runs load keys by TR-34 and TR-31')
    }
    if (input.profile === 'production') {
      const isTestKey = this.keys.withKey(bdk.id, (key) => isPublishedTestBdk(bdk.algorithm, key))
      if (isTestKey) throw badRun(`BDK ${bdk.name} is a published test key: use it in a lab run only`)
    }
    const serials = [...new Set(input.serials)]
    return this.db.transaction(() => {
      const info = this.db
        .prepare(
          `INSERT INTO injection_runs (name, bdk_key_id, profile, key_transport, created_by, created_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(input.name, bdk.id, input.profile, input.keyTransport, actor, new Date().toISOString())
      const id = Number(info.lastInsertRowid)
      const add = this.db.prepare(
        `INSERT INTO injection_run_devices (run_id, serial, status) VALUES (?, ?, 'expected')`,
      )
      for (const s of serials) add.run(id, s)
      this.audit.record({
        actor,
        action: 'peds.run.create',
        target: `run:${id}`,
        details: {
          name: input.name,
          bdk: bdk.id,
          bdkKcv: bdk.kcv,
          profile: input.profile,
          keyTransport: input.keyTransport,
          devices: serials.length,
        },
      })
      return this.run(id)
    })()
  }

  runRow(id: number): RunRow {
    const row = this.db.prepare('SELECT * FROM injection_runs WHERE id = ?').get(id) as RunRow | undefined
    if (!row) throw notFound(`No injection run with id ${id}`)
    return row
  }

  listRuns(): Run[] {
    const ids = this.db
      .prepare('SELECT id FROM injection_runs ORDER BY id DESC LIMIT 100')
      .pluck()
      .all() as number[]
    return ids.map((id) => this.run(id))
  }

  run(id: number): Run {
    const r = this.runRow(id)
    const bdk = this.keys.get(r.bdk_key_id)
    const counts = Object.fromEntries(
      (
        this.db
          .prepare('SELECT status, count(*) AS n FROM injection_run_devices WHERE run_id = ? GROUP BY status')
          .all(id) as { status: string; n: number }[]
      ).map((c) => [c.status, c.n]),
    )
    return {
      id: r.id,
      name: r.name,
      bdk: { id: bdk.id, name: bdk.name, kcv: bdk.kcv, algorithm: bdk.algorithm },
      profile: r.profile,
      keyTransport: r.key_transport,
      createdBy: r.created_by,
      createdAt: r.created_at,
      devices: { expected: counts.expected ?? 0, injected: counts.injected ?? 0, failed: counts.failed ?? 0 },
    }
  }

  runDetail(id: number) {
    const run = this.run(id)
    const inventory = this.db
      .prepare('SELECT serial, status FROM injection_run_devices WHERE run_id = ? ORDER BY serial LIMIT 1000')
      .all(id) as { serial: string; status: 'expected' | 'injected' | 'failed' }[]
    const injections = (
      this.db
        .prepare('SELECT * FROM ped_injections WHERE run_id = ? ORDER BY id DESC LIMIT 500')
        .all(id) as InjectionRow[]
    ).map(toInjection)
    return { ...run, inventory, injections }
  }

  injection(id: number): Injection {
    const row = this.db.prepare('SELECT * FROM ped_injections WHERE id = ?').get(id) as
      InjectionRow | undefined
    if (!row) throw notFound(`No injection with id ${id}`)
    return toInjection(row)
  }

  // ---- injection ------------------------------------------------------------------------------------

  /**
   * Starts one injection per station, all at once, and answers with their records (status running).
   * Dual control: the bench operator who injects cannot be the key manager who created the run.
   */
  inject(runId: number, input: z.infer<typeof InjectRequest>, actor: string): Injection[] {
    const run = this.runRow(runId)
    if (run.created_by === actor) {
      throw new HttpProblem(403, 'Dual control', 'The operator who created a run cannot also inject it')
    }
    if (input.pedOperators[0].id === input.pedOperators[1].id) {
      throw badRun('key-loading mode needs two different PED operators')
    }
    const stationIds = [...new Set(input.stationIds)]
    const stations = stationIds.map((id) => this.station(id))
    const busy = stations.filter((s) => s.busy)
    if (busy.length) throw conflict(`Busy: ${busy.map((s) => s.name).join(', ')}`)
    const credentials = this.credentials()
    assertUsable(credentials)
    const operators = [actor, run.created_by, ...input.pedOperators.map((o) => `ped:${o.id}`)]
    return stations.map((station) => {
      const info = this.db
        .prepare(
          `INSERT INTO ped_injections (run_id, station_id, status, step, operators, started_at)
           VALUES (?, ?, 'running', 'queued', ?, ?)`,
        )
        .run(runId, station.id, JSON.stringify(operators), new Date().toISOString())
      const injectionId = Number(info.lastInsertRowid)
      this.busy.add(station.id)
      const job = runInjection(this, {
        injectionId,
        run,
        station,
        credentials,
        pedOperators: input.pedOperators,
        operators,
        actor,
      })
        .catch((err: unknown) => this.log.error({ err, injectionId }, 'injection job failed'))
        .finally(() => {
          this.busy.delete(station.id)
          this.jobs.delete(job)
        })
      this.jobs.add(job)
      return this.injection(injectionId)
    })
  }

  /**
   * Settles the injections a stopped server left `running` (called at server start, by the peds module).
   * Each one still holds its device's serial, which would refuse that device as a duplicate for ever. The
   * device may have received keys before the stop, so the record is a failure like one on the bench: an
   * initial key it was allocated stays burnt, and injecting the device again gets a new one.
   */
  recoverInterrupted(): number {
    const stale = (
      this.db.prepare(`SELECT * FROM ped_injections WHERE status = 'running'`).all() as InjectionRow[]
    ).filter((r) => !this.busy.has(r.station_id))
    const reason = 'the server stopped during this injection; inject the device again'
    for (const row of stale) {
      this.db.transaction(() => {
        this.db
          .prepare(`UPDATE ped_injections SET status = 'failed', error = ?, finished_at = ? WHERE id = ?`)
          .run(reason, new Date().toISOString(), row.id)
        if (row.device_serial !== null) {
          this.db
            .prepare(
              `UPDATE injection_run_devices SET status = 'failed' WHERE run_id = ? AND serial = ? AND status = 'expected'`,
            )
            .run(row.run_id, row.device_serial)
        }
        this.audit.record({
          actor: 'system',
          action: 'peds.inject.failed',
          target: row.device_serial !== null ? `ped:${row.device_serial}` : `station:${row.station_id}`,
          details: {
            run: row.run_id,
            station: this.db
              .prepare('SELECT name FROM ped_stations WHERE id = ?')
              .pluck()
              .get(row.station_id),
            reason,
            ...(row.initial_ksn !== null
              ? { initialKsn: row.initial_ksn, initialKeyKcv: row.initial_key_kcv }
              : {}),
            operators: JSON.parse(row.operators) as string[],
          },
        })
      })()
    }
    if (stale.length)
      this.log.warn({ count: stale.length }, 'injections interrupted by a restart marked failed')
    return stale.length
  }

  /** Resolves when every running injection has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.jobs.size) await Promise.allSettled([...this.jobs])
  }
}

function toInjection(r: InjectionRow): Injection {
  return {
    id: r.id,
    runId: r.run_id,
    stationId: r.station_id,
    deviceSerial: opt(r.device_serial),
    deviceModel: opt(r.device_model),
    securityVersion: opt(r.security_version),
    status: r.status,
    step: r.step,
    kbpkKcv: opt(r.kbpk_kcv),
    initialKeyKcv: opt(r.initial_key_kcv),
    initialKsn: opt(r.initial_ksn),
    selfTestKsn: opt(r.self_test_ksn),
    error: opt(r.error),
    operators: JSON.parse(r.operators) as string[],
    startedAt: r.started_at,
    finishedAt: opt(r.finished_at),
  }
}

/**
 * Fails closed before any device is contacted when the credentials cannot be used: the CRL is out of date
 * (it may miss recent revocations) or the CA revoked the station's own KDH certificate (devices would
 * refuse the bind). Each device's certificate is still checked against the CRL on its own.
 */
function assertUsable(c: StationCredentials): void {
  try {
    validatePartyCertificate(c.kdh.certificate, { ca: c.trustedCa, crl: c.crl, role: 'KDH' })
  } catch (err) {
    if (!(err instanceof CertificateValidationError)) throw err
    throw conflict(
      err.reason === 'crl'
        ? `Injection is stopped: ${err.message}; import the CA's current CRL (PUT /api/peds/trust/crl)`
        : `Injection is stopped: the station's KDH certificate is unusable (${err.message}); install new station credentials (PUT /api/peds/trust)`,
    )
  }
}

function badTrust(detail: string): HttpProblem {
  return new HttpProblem(400, 'Invalid TR-34 credentials', detail)
}

function badRun(detail: string): HttpProblem {
  return new HttpProblem(400, 'Invalid injection request', detail)
}
