import type { DeliveryReport, IncomingSms, SendResult, SmsGateway } from './gateway'

/**
 * The SMS gateway used when no modem is configured, and in the lab: every message "arrives" at once on a
 * virtual handset that the console (and the tests) read, and replies are injected exactly as a modem's
 * incoming SMS would be.
 */
export class VirtualPhoneGateway implements SmsGateway {
  readonly name = 'virtual'
  async send(): Promise<SendResult> {
    return { delivered: true }
  }

  onIncoming(_handler: (sms: IncomingSms) => void): void {
    // Replies are injected through POST /api/virtual-phone/reply straight into the inbox.
  }

  onDeliveryReport(_handler: (report: DeliveryReport) => void): void {
    // Delivery is immediate: send() already reports it.
  }
}
