import type { AReq, MessageExtension } from './areq'
import { buildAssert } from './build-error'
import { isEndpointUrl, type UrlPolicy } from './formats'
import { DeviceChannel, versionAtLeast, type MessageVersion } from './versions'

export type TransStatus = 'Y' | 'N' | 'U' | 'A' | 'C' | 'D' | 'R' | 'I'

/** authenticationType (2.1/2.2): 01 static, 02 dynamic, 03 OOB, 04 decoupled. */
export type AuthenticationType = '01' | '02' | '03' | '04'

export interface AcsRenderingType {
  acsInterface: '01' | '02'
  acsUiTemplate: '01' | '02' | '03' | '04' | '05'
}

export type AResOutcome =
  | { transStatus: 'Y' | 'A'; authenticationValue: string; eci: string }
  | { transStatus: 'N' | 'U' | 'R'; transStatusReason: string; eci?: string; cardholderInfo?: string }
  | {
      transStatus: 'C'
      acsChallengeMandated: 'Y' | 'N'
      authenticationType: AuthenticationType
      /** Browser: where the CReq is posted. */
      acsURL?: string
      /** App: JWS from `signAcsContent`. */
      acsSignedContent?: string
      acsRenderingType?: AcsRenderingType
    }
  | { transStatus: 'D'; cardholderInfo: string; acsChallengeMandated: 'Y' | 'N' }
  | { transStatus: 'I'; eci?: string }

export interface AResInput extends UrlPolicy {
  areq: AReq
  acsTransID: string
  acsReferenceNumber: string
  acsOperatorID?: string
  outcome: AResOutcome
  whiteListStatus?: { status: 'Y' | 'N' | 'E' | 'P' | 'R' | 'U'; source: '01' | '02' | '03' }
  messageExtension?: MessageExtension[]
}

export interface ARes {
  messageType: 'ARes'
  messageVersion: MessageVersion
  threeDSServerTransID: string
  acsTransID: string
  dsTransID: string
  dsReferenceNumber: string
  acsReferenceNumber: string
  transStatus: TransStatus
  [other: string]: unknown
}

/** 20 bytes (one pad character) or 21 bytes, base64: always 28 characters. */
export const AUTHENTICATION_VALUE = /^(?:[A-Za-z0-9+/]{27}=|[A-Za-z0-9+/]{28})$/

/** transStatusReason values defined per version (80–99 are DS-specific in all versions). */
export function isTransStatusReason(reason: string, version: MessageVersion): boolean {
  if (!/^\d{2}$/.test(reason)) return false
  const n = +reason
  if (n >= 80) return true
  return n >= 1 && n <= (version === '2.1.0' ? 18 : 26)
}

/**
 * 2.1.0 defines reasons 01–18 only; the reasons 2.2.0 added (which our decisions, timers and rules use) are
 * sent to a 2.1.0 counterparty as the 2.1.0 reason closest in meaning, rather than failing the message.
 */
const REASON_IN_2_1_0: Readonly<Record<string, string>> = {
  '19': '04', // exceeds ACS maximum challenges → exceeds authentication frequency limit
  '20': '12', // non-payment transaction not supported → transaction not permitted to cardholder
  '21': '12', // 3RI transaction not supported → transaction not permitted to cardholder
  '22': '07', // ACS technical issue → invalid transaction
  '23': '12', // decoupled required but not requested → transaction not permitted to cardholder
  '24': '14', // decoupled maximum expiry time exceeded → transaction timed out at the ACS
  '25': '14', // insufficient time for decoupled authentication → transaction timed out at the ACS
  '26': '01', // authentication attempted but not performed by the cardholder → card authentication failed
}

/** The transStatusReason to send in a message of `version` (see REASON_IN_2_1_0). */
export function transStatusReasonIn(reason: string, version: MessageVersion): string {
  return version === '2.1.0' ? (REASON_IN_2_1_0[reason] ?? reason) : reason
}

/** Builds an ARes for a validated AReq; throws MessageBuildError on combinations counterparties reject. */
export function buildARes(input: AResInput): ARes {
  const { areq, outcome } = input
  const version = areq.messageVersion
  const app = areq.deviceChannel === DeviceChannel.APP
  const ares: ARes = {
    messageType: 'ARes',
    messageVersion: version,
    threeDSServerTransID: areq.threeDSServerTransID,
    acsTransID: input.acsTransID,
    dsTransID: areq.dsTransID,
    dsReferenceNumber: areq.dsReferenceNumber,
    acsReferenceNumber: input.acsReferenceNumber,
    acsOperatorID: input.acsOperatorID,
    sdkTransID: app ? areq.sdkTransID : undefined,
    transStatus: outcome.transStatus,
  }
  switch (outcome.transStatus) {
    case 'Y':
    case 'A':
      buildAssert(
        AUTHENTICATION_VALUE.test(outcome.authenticationValue),
        'authenticationValue must be 28 base64 characters',
      )
      buildAssert(/^[0-9A-Z]{2}$/.test(outcome.eci), 'eci must be 2 characters')
      ares.authenticationValue = outcome.authenticationValue
      ares.eci = outcome.eci
      break
    case 'N':
    case 'U':
    case 'R': {
      const reason = transStatusReasonIn(outcome.transStatusReason, version)
      buildAssert(
        isTransStatusReason(reason, version),
        `transStatusReason ${outcome.transStatusReason} is not defined in ${version}`,
      )
      ares.transStatusReason = reason
      ares.eci = outcome.eci
      ares.cardholderInfo = outcome.cardholderInfo
      break
    }
    case 'C':
      buildAssert(areq.deviceChannel !== DeviceChannel.THREE_RI, 'a 3RI transaction cannot be challenged')
      buildAssert(
        areq.threeDSRequestorChallengeInd !== '06',
        'challenge not allowed when the requestor asked for data share only (06)',
      )
      ares.acsChallengeMandated = outcome.acsChallengeMandated
      setAuthenticationType(ares, version, outcome.authenticationType)
      if (app) {
        buildAssert(
          outcome.acsSignedContent && outcome.acsRenderingType,
          'an APP challenge needs acsSignedContent and acsRenderingType',
        )
        ares.acsSignedContent = outcome.acsSignedContent
        ares.acsRenderingType = outcome.acsRenderingType
      } else {
        buildAssert(
          outcome.acsURL && isEndpointUrl(outcome.acsURL, input),
          'a browser challenge needs an https acsURL',
        )
        ares.acsURL = outcome.acsURL
      }
      break
    case 'D':
      buildAssert(versionAtLeast(version, '2.2.0'), 'decoupled authentication needs 2.2.0 or later')
      buildAssert(
        areq.threeDSRequestorDecReqInd === 'Y',
        'decoupled not requested by the 3DS Requestor (use reason 23)',
      )
      ares.acsDecConInd = 'Y'
      ares.acsChallengeMandated = outcome.acsChallengeMandated
      buildAssert(
        outcome.cardholderInfo.length > 0 && outcome.cardholderInfo.length <= 128,
        'cardholderInfo is 1–128 characters',
      )
      ares.cardholderInfo = outcome.cardholderInfo
      setAuthenticationType(ares, version, '04')
      break
    case 'I':
      buildAssert(versionAtLeast(version, '2.2.0'), 'transStatus I needs 2.2.0 or later')
      ares.eci = outcome.eci
      break
  }
  if (input.whiteListStatus) {
    buildAssert(versionAtLeast(version, '2.2.0'), 'whiteListStatus needs 2.2.0 or later')
    const [status, source] = versionAtLeast(version, '2.3.1')
      ? ['trustListStatus', 'trustListStatusSource']
      : ['whiteListStatus', 'whiteListStatusSource']
    ares[status] = input.whiteListStatus.status
    ares[source] = input.whiteListStatus.source
  }
  ares.messageExtension = input.messageExtension
  return ares
}

/** 2.3.1 renames authenticationType to authenticationMethod (an array). */
export function setAuthenticationType(
  msg: Record<string, unknown>,
  version: MessageVersion,
  type: AuthenticationType,
): void {
  if (versionAtLeast(version, '2.3.1')) msg.authenticationMethod = [type]
  else msg.authenticationType = type
}
