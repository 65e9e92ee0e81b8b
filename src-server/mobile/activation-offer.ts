import type { ActivationOffers } from '../acs/service/challenge-flow'
import type { CardholderRepository } from '../enrolment/repository'
import type { DeviceRegistry } from './devices'
import { qrSvgDataUri } from './qr'
import type { MobileSettingsStore } from './settings'

/**
 * Activation from the challenge page: when a browser challenge succeeds with an SMS code, its last page shows
 * a cardholder without an active authenticator a one-time activation QR code (and the same link, for one
 * already on their phone). The activation itself is still confirmed with an SMS code, so it takes two
 * factors, as from the console.
 *
 * Whom it is offered to is the `activationOnChallenge` setting: `enrolled` (default) offers it to
 * cardholders enrolled for the mobile signature who were sent a code because no device of theirs is active;
 * `all` to every cardholder who confirmed with an SMS code; `off` to nobody.
 */
export function activationOffers(d: {
  settings: MobileSettingsStore
  devices: DeviceRegistry
  cardholders: CardholderRepository
}): ActivationOffers {
  return async (c) => {
    const scope = d.settings.get().activationOnChallenge
    if (scope === 'off' || c.method !== 'sms-otp' || c.cardholderId === undefined) return undefined
    const holder = d.cardholders.get(c.cardholderId)
    if (scope === 'enrolled' && holder.method !== 'mobile-signature') return undefined
    if (!holder.mobile || holder.status !== 'active' || d.devices.hasActiveDevice(c.cardId)) return undefined
    const { token, expiresAt } = d.devices.createActivation(c.cardholderId, `cardholder:${c.panMasked}`)
    const link = `${c.origin}/authenticator/#activate=${token}`
    return { link, image: await qrSvgDataUri(link), expiresAt }
  }
}
