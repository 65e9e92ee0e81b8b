import { closeSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { AcsRuntime } from './acs/runtime'
import { AuditLog } from './audit/audit-log'
import type { Config } from './config'
import { Keyring } from './crypto/keyring'
import { Vault } from './crypto/vault'
import type { Logger } from './log'
import { OperatorService } from './operators/service'
import { CardholderRepository } from './enrolment/repository'
import { EnrolmentImporter } from './enrolment/importer'
import { IssuerRepository } from './issuers/repository'
import { SmsService } from './sms/service'
import { ModemRepository } from './modems/repository'
import { ModemService } from './modems/service'
import { DongleService } from './dongles/service'
import { VirtualPhoneGateway } from './sms/virtual-phone'
import { databasePath, migrate, openDatabase, type Db } from './store/db'
import { KeyStore } from './keys/store'
import { CeremonyService } from './keys/ceremonies'
import { InitialKeyAllocator } from './peds/allocator'
import { PedService } from './peds/service'
import { TerminalService } from './terminals/service'
import { ReadPool } from './store/read-pool'
import { Checkpointer } from './store/checkpointer'
import { Durability } from './store/durability'
import { GroupCommit } from './store/group-commit'
import { TwoFactorService } from './twofa/service'
import { ChannelService } from './channels/service'
import { ReportService } from './reports/service'
import { DailyReports } from './reports/daily'
import { TemplateStore } from './templates/store'
import { FraudService } from './fraud/service'
import { MobileService } from './mobile/service'

/** Everything a capability module needs, built once per process and handed to routes and jobs. */
export interface Services {
  config: Config
  log: Logger
  db: Db
  /** Awaited before acknowledging a write (see store/durability.ts). */
  durability: Durability
  reads: ReadPool
  keyring: Keyring
  vault: Vault
  audit: AuditLog
  operators: OperatorService
  issuers: IssuerRepository
  cardholders: CardholderRepository
  enrolment: EnrolmentImporter
  sms: SmsService
  /** The EMV 3DS ACS: AReq handling, challenges, RReq outbox, ledger, keys, rules. */
  acs: AcsRuntime
  modems: ModemService
  keyStore: KeyStore
  ceremonies: CeremonyService
  peds: PedService
  terminals: TerminalService
  dongles: DongleService
  /** The 2FA PIN API: applications, message templates, PINs, limits, usage. */
  twofa: TwoFactorService
  /** MOTO / EDC / ECOM authentication requests, channel clients and their webhooks. */
  channels: ChannelService
  reports: ReportService
  dailyReports: DailyReports
  /** SMS message templates per issuer and language. */
  templates: TemplateStore
  /** Real-time fraud notification, the fraud queue and the issuer webhook. */
  fraud: FraudService
  /** The mobile authenticator: devices, approvals and the mobile-signature method. */
  mobile: MobileService
  version: string
  close(): Promise<void>
}

/** Opens the database (applying migrations) and builds the shared services over it. */
export function createServices(
  config: Config,
  log: Logger,
  masterKey: Buffer,
  version: string,
  /** A CLI command beside a server must not restart the WAL: it cannot hold the server's commits meanwhile. */
  options: { restartWal?: boolean } = {},
): Services {
  const db = openDatabase(databasePath(config.dataDir))
  migrate(db)
  const durability = new Durability(db, `${databasePath(config.dataDir)}-wal`)
  const durable = () => durability.flush()
  /** One group commit for the hot paths (AReqs, the SMS outbox): writes of one event-loop turn share a commit. */
  const commits = new GroupCommit(db)
  const keyring = new Keyring(db, masterKey)
  const vault = new Vault(keyring, db)
  vault.registerSealedColumn({ table: 'operators', column: 'totp_secret', purpose: 'secret-enc' })
  vault.registerSealedColumn({ table: 'operators', column: 'totp_pending', purpose: 'secret-enc' })
  const audit = new AuditLog(db, keyring, { durable })
  const operators = new OperatorService(db, vault, audit, {
    absoluteMs: config.sessionAbsoluteMs,
    idleMs: config.sessionIdleMs,
  })
  const issuers = new IssuerRepository(db, audit)
  const cardholders = new CardholderRepository(db, vault, issuers, audit)
  vault.registerSealedColumn({ table: 'cards', column: 'pan_ct', purpose: 'pan-enc' })
  const enrolment = new EnrolmentImporter(db, issuers, cardholders, audit)
  const sms = new SmsService(db, vault, log, durable, commits)
  vault.registerSealedColumn(SmsService.SEALED_TEXT)
  sms.useGateway(new VirtualPhoneGateway(), VirtualPhoneGateway.concurrency)
  sms.useNumberDirectory((digits) => cardholders.mobilesEndingWith(digits))
  vault.registerSealedColumn({ table: 'modems', column: 'pin_sealed', purpose: 'secret-enc' })
  const modems = new ModemService(sms, new ModemRepository(db, vault), audit, log)
  modems.applyStoredChoice()
  const dongles = new DongleService(db, vault, audit, cardholders, log)
  const reads = new ReadPool(databasePath(config.dataDir))
  const templates = new TemplateStore(db, audit)
  const acs = new AcsRuntime({
    db,
    durable,
    commits,
    vault,
    keyring,
    log,
    audit,
    issuers,
    cardholders,
    sms,
    templates,
    dongles,
  })
  vault.registerSealedColumn({
    table: 'acs_range_keys',
    column: 'sealed',
    purpose: 'secret-enc',
    aadColumn: "'range-key:' || range_id",
  })
  vault.registerSealedColumn({
    table: 'acs_signing_keys',
    column: 'key_sealed',
    purpose: 'secret-enc',
    aadColumn: "'signing:' || brand",
  })
  vault.registerSealedColumn({
    table: 'acs_tls_identities',
    column: 'key_sealed',
    purpose: 'secret-enc',
    aadColumn: "'tls:' || brand",
  })
  vault.registerSealedColumn({
    table: 'acs_challenges',
    column: 'app_cek',
    purpose: 'secret-enc',
    aadColumn: "'cek:' || acs_trans_id",
  })
  const keyStore = new KeyStore(db, vault, audit)
  const ceremonies = new CeremonyService(db, vault, audit, operators, keyStore)
  const peds = new PedService(db, vault, audit, keyStore, new InitialKeyAllocator(db, keyring, keyStore), log)
  const terminals = new TerminalService(db, vault, audit, keyStore)
  vault.registerSealedColumn({ table: 'card_list_changes', column: 'pan_sealed', purpose: 'pan-enc' })
  vault.registerSealedColumn({
    table: 'ped_trust',
    column: 'kdh_key_sealed',
    purpose: 'secret-enc',
    aadColumn: 'sealed_aad',
  })
  vault.registerSealedColumn({
    table: 'keys',
    column: 'sealed',
    purpose: 'secret-enc',
    aadColumn: 'sealed_aad',
  })
  vault.registerSealedColumn({
    table: 'key_ceremony_components',
    column: 'sealed',
    purpose: 'secret-enc',
    aadColumn: 'sealed_aad',
  })
  const twofa = new TwoFactorService({ db, vault, keyring, sms, audit })
  vault.registerSealedColumn({
    table: 'twofa_pins',
    column: 'text_sealed',
    purpose: 'secret-enc',
    aadColumn: "'twofa-pin:' || id",
  })
  const channels = new ChannelService({ db, vault, log, audit, sms, cardholders, methods: acs.methods })
  vault.registerSealedColumn({
    table: 'channel_clients',
    column: 'webhook_secret_sealed',
    purpose: 'secret-enc',
    aadColumn: "'channel-webhook:' || id",
  })
  const reports = new ReportService(db, reads)
  const dailyReports = new DailyReports(reports, log, { directory: join(config.dataDir, 'reports') })
  const fraud = new FraudService({
    db,
    vault,
    audit,
    log,
    sms,
    cardholders,
    templates,
    alarms: acs.alarms,
  })
  acs.events.on(fraud.onAuthenticated)
  sms.onIncomingSms('fraud', fraud.onSmsReply)
  const mobile = new MobileService({ db, log, audit, keyring, vault, sms, cardholders, acs, fraud, channels })
  // Opened last, so nothing above can throw with it open, and closed only after the database: closing any
  // descriptor of the file drops the process's locks on it.
  const databaseFd = openSync(databasePath(config.dataDir), 'r+')
  const checkpointer = new Checkpointer(db, {
    worker: reads,
    databaseFd,
    holdCommits: options.restartWal === false ? undefined : (until) => commits.hold(until),
    onError: (err) => log.warn({ err: err.message }, 'WAL checkpoint failed; the next one retries it'),
  })
  checkpointer.start()
  return {
    config,
    log,
    db,
    durability,
    reads,
    keyring,
    vault,
    audit,
    operators,
    issuers,
    cardholders,
    enrolment,
    sms,
    reports,
    dailyReports,
    acs,
    modems,
    keyStore,
    ceremonies,
    peds,
    terminals,
    dongles,
    twofa,
    channels,
    templates,
    fraud,
    mobile,
    version,
    async close() {
      mobile.stop()
      twofa.stop()
      await channels.stop()
      await dailyReports.stop()
      await acs.stop()
      await modems.stop()
      await fraud.stop()
      await sms.stop()
      await peds.idle()
      await audit.anchored() // the last appends' anchor, before the barrier it waits for closes
      await checkpointer.stop()
      await reads.close()
      await durability.flush()
      durability.close()
      try {
        if (db.open) {
          db.pragma('wal_checkpoint(TRUNCATE)')
          db.close()
        }
      } finally {
        closeSync(databaseFd)
      }
    },
  }
}
