import type { Erro, ErrorCodeValue } from './erro'
import { buildErro } from './erro'
import { UUID, decodeBase64Url, isWebUrl } from './formats'
import { isPlainObject, summariseIssues, validateTable, type FieldIssue, type FieldTable } from './field-spec'
import { parseJsonStrict } from './strict-json'
import { DEFAULT_SUPPORTED_VERSIONS, isKnownVersion, type MessageVersion } from './versions'

export type ChallengeWindowSize = '01' | '02' | '03' | '04' | '05'

/** The browser CReq: only IDs and the window size (the challenge itself runs on our own HTML pages). */
export interface BrowserCReq {
  messageType: 'CReq'
  messageVersion: MessageVersion
  threeDSServerTransID: string
  acsTransID: string
  challengeWindowSize: ChallengeWindowSize
  messageExtension?: unknown[]
}

/** The decrypted app CReq. At most one of the action members is present; the first CReq carries none. */
export interface AppCReq {
  messageType: 'CReq'
  messageVersion: MessageVersion
  threeDSServerTransID: string
  acsTransID: string
  sdkTransID: string
  sdkCounterStoA: string
  challengeDataEntry?: string
  challengeHTMLDataEntry?: string
  challengeNoEntry?: 'Y'
  challengeCancel?: string
  oobContinue?: boolean
  resendChallenge?: 'Y'
  whitelistingDataEntry?: 'Y' | 'N'
  threeDSRequestorAppURL?: string
  messageExtension?: unknown[]
}

export type CReqResult<T> = { ok: true; creq: T } | { ok: false; erro: Erro }

const common: FieldTable = {
  threeDSServerTransID: { type: 'string', required: true, pattern: UUID },
  acsTransID: { type: 'string', required: true, pattern: UUID },
  messageExtension: { type: 'array', maxItems: 10 },
}

const browserTable: FieldTable = {
  ...common,
  challengeWindowSize: { type: 'string', required: true, pattern: /^0[1-5]$/ },
}

const appTable: FieldTable = {
  ...common,
  sdkTransID: { type: 'string', required: true, pattern: UUID },
  sdkCounterStoA: { type: 'string', required: true, pattern: /^\d{3}$/, check: (v) => +v <= 255 },
  challengeDataEntry: { type: 'string', maxLength: 45 },
  challengeHTMLDataEntry: { type: 'string', maxLength: 256 },
  challengeNoEntry: { type: 'string', values: ['Y'] },
  challengeCancel: { type: 'string', values: ['01', '04', '05', '06', '07', '08'] },
  oobContinue: { type: 'boolean' },
  resendChallenge: { type: 'string', values: ['Y', 'N'] },
  whitelistingDataEntry: { type: 'string', values: ['Y', 'N'], versions: ['2.2.0', '2.3.1'] },
  threeDSRequestorAppURL: { type: 'string', maxLength: 256, check: isWebUrl, versions: ['2.2.0', '2.3.1'] },
}

/** Parses the browser form field `creq` (base64url JSON; padding tolerated). */
export function parseBrowserCReq(
  creqField: string,
  supported = DEFAULT_SUPPORTED_VERSIONS,
): CReqResult<BrowserCReq> {
  const bytes = decodeBase64Url(creqField.trim())
  if (!bytes) return fail('101', 'creq is not base64url')
  return parseCReqJson(bytes.toString('utf8'), browserTable, supported) as CReqResult<BrowserCReq>
}

/** Validates a decrypted app CReq (counter sequencing is checked by the app-channel session). */
export function parseAppCReq(json: string, supported = DEFAULT_SUPPORTED_VERSIONS): CReqResult<AppCReq> {
  return parseCReqJson(json, appTable, supported) as CReqResult<AppCReq>
}

function parseCReqJson(
  json: string,
  table: FieldTable,
  supported: readonly MessageVersion[],
): CReqResult<unknown> {
  const parsed = parseJsonStrict(json)
  if (!parsed.ok && parsed.reason === 'syntax') return fail('101', 'Invalid JSON')
  const msg = parsed.ok ? parsed.value : JSON.parse(json)
  if (!isPlainObject(msg) || msg.messageType !== 'CReq') return fail('101', 'messageType', msg)
  if (!parsed.ok) return fail('204', parsed.path, msg)
  if (!isKnownVersion(msg.messageVersion) || !supported.includes(msg.messageVersion)) {
    return fail(
      msg.messageVersion === undefined || msg.messageVersion === '' ? '201' : '102',
      'messageVersion',
      msg,
    )
  }
  const issues: FieldIssue[] = []
  validateTable(msg, table, { version: msg.messageVersion, channel: '', category: '', msg }, issues)
  const summary = summariseIssues(issues)
  if (summary) return fail(summary.code, summary.detail, msg)
  return { ok: true, creq: msg }
}

function fail(
  code: ErrorCodeValue,
  detail: string,
  msg?: Record<string, unknown>,
): { ok: false; erro: Erro } {
  const version =
    typeof msg?.messageVersion === 'string' && isKnownVersion(msg.messageVersion)
      ? msg.messageVersion
      : '2.2.0'
  return {
    ok: false,
    erro: buildErro({ code, detail, messageType: 'CReq', messageVersion: version, ids: msg }),
  }
}
