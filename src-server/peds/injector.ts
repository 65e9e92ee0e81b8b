import { randomBytes, type X509Certificate } from 'node:crypto'
import { PedDriver, PedError } from '../../hardware/ped/driver'
import { authenticateDevice, injectDevice, InjectionError } from '../../hardware/ped/injection'
import { LinkError } from '../../hardware/ped/link'
import { toHex } from '../keys/crypto/bytes'
import { CertificateValidationError } from '../keys/crypto/pki'
import { withOddParity } from '../keys/crypto/parity'
import { DuplicateInitialKeyError, type AllocatedInitialKey } from './allocator'
import type { Injection, Station } from './model'
import type { PedService, StationCredentials } from './service'

export interface InjectionJob {
  injectionId: number
  run: { id: number; bdk_key_id: number; key_transport: 'tr34' | 'clear'; profile: string }
  station: Station
  credentials: StationCredentials
  pedOperators: [{ id: string; password: string }, { id: string; password: string }]
  operators: string[]
  actor: string
}

/** Key slots used on the device: the TR-34 key-block protection key and the DUKPT initial key. */
const KBPK_SLOT = 1
const DUKPT_SLOT = 2
/** The functional self-test: the device encrypts this PIN, the host decrypts it with the key it loaded. */
const SELF_TEST = { pin: '1234', pan: '4761739001010010' }

/** PCI PIN 32-9: no clear-text key loading into PCI PTS POI v3 or later devices. */
export function clearKeyLoadingAllowed(securityVersion: string): boolean {
  const major = Number.parseInt(securityVersion, 10)
  return Number.isInteger(major) && major < 3
}

/** A refusal decided by the station before any key leaves it. */
class Refusal extends Error {}

/** Device and link errors carry fixed, secret-free messages; anything else is reported generically. */
function describeFailure(err: unknown): string {
  if (
    err instanceof Refusal ||
    err instanceof PedError ||
    err instanceof LinkError ||
    err instanceof InjectionError ||
    err instanceof CertificateValidationError ||
    err instanceof DuplicateInitialKeyError ||
    (err instanceof Error && err.name === 'TransportError')
  ) {
    return (err as Error).message
  }
  return 'internal error (see the server log)'
}

/**
 * One device on one station: identify it, check it against the run's inventory and the clear-key policy,
 * allocate its unique initial key and KSN, load it with the reference flow (TR-34 KBPK, TR-31 B1 initial
 * key, KCVs, PIN self-test), and record the outcome. Every driver call is reported as a progress step.
 */
export async function runInjection(service: PedService, job: InjectionJob): Promise<void> {
  const { db } = service
  let serial: string | undefined
  /** The serial this injection claimed (after the device authenticated and the inventory check). */
  let claimed = false
  let certificate: X509Certificate | undefined
  let allocated: AllocatedInitialKey | undefined
  const kbpk: { slot: number; key: Buffer } = { slot: KBPK_SLOT, key: Buffer.alloc(0) }

  const update = (fields: Partial<Record<string, string | number | null>>) => {
    const cols = Object.keys(fields)
    db.prepare(`UPDATE ped_injections SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`).run(
      ...cols.map((c) => fields[c] ?? null),
      job.injectionId,
    )
  }
  const emit = (step: string, status: Injection['status'], message?: string) => {
    update({ step })
    service.emit('progress', {
      injectionId: job.injectionId,
      runId: job.run.id,
      stationId: job.station.id,
      station: job.station.name,
      ...(serial ? { serial } : {}),
      step,
      status,
      ...(message ? { message } : {}),
      at: new Date().toISOString(),
    })
  }

  let driver: PedDriver | undefined
  try {
    emit('connecting', 'running')
    driver = await PedDriver.open(job.station.url, {
      profile: job.station.profile,
      baudRate: job.station.baud,
    })
    const traced = traceSteps(driver, (step) => emit(step, 'running'))
    const info = await driver.getInfo()
    serial = info.serial
    // device_serial is written by the claim below: a running row with a serial holds that serial.
    update({ device_model: `${info.vendor} ${info.model}`, security_version: info.securityVersion })
    emit('identified', 'running', `${info.vendor} ${info.model}, PCI PTS POI v${info.securityVersion}`)

    // The serial is only the device's word until its certificate names it: authenticate before the serial
    // is used for anything. A device that fails is refused, and the inventory entry of the serial it
    // claimed is left alone (that device may be elsewhere).
    try {
      certificate = authenticateDevice(info, job.credentials)
    } catch (err) {
      if (err instanceof InjectionError || err instanceof CertificateValidationError)
        throw new Refusal(err.message)
      throw err
    }

    // Claim the serial for this injection before any key is allocated or sent. Check and claim are one
    // transaction, so of two devices reporting one serial (a clone, a mislabelled unit) only the first gets
    // through. A claim left by a stopped server is released at start-up (PedService.recoverInterrupted).
    db.transaction(() => {
      const inventory = db
        .prepare('SELECT status FROM injection_run_devices WHERE run_id = ? AND serial = ?')
        .pluck()
        .get(job.run.id, info.serial) as string | undefined
      if (inventory === undefined) throw new Refusal(`device ${info.serial} is not in this run's inventory`)
      if (inventory === 'injected')
        throw new Refusal(`device ${info.serial} was already injected in this run`)
      const holder = db
        .prepare(
          `SELECT id FROM ped_injections WHERE run_id = ? AND device_serial = ? AND status = 'running' AND id != ?`,
        )
        .pluck()
        .get(job.run.id, info.serial, job.injectionId) as number | undefined
      if (holder !== undefined) {
        throw new Refusal(
          `another device reporting serial ${info.serial} is being injected in this run (injection ${holder}): duplicate serial, investigate`,
        )
      }
      update({ device_serial: info.serial })
    }).immediate()
    claimed = true

    if (job.run.key_transport === 'clear') {
      if (!clearKeyLoadingAllowed(info.securityVersion)) {
        throw new Refusal(
          `clear-key loading into a PCI PTS POI v${info.securityVersion} device is forbidden (PCI PIN 32-9)`,
        )
      }
      throw new Refusal('this station protocol loads keys encrypted only (TR-34/TR-31); use a tr34 run')
    }

    ;[allocated] = service.allocator.allocate(job.run.bdk_key_id, [info.serial], job.run.id)
    const kbpkLength = allocated.kind === 'aes' ? 32 : 16
    kbpk.key = allocated.kind === 'aes' ? randomBytes(kbpkLength) : withOddParity(randomBytes(kbpkLength))
    update({
      initial_key: allocated.id,
      initial_key_kcv: allocated.kcv,
      initial_ksn: toHex(allocated.initialKeyId),
    })

    const result = await injectDevice(traced, {
      kdh: job.credentials.kdh,
      trustedCa: job.credentials.trustedCa,
      // Checked against each device certificate, and handed to the device in the KDH credential token.
      crl: job.credentials.crl,
      operators: job.pedOperators,
      kbpk,
      dukpt:
        allocated.kind === 'tdes'
          ? {
              slot: DUKPT_SLOT,
              kind: 'tdes',
              initialKey: allocated.initialKey,
              initialKsn: allocated.initialKeyId,
            }
          : {
              slot: DUKPT_SLOT,
              kind: 'aes',
              initialKey: allocated.initialKey,
              initialKeyId: allocated.initialKeyId,
            },
      selfTest: SELF_TEST,
      expectedSerial: info.serial,
    })
    const bdk = service.keys.get(job.run.bdk_key_id)
    db.transaction(() => {
      update({
        status: 'injected',
        step: 'done',
        kbpk_kcv: result.kbpk.kcv,
        self_test_ksn: result.selfTest.ksn,
        finished_at: new Date().toISOString(),
      })
      db.prepare(`UPDATE injection_run_devices SET status = 'injected' WHERE run_id = ? AND serial = ?`).run(
        job.run.id,
        info.serial,
      )
      service.audit.record({
        actor: `operator:${job.actor.replace(/^operator:/, '')}`,
        action: 'peds.inject',
        target: `ped:${info.serial}`,
        details: {
          run: job.run.id,
          station: job.station.name,
          device: {
            serial: info.serial,
            model: `${info.vendor} ${info.model}`,
            poi: info.securityVersion,
            firmware: info.firmware,
            certificateFingerprint256: result.certificateFingerprint256,
          },
          bdk: { id: bdk.id, kcv: bdk.kcv },
          initialKeyKcv: result.dukpt.kcv,
          initialKsn: toHex(allocated!.initialKeyId),
          kbpkKcv: result.kbpk.kcv,
          selfTestKsn: result.selfTest.ksn,
          operators: job.operators,
        },
      })
    })()
    emit('done', 'injected', `initial key KCV ${result.dukpt.kcv}`)
  } catch (err) {
    const refused = err instanceof Refusal
    const message = describeFailure(err)
    if (!(
      err instanceof Refusal ||
      err instanceof PedError ||
      err instanceof LinkError ||
      err instanceof InjectionError
    )) {
      service.log.error({ err, injectionId: job.injectionId }, 'injection failed')
    }
    const status = refused ? 'refused' : 'failed'
    db.transaction(() => {
      // The serial the device reported stays on the record even when it never got to claim it.
      update({
        status,
        error: message,
        finished_at: new Date().toISOString(),
        ...(serial ? { device_serial: serial } : {}),
      })
      // Only a serial this injection claimed: another's (a clone, an unauthenticated device) is left alone.
      if (claimed && !refused) {
        db.prepare(
          `UPDATE injection_run_devices SET status = 'failed' WHERE run_id = ? AND serial = ? AND status = 'expected'`,
        ).run(job.run.id, serial)
      }
      service.audit.record({
        actor: `operator:${job.actor.replace(/^operator:/, '')}`,
        action: refused ? 'peds.inject.refused' : 'peds.inject.failed',
        target: serial ? `ped:${serial}` : `station:${job.station.id}`,
        details: {
          run: job.run.id,
          station: job.station.name,
          reason: message,
          ...(certificate ? { certificateFingerprint256: certificate.fingerprint256 } : {}),
          // An allocated initial key is burnt, never re-issued: the record says which.
          ...(allocated ? { initialKsn: toHex(allocated.initialKeyId), initialKeyKcv: allocated.kcv } : {}),
          operators: job.operators,
        },
      })
    })()
    emit(status, status, message)
  } finally {
    allocated?.initialKey.fill(0)
    kbpk.key.fill(0)
    await driver?.close().catch(() => undefined)
  }
}

/** The driver with every command announced before it is sent, for progress reporting. */
function traceSteps(driver: PedDriver, onStep: (step: string) => void): PedDriver {
  return new Proxy(driver, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown
      if (typeof value !== 'function' || prop === 'close') return value
      return (...args: unknown[]) => {
        onStep(String(prop))
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
}
