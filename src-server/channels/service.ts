import type { AuditLog } from '../audit/audit-log'
import type { AuthenticationMethod } from '../auth-methods/method'
import type { Vault } from '../crypto/vault'
import type { CardholderRepository } from '../enrolment/repository'
import type { Logger } from '../log'
import type { SmsService } from '../sms/service'
import type { Db } from '../store/db'
import { ChannelAuthService } from './auth-requests'
import { ChannelClientRepository } from './clients'
import { WebhookOutbox, type WebhookOptions } from './webhooks'

const EXPIRY_SCAN_MS = 1000

export interface ChannelDeps {
  db: Db
  vault: Vault
  log: Logger
  audit: AuditLog
  sms: SmsService
  cardholders: CardholderRepository
  methods: ReadonlyMap<string, AuthenticationMethod>
  webhookOptions?: Partial<WebhookOptions>
}

/** MOTO / EDC / ECOM cardholder authentication: clients, requests, webhooks and the expiry timer. */
export class ChannelService {
  readonly clients: ChannelClientRepository
  readonly webhooks: WebhookOutbox
  readonly requests: ChannelAuthService
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly d: ChannelDeps) {
    this.clients = new ChannelClientRepository(d.db, d.vault, d.audit)
    this.webhooks = new WebhookOutbox(d.db, d.log, (id) => this.clients.webhookSecret(id), d.webhookOptions)
    this.requests = new ChannelAuthService({ ...d, clients: this.clients, webhooks: this.webhooks })
    d.sms.onIncomingSms('channels', this.requests.onSmsReply)
  }

  start(): void {
    this.webhooks.start()
    this.timer = setInterval(() => {
      try {
        this.requests.expireDue()
      } catch (err) {
        this.d.log.error({ err }, 'channel expiry scan failed')
      }
    }, EXPIRY_SCAN_MS)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.webhooks.stop()
  }
}
