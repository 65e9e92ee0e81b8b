import { UUID } from './formats'
import type { MessageVersion } from './versions'

/** EMV 3DS error codes the ACS emits or receives. */
export const ErrorCode = {
  MESSAGE_INVALID: '101',
  VERSION_NOT_SUPPORTED: '102',
  REQUIRED_ELEMENT_MISSING: '201',
  CRITICAL_EXTENSION_NOT_RECOGNISED: '202',
  FORMAT_INVALID: '203',
  DUPLICATE_ELEMENT: '204',
  TRANSACTION_ID_NOT_RECOGNISED: '301',
  DECRYPTION_FAILURE: '302',
  ACCESS_DENIED: '303',
  ISO_CODE_INVALID: '304',
  TRANSACTION_DATA_INVALID: '305',
  MCC_INVALID: '306',
  TIMEOUT: '402',
  TRANSIENT_FAILURE: '403',
  PERMANENT_FAILURE: '404',
  CONNECTION_FAILURE: '405',
} as const
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode]

const DESCRIPTIONS: Record<ErrorCodeValue, string> = {
  '101': 'Message Received Invalid',
  '102': 'Message Version Number Not Supported',
  '201': 'Required Data Element Missing',
  '202': 'Critical Message Extension Not Recognised',
  '203': 'Format of one or more Data Elements is Invalid according to the Specification',
  '204': 'Duplicate Data Element',
  '301': 'Transaction ID Not Recognised',
  '302': 'Data Decryption Failure',
  '303': 'Access Denied, Invalid Endpoint',
  '304': 'ISO Code Invalid',
  '305': 'Transaction data not valid',
  '306': 'Merchant Category Code (MCC) Not Valid for Payment System',
  '402': 'Transaction Timed Out',
  '403': 'Transient System Failure',
  '404': 'Permanent System Failure',
  '405': 'System Connection Failure',
}

export type ErrorComponent = 'C' | 'S' | 'D' | 'A'
export type ErroMessageType = 'AReq' | 'ARes' | 'CReq' | 'CRes' | 'RReq' | 'RRes' | 'Erro'

export interface Erro {
  threeDSServerTransID?: string
  acsTransID?: string
  dsTransID?: string
  sdkTransID?: string
  errorCode: ErrorCodeValue
  errorComponent: ErrorComponent
  errorDescription: string
  errorDetail: string
  errorMessageType?: ErroMessageType
  messageType: 'Erro'
  messageVersion: string
}

export interface ErroInput {
  code: ErrorCodeValue
  /** The offending data element name(s); never a value, so no PAN or secret can leak. */
  detail: string
  messageType?: ErroMessageType
  messageVersion: MessageVersion | string
  /** The received message (or part of it): its transaction IDs are copied back when well-formed. */
  ids?: Partial<Record<'threeDSServerTransID' | 'acsTransID' | 'dsTransID' | 'sdkTransID', unknown>>
  description?: string
}

const MAX_TEXT = 2048

/** Builds an ACS-originated Erro (errorComponent "A"). */
export function buildErro(input: ErroInput): Erro {
  const erro: Erro = {
    errorCode: input.code,
    errorComponent: 'A',
    errorDescription: (input.description ?? DESCRIPTIONS[input.code]).slice(0, MAX_TEXT),
    errorDetail: (input.detail || DESCRIPTIONS[input.code]).slice(0, MAX_TEXT),
    messageType: 'Erro',
    messageVersion: input.messageVersion,
  }
  if (input.messageType) erro.errorMessageType = input.messageType
  for (const key of ['threeDSServerTransID', 'acsTransID', 'dsTransID', 'sdkTransID'] as const) {
    const v = input.ids?.[key]
    // Only echo IDs that are themselves valid: a malformed ID is exactly what may have caused the error.
    if (typeof v === 'string' && UUID.test(v)) erro[key] = v
  }
  return erro
}

/** True when a received body is an Erro (for example an SDK posting a plain-JSON Erro instead of a JWE). */
export function isErroMessage(value: unknown): value is Erro {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>).messageType === 'Erro' &&
    typeof (value as Record<string, unknown>).errorCode === 'string'
  )
}
