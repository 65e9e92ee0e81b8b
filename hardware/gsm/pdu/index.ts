/** The project's SMS PDU codec (23.040 / 23.038), written here because npm codecs get GSM-7 wrong. */
export { type Address, type AddressType, parseAddress } from './address'
export { isGsm7 } from './gsm7'
export { encodeOutgoingSms, type OutgoingSms, type SubmitNumbering } from './message'
export { PduError } from './octets'
export {
  analyzeText,
  chooseEncoding,
  splitText,
  type TextAnalysis,
  type TextEncoding,
  MAX_SEGMENTS,
} from './segment'
export { MAX_RELATIVE_VALIDITY_SECONDS, type Timestamp, type Validity } from './time'
export {
  decodePdu,
  deliveryOutcome,
  encodeDeliver,
  encodeStatusReport,
  encodeSubmit,
  type DecodedDeliver,
  type DecodedPdu,
  type DecodedStatusReport,
  type DecodedSubmit,
  type DeliveryOutcome,
  type EncodedPdu,
} from './tpdu'
export type { ConcatInfo, DataCoding, Encoding, UserData } from './user-data'
