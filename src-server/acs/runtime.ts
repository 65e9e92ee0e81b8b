import { AcsLatency } from './latency'
import type { AuditLog } from '../audit/audit-log'
import type { Keyring } from '../crypto/keyring'
import type { Vault } from '../crypto/vault'
import type { CardholderRepository } from '../enrolment/repository'
import type { IssuerRepository } from '../issuers/repository'
import type { Logger } from '../log'
import type { SmsService } from '../sms/service'
import type { Db } from '../store/db'
import type { AuthenticationMethod } from '../auth-methods/method'
import { DongleMethod, type DongleCodes } from '../auth-methods/dongle'
import { MethodSettingsStore } from '../auth-methods/settings'
import { SmsOtpMethod } from '../auth-methods/sms-otp'
import { SmsReplyMethod } from '../auth-methods/sms-reply'
import type { TemplateStore } from '../templates/store'
import { RuleSetStore } from '../risk/store'
import { compileRuleSet } from '../risk/evaluate'
import { Alarms } from './alarms'
import { AcsKeyStore } from './keys/key-store'
import type { GroupCommit } from '../store/group-commit'
import { Ledger } from './ledger/ledger'
import { AReqHandler } from './service/areq-handler'
import { AuthValues } from './service/auth-values'
import { AuthenticationEvents } from './service/authentication-events'
import { ChallengeFlow } from './service/challenge-flow'
import { ChallengeStore } from './service/challenge-store'
import { RReqOutbox } from './service/rreq-outbox'
import { AcsSettingsStore } from './settings'
import { DsClient } from './tls/ds-client'
import { TlsIdentities } from './tls/tls-identities'
import { TrustList } from './trust-list/trust-list'

export interface AcsRuntimeDeps {
  db: Db
  /** Resolves once committed writes are on disk (store/durability.ts). */
  durable: () => Promise<void>
  /** The server's shared group commit (store/group-commit.ts). */
  commits: GroupCommit
  vault: Vault
  keyring: Keyring
  log: Logger
  audit: AuditLog
  issuers: IssuerRepository
  cardholders: CardholderRepository
  sms: SmsService
  templates: TemplateStore
  dongles: DongleCodes
}

const TIMER_SCAN_MS = 250

/** Without an active rule set an issuer's cards are always challenged. */
const CHALLENGE_ALL = compileRuleSet({
  id: 'built-in-default',
  version: 1,
  issuerId: '0',
  rules: [],
  defaultOutcome: { transStatus: 'C', challengeMandated: true },
})

/**
 * The ACS of one server process: its stores, the AReq handler, the challenge state machine, the RReq
 * outbox and the challenge timers. Built with the other services; the timers and the outbox run between
 * start() and stop(), and both pick up where they were after a restart (deadlines and RReqs are rows).
 */
export class AcsRuntime {
  readonly settings: AcsSettingsStore
  /** Per-issuer code, reference and dongle settings of the authentication methods. */
  readonly methodSettings: MethodSettingsStore
  readonly alarms: Alarms
  readonly keys: AcsKeyStore
  /** Mutual TLS with the directory servers: the ACS's certificate per brand and the DS CAs. */
  readonly tls: TlsIdentities
  readonly ds: DsClient
  readonly rules: RuleSetStore
  readonly ledger: Ledger
  readonly challenges: ChallengeStore
  readonly outbox: RReqOutbox
  readonly authValues: AuthValues
  readonly methods: ReadonlyMap<string, AuthenticationMethod>
  /** Each finished authentication of an enrolled card (the fraud notifier listens). */
  readonly events: AuthenticationEvents
  /** The (card, merchant) pairs cardholders trusted: the rules' `trustList` fact. */
  readonly trustList: TrustList
  /** Server time per ACS endpoint since start-up. */
  readonly latency = new AcsLatency()
  readonly areq: AReqHandler
  readonly flow: ChallengeFlow
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly d: AcsRuntimeDeps) {
    this.settings = new AcsSettingsStore(d.db, d.audit)
    this.alarms = new Alarms(d.db, d.log, d.audit)
    this.keys = new AcsKeyStore(d.db, d.vault, d.issuers, d.audit)
    this.rules = new RuleSetStore(d.db, d.audit, CHALLENGE_ALL)
    this.ledger = new Ledger(d.db)
    this.challenges = new ChallengeStore(d.db, d.vault)
    this.tls = new TlsIdentities(d.db, d.vault, d.audit)
    this.ds = new DsClient(this.tls)
    this.outbox = new RReqOutbox(d.db, this.ledger, this.alarms, this.settings, d.log, d.durable, this.ds)
    this.authValues = new AuthValues(d.db, d.vault, this.keys, d.issuers)
    this.methodSettings = new MethodSettingsStore(d.db, d.audit, this.settings)
    const methodSettings = (issuerId: number | undefined) => this.methodSettings.effective(issuerId)
    this.methods = new Map<string, AuthenticationMethod>(
      [
        new SmsOtpMethod(d.sms, d.keyring, methodSettings, d.templates),
        new SmsReplyMethod(d.sms, methodSettings, d.templates),
        new DongleMethod(d.dongles, d.sms, methodSettings, d.templates),
      ].map((m) => [m.name, m]),
    )
    this.events = new AuthenticationEvents(d.db, d.log)
    this.trustList = new TrustList(d.db, d.audit)
    const common = {
      events: this.events,
      db: d.db,
      log: d.log,
      issuers: d.issuers,
      ledger: this.ledger,
      settings: this.settings,
      challenges: this.challenges,
      authValues: this.authValues,
      methods: this.methods,
      trustList: this.trustList,
    }
    this.areq = new AReqHandler({
      ...common,
      commits: d.commits,
      vault: d.vault,
      cardholders: d.cardholders,
      keys: this.keys,
      rules: this.rules,
      alarms: this.alarms,
    })
    this.flow = new ChallengeFlow({ ...common, outbox: this.outbox })
    d.sms.onIncomingSms('acs-challenge', this.flow.onSmsReply)
  }

  start(): void {
    this.outbox.start()
    this.tick()
    this.timer = setInterval(() => this.tick(), TIMER_SCAN_MS)
    this.timer.unref()
  }

  private tick(): void {
    try {
      this.flow.expireDue()
    } catch (err) {
      this.d.log.error({ err }, 'challenge timer scan failed')
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.outbox.stop()
    this.ds.close()
  }
}
