import type { MessageExtension } from './areq'
import { MessageBuildError } from './build-error'
import { BASE64URL, isWebUrl } from './formats'
import { isAbsent } from './field-spec'
import type { ResultStatus } from './rreq'
import type { MessageVersion } from './versions'

/**
 * CRes construction and the rules SDKs apply to each CRes (stripe-android ChallengeResponseData
 * `isValidForUi` / FINAL_CRES_FIELDS), checked before anything is sent.
 */
export type AcsUiType = '01' | '02' | '03' | '04' | '05'

export interface CResIds {
  threeDSServerTransID: string
  acsTransID: string
  messageVersion: MessageVersion
  /** App channel only. */
  sdkTransID?: string
}

export interface ImageSet {
  medium?: string
  high?: string
  extraHigh?: string
}

export interface ChallengeUi {
  acsUiType: AcsUiType
  challengeInfoHeader?: string
  challengeInfoLabel?: string
  challengeInfoText?: string
  challengeInfoTextIndicator?: 'Y' | 'N'
  challengeAddInfo?: string
  challengeSelectInfo?: Array<Record<string, string>>
  submitAuthenticationLabel?: string
  resendInformationLabel?: string
  whyInfoLabel?: string
  whyInfoText?: string
  expandInfoLabel?: string
  expandInfoText?: string
  oobAppURL?: string
  oobAppLabel?: string
  oobContinueLabel?: string
  /** Base64url of the HTML for acsUiType 05. */
  acsHTML?: string
  acsHTMLRefresh?: string
  issuerImage?: ImageSet
  psImage?: ImageSet
  whitelistingInfoText?: string
}

export type CRes = Record<string, unknown> & {
  messageType: 'CRes'
  messageVersion: MessageVersion
  threeDSServerTransID: string
  acsTransID: string
  challengeCompletionInd: 'Y' | 'N'
}

/** The trust-list offer's text on the SDK's own checkbox. */
export const WHITELISTING_INFO_TEXT_MAX = 64

const MAX_LENGTH: Partial<Record<keyof ChallengeUi, number>> = {
  challengeInfoHeader: 45,
  challengeInfoLabel: 45,
  challengeInfoText: 350,
  challengeAddInfo: 256,
  submitAuthenticationLabel: 45,
  resendInformationLabel: 45,
  whyInfoLabel: 45,
  whyInfoText: 256,
  expandInfoLabel: 45,
  expandInfoText: 256,
  oobAppLabel: 45,
  oobContinueLabel: 45,
  whitelistingInfoText: WHITELISTING_INFO_TEXT_MAX,
}

/** Fields that only exist from 2.2.0 on. */
const SINCE_220: ReadonlyArray<keyof ChallengeUi> = [
  'challengeAddInfo',
  'oobAppURL',
  'oobAppLabel',
  'whitelistingInfoText',
]

const TEXT_UI_INFO: ReadonlyArray<keyof ChallengeUi> = [
  'challengeInfoHeader',
  'challengeInfoLabel',
  'challengeInfoText',
  'whyInfoLabel',
  'whyInfoText',
  'expandInfoLabel',
  'expandInfoText',
  'resendInformationLabel',
]

/** Members a final CRes may carry (anything else makes SDKs reject it). */
export const FINAL_CRES_FIELDS: ReadonlySet<string> = new Set([
  'threeDSServerTransID',
  'acsCounterAtoS',
  'acsTransID',
  'challengeCompletionInd',
  'messageExtension',
  'messageType',
  'messageVersion',
  'sdkTransID',
  'transStatus',
])

/** Returns the list of rule violations of a CRes (empty when valid). */
export function cresViolations(cres: Record<string, unknown>, channel: 'APP' | 'BRW'): string[] {
  const problems: string[] = []
  for (const [k, v] of Object.entries(cres))
    if (v !== undefined && isAbsent(v)) problems.push(`${k} is empty`)
  if (cres.messageType !== 'CRes') problems.push('messageType must be CRes')
  if (
    channel === 'APP' &&
    !(typeof cres.acsCounterAtoS === 'string' && /^\d{3}$/.test(cres.acsCounterAtoS))
  ) {
    problems.push('acsCounterAtoS must be 3 digits')
  }
  if (cres.challengeCompletionInd === 'Y') {
    for (const k of Object.keys(cres))
      if (cres[k] !== undefined && !FINAL_CRES_FIELDS.has(k))
        problems.push(`${k} not allowed in a final CRes`)
    if (!['Y', 'N', 'U', 'A', 'R'].includes(cres.transStatus as string))
      problems.push('final CRes needs transStatus')
    return problems
  }
  if (cres.challengeCompletionInd !== 'N') return [...problems, 'challengeCompletionInd must be Y or N']
  if (channel === 'BRW') return [...problems, 'browser CRes are always final']
  const ui = cres as ChallengeUi & Record<string, unknown>
  const version = cres.messageVersion as MessageVersion
  for (const [k, max] of Object.entries(MAX_LENGTH)) {
    const v = ui[k]
    if (typeof v === 'string' && v.length > max!) problems.push(`${k} longer than ${max}`)
  }
  if (version === '2.1.0')
    for (const k of SINCE_220) if (ui[k] !== undefined) problems.push(`${k} needs 2.2.0`)
  switch (ui.acsUiType) {
    case '01':
    case '02':
    case '03':
      if (!TEXT_UI_INFO.some((k) => typeof ui[k] === 'string'))
        problems.push('a text UI needs at least one information text')
      // The minimal rule allows any one text; SDKs in the field answer 201 without challengeInfoText (adyen-3ds2-ios#18).
      if (typeof ui.challengeInfoText !== 'string') problems.push('challengeInfoText required')
      if (typeof ui.submitAuthenticationLabel !== 'string')
        problems.push('submitAuthenticationLabel required')
      if (ui.acsUiType !== '01') {
        const list = ui.challengeSelectInfo
        const ok =
          Array.isArray(list) &&
          list.length > 0 &&
          list.every(
            (o) =>
              Object.keys(o).length === 1 && Object.values(o).every((x) => typeof x === 'string' && x !== ''),
          )
        if (!ok) problems.push('challengeSelectInfo must list {value: label} options')
      }
      break
    case '04':
      if (!['oobAppLabel', 'oobAppURL', 'oobContinueLabel'].some((k) => typeof ui[k] === 'string'))
        problems.push('an OOB UI needs oobAppLabel, oobAppURL or oobContinueLabel')
      // SDKs need a button label to continue (adyen-3ds2-android#26).
      if (typeof ui.oobContinueLabel !== 'string') problems.push('oobContinueLabel required')
      if (ui.oobAppURL !== undefined && !isWebUrl(ui.oobAppURL)) problems.push('oobAppURL must be a URL')
      break
    case '05':
      if (typeof ui.acsHTML !== 'string' || !BASE64URL.test(ui.acsHTML))
        problems.push('acsHTML must be base64url')
      break
    default:
      problems.push('acsUiType must be 01–05')
  }
  return problems
}

function checked(cres: CRes, channel: 'APP' | 'BRW'): CRes {
  const problems = cresViolations(cres, channel)
  if (problems.length > 0) throw new MessageBuildError(`invalid CRes: ${problems.join('; ')}`)
  return cres
}

export function formatCounter(counter: number): string {
  if (!Number.isInteger(counter) || counter < 0 || counter > 255)
    throw new MessageBuildError('counter must be 0–255')
  return String(counter).padStart(3, '0')
}

/** A non-final (app) CRes carrying the next challenge screen. */
export function buildChallengeCRes(ids: CResIds, acsCounterAtoS: number, ui: ChallengeUi): CRes {
  return checked(
    {
      messageType: 'CRes',
      messageVersion: ids.messageVersion,
      threeDSServerTransID: ids.threeDSServerTransID,
      acsTransID: ids.acsTransID,
      sdkTransID: ids.sdkTransID,
      acsCounterAtoS: formatCounter(acsCounterAtoS),
      challengeCompletionInd: 'N',
      ...ui,
    },
    'APP',
  )
}

/** The final CRes: app (counter + sdkTransID) or browser (posted as `cres` to the notificationURL). */
export function buildFinalCRes(
  ids: CResIds,
  transStatus: ResultStatus,
  app?: { acsCounterAtoS: number },
  messageExtension?: MessageExtension[],
): CRes {
  return checked(
    {
      messageType: 'CRes',
      messageVersion: ids.messageVersion,
      threeDSServerTransID: ids.threeDSServerTransID,
      acsTransID: ids.acsTransID,
      sdkTransID: app ? ids.sdkTransID : undefined,
      acsCounterAtoS: app ? formatCounter(app.acsCounterAtoS) : undefined,
      challengeCompletionInd: 'Y',
      transStatus,
      messageExtension,
    },
    app ? 'APP' : 'BRW',
  )
}
