import type { AuditLog } from '../audit/audit-log'
import type { Vault } from '../crypto/vault'
import type { CardholderRepository } from '../enrolment/repository'
import type { Logger } from '../log'
import type { Db } from '../store/db'
import { BenchRuns } from './bench-runs'
import { DongleEvents, StreamTickets } from './events'
import { DongleImporter } from './import-jobs'
import { DongleInventory, type DongleVerification } from './inventory'
import { ProgrammerManager, type ProgrammerManagerOptions } from './programmers'

/** What an authentication method needs to show a dongle challenge: which token, and how long its codes are. */
export interface CardholderDongle {
  serial: string
  kind: 'hotp' | 'totp'
  digits: number
}

/**
 * The dongle capability as other parts of the server see it (`services.dongles`). Authentication methods use
 * {@link DongleService.verifyDongleCode} and {@link DongleService.dongleFor}; the routes and the CLI use the
 * inventory, importer, programmers and bench runs. Hardware is opened only by `startHardware` (the server's
 * module start), never by CLI commands that only touch the inventory.
 */
export class DongleService {
  readonly inventory: DongleInventory
  readonly importer: DongleImporter
  readonly events = new DongleEvents()
  readonly tickets = new StreamTickets()
  readonly programmers: ProgrammerManager
  readonly bench: BenchRuns

  constructor(db: Db, vault: Vault, audit: AuditLog, cardholders: CardholderRepository, log: Logger) {
    vault.registerSealedColumn({
      table: 'dongles',
      column: 'seed_sealed',
      purpose: 'secret-enc',
      aadColumn: 'serial',
    })
    this.inventory = new DongleInventory(db, vault, audit, cardholders)
    this.importer = new DongleImporter(db, this.inventory, audit)
    this.programmers = new ProgrammerManager(db, audit, log, this.events, (programmerId, device) =>
      this.bench.readTouch(programmerId, device),
    )
    this.bench = new BenchRuns({ inventory: this.inventory, events: this.events, log }, this.programmers)
  }

  /**
   * Checks a one-time code against the dongle the cardholder uses now, updating counter, drift and fail
   * counter in one transaction. `{ok: false}` is the only failure answer: wrong, replayed, locked, lost or no
   * token look the same to the caller (the reason is in the audit log).
   */
  verifyDongleCode(cardholderId: number, code: string, actor = 'system'): DongleVerification {
    return this.inventory.verifyDongleCode(cardholderId, code, actor)
  }

  /** The token a cardholder authenticates with, if any (for the challenge page: code length, HOTP or TOTP). */
  dongleFor(cardholderId: number): CardholderDongle | undefined {
    const t = this.inventory.inUseFor(cardholderId)
    return t && t.state === 'assigned' ? { serial: t.serial, kind: t.kind, digits: t.digits } : undefined
  }

  /** Opens the USB bus and the configured serial programmers (server start only). */
  startHardware(options?: ProgrammerManagerOptions): Promise<void> {
    return this.programmers.start(options)
  }

  stopHardware(): Promise<void> {
    return this.programmers.stop()
  }
}
