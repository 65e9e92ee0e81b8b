import {
  AUTHENTICATION_VALUE,
  isTransStatusReason,
  transStatusReasonIn,
  setAuthenticationType,
  type AcsRenderingType,
  type AuthenticationType,
} from './ares'
import { buildAssert } from './build-error'
import { buildErro, isErroMessage, type Erro } from './erro'
import { UUID, code2 } from './formats'
import { isPlainObject, summariseIssues, validateTable, type FieldIssue, type FieldTable } from './field-spec'
import { parseJsonStrict } from './strict-json'
import { DeviceChannel, isKnownVersion, versionAtLeast, type MessageVersion } from './versions'

/** challengeCancel: 01 cardholder, 03 decoupled timeout, 04 other ACS timeout, 05 no first CReq, 06 error, 07 unknown, 08 SDK timeout. */
export type ChallengeCancel = '01' | '03' | '04' | '05' | '06' | '07' | '08'

export type ResultStatus = 'Y' | 'N' | 'U' | 'A' | 'R'

export interface RReqTransaction {
  threeDSServerTransID: string
  acsTransID: string
  dsTransID: string
  sdkTransID?: string
  messageCategory: string
  messageVersion: MessageVersion
  deviceChannel: string
}

export interface RReqResult {
  transStatus: ResultStatus
  transStatusReason?: string
  authenticationValue?: string
  eci?: string
  authenticationType?: AuthenticationType
  /** Number of cardholder interactions; omitted only for decoupled authentication. */
  interactionCounter?: number
  challengeCancel?: ChallengeCancel
  acsRenderingType?: AcsRenderingType
  whiteListStatus?: { status: 'Y' | 'N' | 'E' | 'P' | 'R' | 'U'; source: '01' | '02' | '03' }
}

export interface RReq {
  messageType: 'RReq'
  messageVersion: MessageVersion
  threeDSServerTransID: string
  acsTransID: string
  dsTransID: string
  messageCategory: string
  transStatus: ResultStatus
  [other: string]: unknown
}

/** Builds the RReq that reports a challenge or decoupled result (including cancels and timeouts) to the DS. */
export function buildRReq(tx: RReqTransaction, result: RReqResult): RReq {
  const v = tx.messageVersion
  const rreq: RReq = {
    messageType: 'RReq',
    messageVersion: v,
    threeDSServerTransID: tx.threeDSServerTransID,
    acsTransID: tx.acsTransID,
    dsTransID: tx.dsTransID,
    sdkTransID:
      tx.deviceChannel === DeviceChannel.APP && versionAtLeast(v, '2.2.0') ? tx.sdkTransID : undefined,
    messageCategory: tx.messageCategory,
    transStatus: result.transStatus,
  }
  const s = result.transStatus
  if (s === 'Y' || s === 'A') {
    buildAssert(
      result.authenticationValue && AUTHENTICATION_VALUE.test(result.authenticationValue),
      `transStatus ${s} needs a 28-character authenticationValue`,
    )
    buildAssert(result.eci && /^[0-9A-Z]{2}$/.test(result.eci), `transStatus ${s} needs an eci`)
    rreq.authenticationValue = result.authenticationValue
    rreq.eci = result.eci
  } else {
    const reason = result.transStatusReason && transStatusReasonIn(result.transStatusReason, v)
    buildAssert(
      reason && isTransStatusReason(reason, v),
      `transStatus ${s} needs a transStatusReason valid in ${v}`,
    )
    rreq.transStatusReason = reason
    rreq.eci = result.eci
  }
  if (s === 'Y' || s === 'N') {
    buildAssert(result.authenticationType, `transStatus ${s} needs the authenticationType used`)
  }
  if (result.authenticationType) setAuthenticationType(rreq, v, result.authenticationType)
  if (result.interactionCounter !== undefined) {
    buildAssert(
      Number.isInteger(result.interactionCounter) && result.interactionCounter >= 0,
      'interactionCounter is a non-negative integer',
    )
    // Two digits on the wire; the count saturates at 99.
    rreq.interactionCounter = String(Math.min(result.interactionCounter, 99)).padStart(2, '0')
  } else {
    buildAssert(
      result.authenticationType === '04',
      'interactionCounter may only be omitted for decoupled authentication',
    )
  }
  rreq.challengeCancel = result.challengeCancel
  if (tx.deviceChannel === DeviceChannel.APP) rreq.acsRenderingType = result.acsRenderingType
  if (result.whiteListStatus && versionAtLeast(v, '2.2.0')) {
    // 2.3.1 renames the pair, as in the ARes.
    const [status, source] = versionAtLeast(v, '2.3.1')
      ? ['trustListStatus', 'trustListStatusSource']
      : ['whiteListStatus', 'whiteListStatusSource']
    rreq[status] = result.whiteListStatus.status
    rreq[source] = result.whiteListStatus.source
  }
  return rreq
}

export interface RRes {
  messageType: 'RRes'
  messageVersion: MessageVersion
  threeDSServerTransID: string
  acsTransID: string
  dsTransID: string
  sdkTransID?: string
  /** 01 received, 02 CReq not sent to the ACS by the requestor, 03 ARes challenge data not delivered. */
  resultsStatus: string
}

export type ParseRResResult =
  | { kind: 'rres'; rres: RRes }
  /** The DS answered our RReq with an Erro: retry and raise an alarm. */
  | { kind: 'erro-received'; erro: Erro }
  /** The answer itself is invalid: this Erro is what we would report back to the DS. */
  | { kind: 'invalid'; erro: Erro }

const rresTable: FieldTable = {
  threeDSServerTransID: { type: 'string', required: true, pattern: UUID },
  acsTransID: { type: 'string', required: true, pattern: UUID },
  dsTransID: { type: 'string', required: true, pattern: UUID },
  sdkTransID: { type: 'string', pattern: UUID },
  resultsStatus: { type: 'string', required: true, pattern: code2('0[1-3]') },
}

/** Parses the DS's answer to an RReq and checks it refers to the transaction we reported. */
export function parseRRes(
  raw: string,
  sent: Pick<RReq, 'acsTransID' | 'threeDSServerTransID' | 'messageVersion'>,
): ParseRResResult {
  const invalid = (
    code: '101' | '201' | '203' | '204' | '301',
    detail: string,
    ids?: Record<string, unknown>,
  ) => ({
    kind: 'invalid' as const,
    erro: buildErro({
      code,
      detail,
      messageType: 'RRes',
      messageVersion: sent.messageVersion,
      ids: ids ?? sent,
    }),
  })
  const parsed = parseJsonStrict(raw)
  if (!parsed.ok)
    return parsed.reason === 'syntax' ? invalid('101', 'Invalid JSON') : invalid('204', parsed.path)
  const msg = parsed.value
  if (isErroMessage(msg)) return { kind: 'erro-received', erro: msg }
  if (!isPlainObject(msg) || msg.messageType !== 'RRes') return invalid('101', 'messageType')
  if (!isKnownVersion(msg.messageVersion) || msg.messageVersion !== sent.messageVersion)
    return invalid('101', 'messageVersion', msg)
  const issues: FieldIssue[] = []
  validateTable(msg, rresTable, { version: msg.messageVersion, channel: '', category: '', msg }, issues)
  const summary = summariseIssues(issues)
  if (summary) return invalid(summary.code as '201' | '203', summary.detail, msg)
  if (msg.acsTransID !== sent.acsTransID || msg.threeDSServerTransID !== sent.threeDSServerTransID) {
    return invalid('301', 'acsTransID', msg)
  }
  return { kind: 'rres', rres: msg as unknown as RRes }
}
