/**
 * SMS-SUBMIT, SMS-DELIVER and SMS-STATUS-REPORT (23.040 §9.2.2), each preceded by the SMSC field as
 * modems exchange them in PDU mode. Encoders and decoders for all three: the driver encodes SUBMIT and
 * decodes the others; the modem simulator does the reverse.
 */
import { type Address, readAddress, readSmsc, writeAddress, writeSmsc } from './address'
import { bytesToHex, hexToBytes, OctetReader, OctetWriter, PduError } from './octets'
import {
  readTimestamp,
  readValidity,
  type Timestamp,
  type Validity,
  validityFormatBits,
  writeTimestamp,
  writeValidity,
} from './time'
import {
  decodeDcs,
  encodeDcs,
  readUserData,
  type DataCoding,
  type UserData,
  type UserDataInput,
  writeUserData,
} from './user-data'

const MTI_DELIVER = 0
const MTI_SUBMIT = 1
const MTI_STATUS_REPORT = 2

export interface SubmitFields {
  smsc?: string
  messageReference: number
  destination: Address
  protocolId?: number
  coding: DataCoding
  validity: Validity
  statusReportRequest: boolean
  rejectDuplicates?: boolean
  userData: UserDataInput
}

export interface DeliverFields {
  smsc?: string
  originator: Address
  protocolId?: number
  coding: DataCoding
  timestamp: Timestamp
  moreMessagesToSend?: boolean
  statusReportIndication?: boolean
  userData: UserDataInput
}

export interface StatusReportFields {
  smsc?: string
  messageReference: number
  recipient: Address
  serviceCentreTimestamp: Timestamp
  dischargeTime: Timestamp
  /** TP-ST: 0x00–0x1F done, 0x20–0x3F still trying, 0x40–0x5F failed, 0x60–0x7F gave up. */
  status: number
}

export interface EncodedPdu {
  /** SMSC field + TPDU, upper-case hex, as written after `AT+CMGS=n>`. */
  hex: string
  /** Octets of the TPDU alone: the `n` of `AT+CMGS=n`. */
  tpduLength: number
}

function finish(w: OctetWriter, smscLength: number): EncodedPdu {
  return { hex: bytesToHex(w.result()), tpduLength: w.length - smscLength }
}

export function encodeSubmit(f: SubmitFields): EncodedPdu {
  const w = new OctetWriter()
  writeSmsc(w, f.smsc)
  const smscLength = w.length
  const firstOctetAt = w.length
  w.byte(0) // first octet, patched once we know whether a header was written
  w.byte(f.messageReference & 0xff)
  writeAddress(w, f.destination)
  w.byte(f.protocolId ?? 0).byte(encodeDcs(f.coding))
  writeValidity(w, f.validity)
  const udhi = writeUserData(w, f.userData)
  const bytes = w.result()
  bytes[firstOctetAt] =
    MTI_SUBMIT |
    (f.rejectDuplicates ? 0x04 : 0) |
    validityFormatBits(f.validity) |
    (f.statusReportRequest ? 0x20 : 0) |
    (udhi ? 0x40 : 0)
  return finish(w, smscLength)
}

export function encodeDeliver(f: DeliverFields): EncodedPdu {
  const w = new OctetWriter()
  writeSmsc(w, f.smsc)
  const smscLength = w.length
  const firstOctetAt = w.length
  w.byte(0)
  writeAddress(w, f.originator)
  w.byte(f.protocolId ?? 0).byte(encodeDcs(f.coding))
  writeTimestamp(w, f.timestamp)
  const udhi = writeUserData(w, f.userData)
  // TP-MMS is inverted: the bit set means "no more messages are waiting".
  w.result()[firstOctetAt] =
    MTI_DELIVER |
    (f.moreMessagesToSend ? 0 : 0x04) |
    (f.statusReportIndication ? 0x20 : 0) |
    (udhi ? 0x40 : 0)
  return finish(w, smscLength)
}

export function encodeStatusReport(f: StatusReportFields): EncodedPdu {
  const w = new OctetWriter()
  writeSmsc(w, f.smsc)
  const smscLength = w.length
  w.byte(MTI_STATUS_REPORT | 0x04).byte(f.messageReference & 0xff)
  writeAddress(w, f.recipient)
  writeTimestamp(w, f.serviceCentreTimestamp)
  writeTimestamp(w, f.dischargeTime)
  w.byte(f.status & 0x7f)
  return finish(w, smscLength)
}

export interface DecodedSubmit {
  type: 'submit'
  smsc?: string
  messageReference: number
  destination: Address
  protocolId: number
  coding: DataCoding
  validity: Validity
  statusReportRequest: boolean
  rejectDuplicates: boolean
  userData: UserData
}

export interface DecodedDeliver {
  type: 'deliver'
  smsc?: string
  originator: Address
  protocolId: number
  coding: DataCoding
  timestamp: Timestamp
  moreMessagesToSend: boolean
  statusReportIndication: boolean
  userData: UserData
}

export type DeliveryOutcome = 'delivered' | 'pending' | 'failed'

export interface DecodedStatusReport {
  type: 'status-report'
  smsc?: string
  messageReference: number
  recipient: Address
  serviceCentreTimestamp: Timestamp
  dischargeTime: Timestamp
  status: number
  outcome: DeliveryOutcome
}

export type DecodedPdu = DecodedSubmit | DecodedDeliver | DecodedStatusReport

export function deliveryOutcome(status: number): DeliveryOutcome {
  if (status < 0x20) return 'delivered'
  if (status < 0x40) return 'pending'
  return 'failed'
}

export interface DecodeOptions {
  /** Whether the hex starts with the SMSC field (true for everything read from a modem). */
  hasSmsc?: boolean
}

/**
 * Decodes a PDU read from a modem or received by the simulator. Input is untrusted: every length is
 * checked, and anything malformed is a PduError naming the field.
 */
export function decodePdu(hex: string, options: DecodeOptions = {}): DecodedPdu {
  const r = new OctetReader(hexToBytes(hex))
  const smsc = options.hasSmsc === false ? undefined : readSmsc(r)
  const first = r.byte('first octet')
  switch (first & 0x03) {
    case MTI_DELIVER:
      return decodeDeliverBody(r, first, smsc)
    case MTI_SUBMIT:
      return decodeSubmitBody(r, first, smsc)
    case MTI_STATUS_REPORT:
      return decodeStatusReportBody(r, first, smsc)
    default:
      throw new PduError('reserved message type indicator')
  }
}

function decodeSubmitBody(r: OctetReader, first: number, smsc: string | undefined): DecodedSubmit {
  const messageReference = r.byte('message reference')
  const destination = readAddress(r, 'destination address')
  const protocolId = r.byte('protocol identifier')
  const coding = decodeDcs(r.byte('data coding scheme'))
  const validity = readValidity(r, (first >> 3) & 3)
  const userData = readUserData(r, coding, (first & 0x40) !== 0)
  return {
    type: 'submit',
    smsc,
    messageReference,
    destination,
    protocolId,
    coding,
    validity,
    statusReportRequest: (first & 0x20) !== 0,
    rejectDuplicates: (first & 0x04) !== 0,
    userData,
  }
}

function decodeDeliverBody(r: OctetReader, first: number, smsc: string | undefined): DecodedDeliver {
  const originator = readAddress(r, 'originating address')
  const protocolId = r.byte('protocol identifier')
  const coding = decodeDcs(r.byte('data coding scheme'))
  const timestamp = readTimestamp(r, 'service centre timestamp')
  const userData = readUserData(r, coding, (first & 0x40) !== 0)
  return {
    type: 'deliver',
    smsc,
    originator,
    protocolId,
    coding,
    timestamp,
    moreMessagesToSend: (first & 0x04) === 0,
    statusReportIndication: (first & 0x20) !== 0,
    userData,
  }
}

function decodeStatusReportBody(
  r: OctetReader,
  _first: number,
  smsc: string | undefined,
): DecodedStatusReport {
  const messageReference = r.byte('message reference')
  const recipient = readAddress(r, 'recipient address')
  const serviceCentreTimestamp = readTimestamp(r, 'service centre timestamp')
  const dischargeTime = readTimestamp(r, 'discharge time')
  const status = r.byte('status') & 0x7f
  // Optional PI/PID/DCS/UD follow; some modems pad reports with up to ~300 characters (smstools
  // changelog), so whatever comes after TP-ST is ignored: it carries nothing we act on.
  return {
    type: 'status-report',
    smsc,
    messageReference,
    recipient,
    serviceCentreTimestamp,
    dischargeTime,
    status,
    outcome: deliveryOutcome(status),
  }
}
