import { buildErro, type Erro, type ErrorCodeValue } from './erro'
import {
  BASE64URL,
  DIGITS,
  UUID,
  code2,
  isEmail,
  isEndpointUrl,
  isIp,
  isWebUrl,
  isYymm,
  isYyyymmdd,
  isYyyymmddhhmm,
  isYyyymmddhhmmss,
  type UrlPolicy,
} from './formats'
import {
  isPlainObject,
  present,
  summariseIssues,
  validateTable,
  type FieldContext,
  type FieldIssue,
  type FieldSpec,
  type FieldTable,
  type SemanticChecks,
} from './field-spec'
import { isAssignedMcc, isIsoCountry, isIsoCurrency } from './iso'
import { parseJsonStrict } from './strict-json'
import {
  DEFAULT_SUPPORTED_VERSIONS,
  DeviceChannel,
  MessageCategory,
  isKnownVersion,
  type MessageVersion,
} from './versions'

/**
 * AReq field table for 2.1.0 and 2.2.0, from the public transcriptions of EMV 3DS Annex A (clearhaus
 * `areq_210/220.html`) and the ACS-side fields the DS adds (dsTransID, dsReferenceNumber, dsURL, deviceInfo).
 */
const APP = [DeviceChannel.APP]
const BRW = [DeviceChannel.BRW]
const APP_BRW = [DeviceChannel.APP, DeviceChannel.BRW]
/** Elements 2.2.0 introduced, in every later version (a version that drops one takes it out here). */
const V220 = ['2.2.0', '2.3.1'] as const

const str = (extra: Omit<FieldSpec, 'type'> = {}): FieldSpec => ({ type: 'string', ...extra })
const maxStr = (max: number, extra: Omit<FieldSpec, 'type'> = {}): FieldSpec =>
  str({ maxLength: max, ...extra })
const uuid = (extra: Omit<FieldSpec, 'type'> = {}): FieldSpec => str({ pattern: UUID, ...extra })
const has = (ctx: FieldContext, key: string) => present(ctx.msg, key) !== undefined
const isOneOf = (ctx: FieldContext, key: string, values: readonly string[]) => {
  const v = present(ctx.msg, key)
  return typeof v === 'string' && values.includes(v)
}
const isPA = (ctx: FieldContext) => ctx.category === MessageCategory.PA
const jsEnabled = (ctx: FieldContext) => ctx.msg.browserJavascriptEnabled === true

/** Purchase data: always for PA; for NPA when the request is a recurring/instalment/3RI payment-like case. */
function purchaseRequired(ctx: FieldContext): boolean {
  if (isPA(ctx)) return true
  const threeRI = ctx.version === '2.1.0' ? ['01', '02'] : ['01', '02', '06', '07', '08', '09', '11']
  return (
    isOneOf(ctx, 'threeDSRequestorAuthenticationInd', ['02', '03']) || isOneOf(ctx, 'threeRIInd', threeRI)
  )
}
const recurringRequired = (ctx: FieldContext) =>
  isOneOf(ctx, 'threeDSRequestorAuthenticationInd', ['02', '03']) || isOneOf(ctx, 'threeRIInd', ['01', '02'])
const instalmentRequired = (ctx: FieldContext) =>
  isOneOf(ctx, 'threeDSRequestorAuthenticationInd', ['03']) || isOneOf(ctx, 'threeRIInd', ['02'])

const phone: FieldSpec = {
  type: 'object',
  fields: { cc: str({ pattern: DIGITS(1, 3) }), subscriber: str({ pattern: DIGITS(1, 15) }) },
}

const acctInfo: FieldTable = {
  chAccAgeInd: str({ pattern: /^0[1-5]$/ }),
  chAccChange: str({ check: isYyyymmdd }),
  chAccChangeInd: str({ pattern: /^0[1-4]$/ }),
  chAccDate: str({ check: isYyyymmdd }),
  chAccPwChange: str({ check: isYyyymmdd }),
  chAccPwChangeInd: str({ pattern: /^0[1-5]$/ }),
  nbPurchaseAccount: str({ pattern: DIGITS(1, 4) }),
  provisionAttemptsDay: str({ pattern: DIGITS(1, 3) }),
  txnActivityDay: str({ pattern: DIGITS(1, 3) }),
  txnActivityYear: str({ pattern: DIGITS(1, 3) }),
  paymentAccAge: str({ check: isYyyymmdd }),
  paymentAccInd: str({ pattern: /^0[1-5]$/ }),
  shipAddressUsage: str({ check: isYyyymmdd }),
  shipAddressUsageInd: str({ pattern: /^0[1-4]$/ }),
  shipNameIndicator: str({ pattern: /^0[1-2]$/ }),
  suspiciousAccActivity: str({ pattern: /^0[1-2]$/ }),
}

const merchantRiskIndicator: FieldTable = {
  deliveryEmailAddress: maxStr(254, { check: isEmail }),
  deliveryTimeframe: str({ pattern: /^0[1-4]$/ }),
  giftCardAmount: str({ pattern: DIGITS(1, 15) }),
  giftCardCount: str({ pattern: DIGITS(2, 2) }),
  giftCardCurr: str({ pattern: DIGITS(3, 3), semantic: 'currency' }),
  preOrderDate: str({ check: isYyyymmdd }),
  preOrderPurchaseInd: str({ pattern: /^0[1-2]$/ }),
  reorderItemsInd: str({ pattern: /^0[1-2]$/ }),
  shipIndicator: str({ pattern: /^0[1-7]$/ }),
}

const requestorAuthInfo: FieldTable = {
  threeDSReqAuthData: maxStr(20000),
  threeDSReqAuthMethod: str({ pattern: code2('0[1-6]') }),
  threeDSReqAuthTimestamp: str({ check: isYyyymmddhhmm }),
}

const requestorPriorAuthInfo: FieldTable = {
  threeDSReqPriorAuthData: maxStr(2048),
  threeDSReqPriorAuthMethod: str({ pattern: code2('0[1-4]') }),
  threeDSReqPriorAuthTimestamp: str({ check: isYyyymmddhhmm }),
  threeDSReqPriorRef: maxStr(36),
}

const base64Url = /^[A-Za-z0-9_-]{43}$/
const sdkEphemPubKey: FieldTable = {
  kty: str({ required: true, values: ['EC'] }),
  crv: str({ required: true, values: ['P-256'] }),
  x: str({ required: true, pattern: base64Url }),
  y: str({ required: true, pattern: base64Url }),
}

const messageExtensionItem: FieldSpec = {
  type: 'object',
  fields: {
    name: maxStr(64, { required: true }),
    id: maxStr(64, { required: true }),
    criticalityIndicator: { type: 'boolean', required: true },
    data: { type: 'object', required: true, maxLength: 8059 },
  },
}

function areqTable(policy: UrlPolicy): FieldTable {
  const endpoint = (v: string) => isEndpointUrl(v, policy)
  return {
    threeDSServerTransID: uuid({ required: true }),
    dsTransID: uuid({ required: true }),
    dsReferenceNumber: maxStr(32, { required: true }),
    dsURL: maxStr(2048, { required: true, check: endpoint }),
    threeDSServerRefNumber: maxStr(32, { required: true }),
    threeDSServerOperatorID: maxStr(32),
    threeDSServerURL: maxStr(2048, { required: (c) => c.version !== '2.1.0', check: endpoint }),
    threeDSRequestorID: maxStr(35, { required: true }),
    threeDSRequestorName: maxStr(40, { required: true }),
    threeDSRequestorURL: maxStr(2048, { required: true, check: isWebUrl }),
    threeDSRequestorAuthenticationInd: str({
      channels: APP_BRW,
      required: true,
      pattern: code2('0[1-6]'),
      byVersion: { '2.2.0': { pattern: code2('0[1-7]') } },
    }),
    threeDSRequestorAuthenticationInfo: { type: 'object', fields: requestorAuthInfo },
    threeDSRequestorChallengeInd: str({
      channels: APP_BRW,
      pattern: code2('0[1-4]'),
      byVersion: { '2.2.0': { pattern: code2('0[1-9]') } },
    }),
    threeDSRequestorPriorAuthenticationInfo: { type: 'object', fields: requestorPriorAuthInfo },
    threeDSRequestorDecReqInd: str({ values: ['Y', 'N'], versions: V220 }),
    threeDSRequestorDecMaxTime: str({
      versions: V220,
      pattern: /^\d{5}$/,
      check: (v) => +v >= 1 && +v <= 10080,
      required: (c) => isOneOf(c, 'threeDSRequestorDecReqInd', ['Y']),
    }),
    threeDSReqAuthMethodInd: str({ versions: V220, channels: APP_BRW, pattern: code2('0[1-3]') }),
    threeRIInd: str({
      channels: [DeviceChannel.THREE_RI],
      required: true,
      pattern: code2('0[1-5]'),
      byVersion: { '2.2.0': { pattern: code2('0[1-9]|1[0-1]') } },
    }),
    threeDSCompInd: str({ channels: BRW, required: true, values: ['Y', 'N', 'U'] }),
    acctType: str({ pattern: code2('0[1-3]') }),
    acctNumber: str({ required: true, pattern: DIGITS(13, 19) }),
    acctID: maxStr(64),
    acctInfo: { type: 'object', fields: acctInfo },
    acquirerBIN: maxStr(11, { required: isPA }),
    acquirerMerchantID: maxStr(35, { required: isPA }),
    addrMatch: str({ channels: APP_BRW, values: ['Y', 'N'] }),
    broadInfo: { type: 'object', versions: V220, maxLength: 4096 },
    browserAcceptHeader: maxStr(2048, { channels: BRW, required: true }),
    // 2.2.0 makes browserIP conditional on market rules (clearhaus areq_220 lists it optional).
    browserIP: maxStr(45, { channels: BRW, required: (c) => c.version === '2.1.0', check: isIp }),
    browserJavaEnabled: {
      type: 'boolean',
      channels: BRW,
      required: (c) => c.version === '2.1.0' || jsEnabled(c),
    },
    browserJavascriptEnabled: { type: 'boolean', channels: BRW, required: true, versions: V220 },
    browserLanguage: str({ channels: BRW, required: true, minLength: 1, maxLength: 8 }),
    browserColorDepth: str({
      channels: BRW,
      required: (c) => c.version === '2.1.0' || jsEnabled(c),
      values: ['1', '4', '8', '15', '16', '24', '32', '48'],
    }),
    browserScreenHeight: str({
      channels: BRW,
      required: (c) => c.version === '2.1.0' || jsEnabled(c),
      pattern: DIGITS(1, 6),
    }),
    browserScreenWidth: str({
      channels: BRW,
      required: (c) => c.version === '2.1.0' || jsEnabled(c),
      pattern: DIGITS(1, 6),
    }),
    browserTZ: str({
      channels: BRW,
      required: (c) => c.version === '2.1.0' || jsEnabled(c),
      pattern: /^[+-]?\d{1,4}$/,
    }),
    browserUserAgent: maxStr(2048, { channels: BRW, required: true }),
    notificationURL: maxStr(256, { channels: BRW, required: true, check: endpoint }),
    cardExpiryDate: str({ check: isYymm }),
    cardholderName: str({ minLength: 2, maxLength: 45 }),
    billAddrCity: maxStr(50),
    billAddrCountry: str({
      pattern: DIGITS(3, 3),
      semantic: 'country',
      required: (c) => has(c, 'billAddrState'),
    }),
    billAddrLine1: maxStr(50),
    billAddrLine2: maxStr(50),
    billAddrLine3: maxStr(50),
    billAddrPostCode: maxStr(16),
    billAddrState: maxStr(3),
    shipAddrCity: maxStr(50),
    shipAddrCountry: str({
      pattern: DIGITS(3, 3),
      semantic: 'country',
      required: (c) => has(c, 'shipAddrState'),
    }),
    shipAddrLine1: maxStr(50),
    shipAddrLine2: maxStr(50),
    shipAddrLine3: maxStr(50),
    shipAddrPostCode: maxStr(16),
    shipAddrState: maxStr(3),
    email: maxStr(254, { check: isEmail }),
    homePhone: phone,
    mobilePhone: phone,
    workPhone: phone,
    deviceChannel: str({ required: true, pattern: code2('0[1-3]') }),
    deviceInfo: maxStr(64000, { channels: APP, required: true, pattern: BASE64URL }),
    deviceRenderOptions: {
      type: 'object',
      channels: APP,
      required: true,
      fields: {
        sdkInterface: str({ required: true, pattern: /^0[1-3]$/ }),
        sdkUiType: { type: 'array', required: true, items: str({ pattern: /^0[1-5]$/ }), maxItems: 5 },
      },
    },
    sdkAppID: uuid({ channels: APP, required: true }),
    sdkEphemPubKey: { type: 'object', channels: APP, required: true, fields: sdkEphemPubKey, maxLength: 256 },
    sdkMaxTimeout: str({ channels: APP, required: true, pattern: /^\d{2}$/, check: (v) => +v >= 5 }),
    sdkReferenceNumber: maxStr(32, { channels: APP, required: true }),
    sdkTransID: uuid({ channels: APP, required: true }),
    mcc: str({ required: isPA, pattern: DIGITS(4, 4), semantic: 'mcc' }),
    merchantCountryCode: str({ required: isPA, pattern: DIGITS(3, 3), semantic: 'country' }),
    merchantName: maxStr(40, { required: isPA }),
    merchantRiskIndicator: { type: 'object', fields: merchantRiskIndicator },
    messageCategory: str({ required: true, pattern: code2('0[1-2]') }),
    messageExtension: { type: 'array', maxItems: 10, items: messageExtensionItem },
    payTokenInd: { type: 'boolean' },
    payTokenSource: str({
      versions: V220,
      pattern: code2('0[1-2]'),
      required: (c) => c.msg.payTokenInd === true,
    }),
    purchaseAmount: str({ required: purchaseRequired, pattern: DIGITS(1, 48) }),
    purchaseCurrency: str({ required: purchaseRequired, pattern: DIGITS(3, 3), semantic: 'currency' }),
    purchaseExponent: str({ required: purchaseRequired, pattern: /^\d$/ }),
    purchaseDate: str({ required: purchaseRequired, check: isYyyymmddhhmmss }),
    purchaseInstalData: str({ required: instalmentRequired, pattern: DIGITS(1, 3), check: (v) => +v >= 2 }),
    recurringExpiry: str({ required: recurringRequired, check: isYyyymmdd }),
    recurringFrequency: str({ required: recurringRequired, pattern: DIGITS(1, 4) }),
    transType: str({ values: ['01', '03', '10', '11', '28'] }),
    whiteListStatus: str({ versions: V220, values: ['Y', 'N'] }),
    whiteListStatusSource: str({
      versions: V220,
      pattern: code2('0[1-3]'),
      required: (c) => has(c, 'whiteListStatus'),
    }),
  }
}

// ---------------------------------------------------------------------------------------------------------

/** A validated AReq. Values are as received; only the members below are guaranteed by validation. */
export interface AReq {
  messageType: 'AReq'
  messageVersion: MessageVersion
  messageCategory: string
  deviceChannel: string
  threeDSServerTransID: string
  dsTransID: string
  dsReferenceNumber: string
  dsURL: string
  threeDSServerRefNumber: string
  threeDSServerURL?: string
  threeDSRequestorID: string
  threeDSRequestorName: string
  threeDSRequestorURL: string
  threeDSRequestorChallengeInd?: string
  threeDSRequestorAuthenticationInd?: string
  threeDSRequestorDecReqInd?: string
  threeDSRequestorDecMaxTime?: string
  threeDSCompInd?: string
  threeRIInd?: string
  acctNumber: string
  cardExpiryDate?: string
  acquirerBIN?: string
  acquirerMerchantID?: string
  mcc?: string
  merchantCountryCode?: string
  merchantName?: string
  purchaseAmount?: string
  purchaseCurrency?: string
  purchaseExponent?: string
  purchaseDate?: string
  browserLanguage?: string
  browserIP?: string
  notificationURL?: string
  sdkTransID?: string
  sdkReferenceNumber?: string
  sdkAppID?: string
  sdkMaxTimeout?: string
  sdkEphemPubKey?: { kty: 'EC'; crv: 'P-256'; x: string; y: string }
  deviceRenderOptions?: { sdkInterface: string; sdkUiType: string[] }
  deviceInfo?: string
  whiteListStatus?: string
  messageExtension?: MessageExtension[]
  [other: string]: unknown
}

export interface MessageExtension {
  name: string
  id: string
  criticalityIndicator: boolean
  data: Record<string, unknown>
}

export interface ParseAReqOptions extends UrlPolicy {
  supportedVersions?: readonly MessageVersion[]
  /** IDs of message extensions this ACS understands; unknown critical ones give Erro 202. */
  recognisedExtensions?: readonly string[]
  /** Scheme MCC list; defaults to the ISO 18245 assigned ranges. */
  isMccValid?: (mcc: string) => boolean
}

export type ParseAReqResult = { ok: true; areq: AReq } | { ok: false; erro: Erro }

const tableCache = new Map<string, FieldTable>()
function tableFor(policy: UrlPolicy): FieldTable {
  const key = policy.allowHttpLoopback ? 'lab' : 'prod'
  let t = tableCache.get(key)
  if (!t) tableCache.set(key, (t = areqTable(policy)))
  return t
}

const FALLBACK_VERSION: MessageVersion = '2.2.0'
/** A version we can echo in an Erro even when we do not speak it. */
const VERSION_SHAPE = /^\d+\.\d+\.\d+$/

/** Parses and validates a raw AReq body, returning the AReq or the complete Erro to answer with. */
export function parseAReq(rawBody: string, options: ParseAReqOptions = {}): ParseAReqResult {
  const parsed = parseJsonStrict(rawBody)
  if (!parsed.ok && parsed.reason === 'syntax') return fail('101', 'Invalid JSON', FALLBACK_VERSION)
  const msg = parsed.ok ? parsed.value : safeParse(rawBody)
  if (!isPlainObject(msg)) return fail('101', 'message is not a JSON object', FALLBACK_VERSION)
  const version = typeof msg.messageVersion === 'string' ? msg.messageVersion : undefined
  const echoVersion = version && VERSION_SHAPE.test(version) ? version : FALLBACK_VERSION
  if (msg.messageType !== 'AReq') return fail('101', 'messageType', echoVersion, msg)
  if (!parsed.ok) return fail('204', parsed.path, echoVersion, msg)
  if (version === undefined || version === '') return fail('201', 'messageVersion', FALLBACK_VERSION, msg)
  const supported = options.supportedVersions ?? DEFAULT_SUPPORTED_VERSIONS
  if (!isKnownVersion(version) || !supported.includes(version))
    return fail('102', 'messageVersion', echoVersion, msg)

  const channel = present(msg, 'deviceChannel')
  const category = present(msg, 'messageCategory')
  const ctx: FieldContext = {
    version,
    channel: typeof channel === 'string' ? channel : '',
    category: typeof category === 'string' ? category : '',
    msg,
  }
  const semantics: SemanticChecks = {
    currency: currencyAllowed,
    country: countryAllowed,
    mcc: options.isMccValid ?? isAssignedMcc,
  }
  const issues: FieldIssue[] = []
  validateTable(msg, tableFor(options), ctx, issues, semantics)
  checkExtensions(msg, options, issues)
  checkDeviceInfo(msg, ctx, issues)
  checkConsistency(msg, ctx, issues)
  const summary = summariseIssues(issues)
  if (summary) return fail(summary.code, summary.detail, version, msg)
  return { ok: true, areq: msg as AReq }
}

// EMV excludes these valid ISO values from 3DS messages.
const currencyAllowed = (c: string) => isIsoCurrency(c) && !(+c >= 955 && +c <= 964) && c !== '999'
const countryAllowed = (c: string) => isIsoCountry(c) && +c < 901

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function fail(
  code: ErrorCodeValue,
  detail: string,
  version: string,
  msg?: Record<string, unknown>,
): ParseAReqResult {
  return {
    ok: false,
    erro: buildErro({ code, detail, messageType: 'AReq', messageVersion: version, ids: msg }),
  }
}

function checkExtensions(
  msg: Record<string, unknown>,
  options: ParseAReqOptions,
  issues: FieldIssue[],
): void {
  const list = msg.messageExtension
  if (!Array.isArray(list)) return
  const known = options.recognisedExtensions ?? []
  list.forEach((ext, i) => {
    if (
      isPlainObject(ext) &&
      ext.criticalityIndicator === true &&
      typeof ext.id === 'string' &&
      !known.includes(ext.id)
    ) {
      issues.push({ code: '202', path: `messageExtension[${i}]` })
    }
  })
}

/**
 * deviceInfo reaches the ACS in clear (the DS decrypted sdkEncData): base64url of a JSON object. A value
 * that is not base64url at all already has its 203 from the field table; this adds one for base64url
 * that does not decode to a JSON object.
 */
function checkDeviceInfo(msg: Record<string, unknown>, ctx: FieldContext, issues: FieldIssue[]): void {
  if (ctx.channel !== DeviceChannel.APP) return
  const v = present(msg, 'deviceInfo')
  if (typeof v !== 'string') return
  // Decode first (Buffer skips characters outside the alphabet, so it cannot fail): only a value that
  // does not hold an object then pays for scanning its kilobytes against the alphabet.
  const json = safeParse(Buffer.from(v, 'base64url').toString('utf8'))
  if (!isPlainObject(json) && BASE64URL.test(v)) issues.push({ code: '203', path: 'deviceInfo' })
}

/** Cross-field rules (→305) that public implementations apply; only listed spec constraints. */
function checkConsistency(msg: Record<string, unknown>, ctx: FieldContext, issues: FieldIssue[]): void {
  if (
    ctx.version === '2.1.0' &&
    ctx.channel === DeviceChannel.THREE_RI &&
    ctx.category === MessageCategory.PA
  ) {
    issues.push({ code: '305', path: 'messageCategory' })
  }
  const dro = present(msg, 'deviceRenderOptions')
  if (ctx.channel === DeviceChannel.APP && isPlainObject(dro)) {
    // A native-only SDK cannot render the HTML UI type.
    if (dro.sdkInterface === '01' && Array.isArray(dro.sdkUiType) && dro.sdkUiType.includes('05')) {
      issues.push({ code: '305', path: 'deviceRenderOptions.sdkUiType' })
    }
  }
}
