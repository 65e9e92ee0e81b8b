import type { DeliveryReport, IncomingSms, SendResult, SmsGateway } from './gateway'

/**
 * The SMS gateway used when no modem is configured, and in the lab: every message "arrives" at once on a
 * virtual handset that the console (and the tests) read, and replies are injected exactly as a modem's
 * incoming SMS would be.
 */
export class VirtualPhoneGateway implements SmsGateway {
  /**
   * The outbox's concurrency for it: its sends cost nothing, and a pilot that notifies every authentication
   * by SMS sends thousands a second; with 8 in flight (each batch waiting for its claim's commit and sync) the
   * outbox fell behind the ACS under load.
   */
  static readonly concurrency = 64
  readonly name = 'virtual'
  readonly deliversByRecording = true
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
