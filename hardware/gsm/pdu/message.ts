/** Outgoing text → the SMS-SUBMIT PDUs that carry it, one per part. */
import { parseAddress, type AddressType } from './address'
import { type SplitOptions, splitText } from './segment'
import { MAX_RELATIVE_VALIDITY_SECONDS, type Validity } from './time'
import { encodeSubmit, type EncodedPdu } from './tpdu'

export interface OutgoingSms extends SplitOptions {
  /** `+4917…` (international), digits (national / unknown numbering). */
  to: string
  toType?: AddressType
  text: string
  /** SMSC to put in the PDU; by default the modem's stored SMSC is used (`00`). */
  smsc?: string
  statusReport?: boolean
  /** Default: relative, 63 weeks (VP 0xFF), as gammu sends. */
  validity?: Validity
  /** Class 0: shown on screen, not stored. */
  flash?: boolean
}

export interface SubmitNumbering {
  /** TP-MR; modems overwrite it with their own counter, so 0 is fine. */
  messageReference?: number
  /** Concatenation reference shared by all parts of this message. */
  concatReference: number
}

export function encodeOutgoingSms(sms: OutgoingSms, numbering: SubmitNumbering): EncodedPdu[] {
  const destination = parseAddress(sms.to, sms.toType)
  const referenceBits = sms.referenceBits ?? 8
  const { encoding, parts } = splitText(sms.text, sms)
  const validity = sms.validity ?? { relativeSeconds: MAX_RELATIVE_VALIDITY_SECONDS }
  const coding = { encoding, messageClass: sms.flash ? 0 : undefined }
  return parts.map((text, i) =>
    encodeSubmit({
      smsc: sms.smsc,
      messageReference: numbering.messageReference ?? 0,
      destination,
      coding,
      validity,
      statusReportRequest: sms.statusReport ?? false,
      userData: {
        encoding,
        text,
        concat:
          parts.length > 1
            ? { reference: numbering.concatReference, total: parts.length, sequence: i + 1, referenceBits }
            : undefined,
      },
    }),
  )
}
