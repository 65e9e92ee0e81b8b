/**
 * The SMS gateway interface: what the outbox needs from whatever transmits SMS (the virtual phone, the GSM
 * modem pool). Gateways do not store anything; the outbox and inbox own persistence.
 */
export interface OutgoingSms {
  /** The outbox id; gateways echo it in status reports. */
  id: number
  to: string
  text: string
  priority: number
  /** When the text is no longer worth delivering (its code's expiry); a gateway that can tells the network. */
  expiresAt?: number
}

export interface SendResult {
  /** The network's message reference (TP-MR), used to match delivery reports. */
  messageRef?: string
  /** Which modem sent it, for pools. */
  modem?: string
  /** True when the gateway already knows the message was delivered (the virtual phone). */
  delivered?: boolean
}

export interface IncomingSms {
  from: string
  text: string
  receivedAt: number
  modem?: string
  /** The parts of a concatenated SMS that never came (delivered after the multipart timeout); absent when whole. */
  missingParts?: number[]
}

export interface DeliveryReport {
  messageRef: string
  modem?: string
  /** The number the network says the message went to (TP-RA), when the gateway knows it. */
  recipient?: string
  delivered: boolean
  at: number
}

export class GatewayError extends Error {
  override name = 'GatewayError'
  constructor(
    message: string,
    /** False when retrying cannot help (a number the network rejects). */
    readonly retryable: boolean,
    /** True when the message may have left before the failure (a timeout after AT+CMGS). */
    readonly maybeSent = false,
  ) {
    super(message)
  }
}

export interface SmsGateway {
  readonly name: string
  /**
   * True when recording a message delivers it (the virtual phone, whose handset reads the outbox): the outbox
   * then marks due messages delivered in one statement instead of claiming, sending and recording each.
   */
  readonly deliversByRecording?: boolean
  send(message: OutgoingSms): Promise<SendResult>
  /** The gateway calls these for messages and delivery reports from the network. */
  onIncoming(handler: (sms: IncomingSms) => void): void
  onDeliveryReport(handler: (report: DeliveryReport) => void): void
  close?(): Promise<void>
}
