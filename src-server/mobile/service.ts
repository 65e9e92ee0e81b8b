import type { AcsRuntime } from '../acs/runtime'
import type { AuditLog } from '../audit/audit-log'
import type { AuthenticationMethod } from '../auth-methods/method'
import { MobileSignatureMethod } from '../auth-methods/mobile-signature'
import type { Keyring } from '../crypto/keyring'
import type { CardholderRepository } from '../enrolment/repository'
import type { Logger } from '../log'
import type { SmsService } from '../sms/service'
import type { Db } from '../store/db'
import type { FraudService } from '../fraud/service'
import { ApprovalService } from './approvals'
import { DeviceAuthenticator } from './device-auth'
import { DeviceRegistry } from './devices'
import { DeviceHub } from './hub'
import { PoiTokens } from './poi'
import { MobileSettingsStore } from './settings'

export interface MobileDeps {
  db: Db
  log: Logger
  audit: AuditLog
  keyring: Keyring
  sms: SmsService
  cardholders: CardholderRepository
  acs: AcsRuntime
  fraud: FraudService
}

const SUSPENSION_REASON = 'fraud reported by the cardholder (“this wasn’t me” in the authenticator)'

/** The mobile authenticator: devices, approvals, rotating screen codes and the `mobile-signature` method. */
export class MobileService {
  readonly settings: MobileSettingsStore
  readonly devices: DeviceRegistry
  readonly hub = new DeviceHub()
  readonly poi = new PoiTokens()
  readonly approvals: ApprovalService
  readonly deviceAuth: DeviceAuthenticator
  readonly method: MobileSignatureMethod

  constructor(d: MobileDeps) {
    this.settings = new MobileSettingsStore(d.db, d.audit)
    this.devices = new DeviceRegistry(d.db, d.audit, d.sms, d.keyring, d.cardholders)
    this.deviceAuth = new DeviceAuthenticator(this.devices, () => this.settings.get().clockSkewSeconds * 1000)
    this.approvals = new ApprovalService({
      db: d.db,
      log: d.log,
      audit: d.audit,
      sms: d.sms,
      acs: d.acs,
      devices: this.devices,
      hub: this.hub,
      poi: this.poi,
      settings: this.settings,
      reportFraud: ({ challenge, cardholderId }) => {
        const c = challenge.context
        d.fraud.reportDisowned(
          {
            acsTransID: challenge.acsTransID,
            issuerId: c.issuerId,
            cardId: c.cardId,
            cardholderId,
            cardStatus: 'active',
            mobile: challenge.mobile,
            language: c.language,
            panMasked: c.panMasked,
            merchantName: c.merchantName,
            purchaseAmount: c.purchaseAmount,
            purchaseCurrency: c.purchaseCurrency,
            purchaseExponent: c.purchaseExponent,
            amountText: c.amountText,
            transStatus: 'N',
            challenged: challenge.mode !== 'decoupled',
          },
          SUSPENSION_REASON,
        )
      },
    })
    this.method = new MobileSignatureMethod(this.approvals)
    // The ACS builds its method table itself; the mobile method joins it here, before any AReq arrives.
    ;(d.acs.methods as Map<string, AuthenticationMethod>).set(this.method.name, this.method)
  }

  revokeDevice(deviceId: string, reason: string, actor: string): boolean {
    const changed = this.devices.revoke(deviceId, reason, actor)
    if (changed) this.hub.disconnect(deviceId, 'revoked')
    return changed
  }

  stop(): void {
    this.hub.closeAll()
  }
}
