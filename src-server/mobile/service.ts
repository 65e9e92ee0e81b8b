import type { AcsRuntime } from '../acs/runtime'
import type { AuditLog } from '../audit/audit-log'
import type { AuthenticationMethod } from '../auth-methods/method'
import { MobileSignatureMethod } from '../auth-methods/mobile-signature'
import type { ChannelService } from '../channels/service'
import type { Keyring } from '../crypto/keyring'
import type { Vault } from '../crypto/vault'
import type { CardholderRepository } from '../enrolment/repository'
import type { Logger } from '../log'
import type { SmsService } from '../sms/service'
import type { Db } from '../store/db'
import type { FraudService } from '../fraud/service'
import { activationOffers } from './activation-offer'
import { ApprovalService } from './approvals'
import { DeviceAuthenticator } from './device-auth'
import { DeviceRegistry } from './devices'
import { DeviceHub } from './hub'
import { POI_KEY_COLUMN, PoiTokens } from './poi'
import { MobileSettingsStore } from './settings'
import { channelSubjects, threeDSSubjects } from './subjects'

export interface MobileDeps {
  db: Db
  log: Logger
  audit: AuditLog
  keyring: Keyring
  vault: Vault
  sms: SmsService
  cardholders: CardholderRepository
  acs: AcsRuntime
  fraud: FraudService
  /** MOTO / EDC / ECOM requests: the method runs for them too, and a decision ends them. */
  channels: ChannelService
}

const SUSPENSION_REASON = 'fraud reported by the cardholder (“this wasn’t me” in the authenticator)'

/** The mobile authenticator: devices, approvals, rotating screen codes and the `mobile-signature` method. */
export class MobileService {
  readonly settings: MobileSettingsStore
  readonly devices: DeviceRegistry
  readonly hub = new DeviceHub()
  readonly poi: PoiTokens
  readonly approvals: ApprovalService
  readonly deviceAuth: DeviceAuthenticator
  readonly method: MobileSignatureMethod
  private readonly audit: AuditLog

  constructor(d: MobileDeps) {
    this.audit = d.audit
    this.settings = new MobileSettingsStore(d.db, d.audit)
    this.devices = new DeviceRegistry(d.db, d.log, d.audit, d.sms, d.keyring, d.cardholders)
    this.deviceAuth = new DeviceAuthenticator(
      d.db,
      this.devices,
      () => this.settings.get().clockSkewSeconds * 1000,
    )
    this.poi = new PoiTokens(d.db, d.vault, () => 2 * this.settings.get().qrPeriodSeconds * 1000)
    d.vault.registerSealedColumn(POI_KEY_COLUMN)
    this.approvals = new ApprovalService({
      db: d.db,
      log: d.log,
      audit: d.audit,
      sms: d.sms,
      publicBaseUrl: () => d.acs.settings.get().publicBaseUrl,
      subjects: { '3ds': threeDSSubjects(d.acs), channel: channelSubjects(d.channels.requests) },
      devices: this.devices,
      hub: this.hub,
      poi: this.poi,
      settings: this.settings,
      reportFraud: (disowned) => d.fraud.reportDisowned(disowned, SUSPENSION_REASON),
    })
    this.method = new MobileSignatureMethod(this.approvals, (cardId) => this.devices.hasActiveDevice(cardId))
    // The ACS builds its method table itself; the mobile method joins it here, before any AReq arrives.
    ;(d.acs.methods as Map<string, AuthenticationMethod>).set(this.method.name, this.method)
    d.acs.flow.offerActivation(
      activationOffers({ settings: this.settings, devices: this.devices, cardholders: d.cardholders }),
    )
  }

  revokeDevice(deviceId: string, reason: string, actor: string): boolean {
    const changed = this.devices.revoke(deviceId, reason, actor)
    if (changed) this.hub.disconnect(deviceId, 'revoked')
    return changed
  }

  /**
   * Replaces the screen codes' signing key now (a suspected leak; it also happens daily by itself). Codes
   * already on screen stay valid for their short lifetime.
   */
  rotateScreenKey(actor: string): { keyId: number } {
    const { id } = this.poi.rotate()
    this.audit.record({ actor, action: 'mobile.screen-key.rotate', details: { keyId: id } })
    return { keyId: id }
  }

  stop(): void {
    this.approvals.stop()
    this.hub.closeAll()
  }
}
