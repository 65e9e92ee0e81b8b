import { describe, expect, it } from 'vitest'
import { makeAReq } from '../fixtures/areq'
import { parseAReq, type AReq } from './areq'
import { buildARes, type AResOutcome } from './ares'
import { MessageBuildError } from './build-error'
import { parseAppCReq, parseBrowserCReq } from './creq'
import { buildChallengeCRes, buildFinalCRes, cresViolations, FINAL_CRES_FIELDS } from './cres'
import { buildErro } from './erro'
import { buildRReq, parseRRes } from './rreq'
import { EmptyElementError, serializeMessage } from './serialize'

const ACS_TRANS_ID = '3c8b7a1e-6c2f-4a52-9a0c-1b2e3d4f5a6b'
const AV = 'AAABBWcSNIdjeUZThmNHAAAAAAA='

function areq(
  version: '2.1.0' | '2.2.0',
  channel: 'BRW' | 'APP' | '3RI',
  category: 'PA' | 'NPA' = 'PA',
  patch: Record<string, unknown> = {},
): AReq {
  const r = parseAReq(JSON.stringify({ ...makeAReq(version, channel, category), ...patch }))
  if (!r.ok) throw new Error(JSON.stringify(r.erro))
  return r.areq
}

const ares = (a: AReq, outcome: AResOutcome) =>
  buildARes({ areq: a, acsTransID: ACS_TRANS_ID, acsReferenceNumber: 'ACS-REF-0001', outcome })

describe('serializeMessage: absent, never empty', () => {
  it('drops undefined members and throws on empty values anywhere', () => {
    expect(serializeMessage({ a: 'x', b: undefined })).toBe('{"a":"x"}')
    expect(() => serializeMessage({ a: '' })).toThrow(EmptyElementError)
    expect(() => serializeMessage({ a: { b: {} } })).toThrow(/a\.b/)
    expect(() => serializeMessage({ a: [] })).toThrow(EmptyElementError)
    expect(() => serializeMessage({ a: [{ c: null }] })).toThrow(/a\[0\]\.c/)
    expect(() => serializeMessage({ a: { b: undefined } })).toThrow(EmptyElementError)
  })
})

describe('buildARes per transStatus', () => {
  it.each(['Y', 'A'] as const)('%s carries authenticationValue and eci', (s) => {
    const m = ares(areq('2.2.0', 'BRW'), { transStatus: s, authenticationValue: AV, eci: '05' })
    expect(m).toMatchObject({
      transStatus: s,
      authenticationValue: AV,
      eci: '05',
      messageVersion: '2.2.0',
      acsTransID: ACS_TRANS_ID,
    })
    expect(m.transStatusReason).toBeUndefined()
    expect(JSON.parse(serializeMessage(m)).sdkTransID).toBeUndefined()
  })

  it.each(['N', 'U', 'R'] as const)('%s carries transStatusReason', (s) => {
    const m = ares(areq('2.1.0', 'BRW'), { transStatus: s, transStatusReason: '11' })
    expect(m).toMatchObject({ transStatus: s, transStatusReason: '11' })
    expect(() => ares(areq('2.1.0', 'BRW'), { transStatus: s, transStatusReason: '27' })).toThrow(
      MessageBuildError,
    )
    expect(ares(areq('2.2.0', 'BRW'), { transStatus: s, transStatusReason: '19' })).toMatchObject({
      transStatusReason: '19',
    })
  })

  it("sends 2.2.0's reasons to a 2.1.0 counterparty as the 2.1.0 reason closest in meaning", () => {
    const in210 = (reason: string) =>
      ares(areq('2.1.0', 'BRW'), { transStatus: 'U', transStatusReason: reason }).transStatusReason
    expect(['19', '20', '21', '22', '23', '24', '25', '26'].map(in210)).toEqual([
      '04',
      '12',
      '12',
      '07',
      '12',
      '14',
      '14',
      '01',
    ])
    expect(in210('11')).toBe('11')
    expect(in210('85')).toBe('85') // DS-specific: every version
    const rreq = buildRReq(
      {
        threeDSServerTransID: '8a880dc0-d2d2-4067-bcb1-b08d1690b26e',
        acsTransID: ACS_TRANS_ID,
        dsTransID: 'b7b2a4b4-8d4e-4c37-9f8b-0f5d2d3c6a11',
        messageCategory: '01',
        messageVersion: '2.1.0',
        deviceChannel: '02',
      },
      { transStatus: 'U', transStatusReason: '22', interactionCounter: 1, challengeCancel: '06' },
    )
    expect(rreq.transStatusReason).toBe('07')
  })

  it('C (browser) carries acsURL, acsChallengeMandated, authenticationType', () => {
    const m = ares(areq('2.2.0', 'BRW'), {
      transStatus: 'C',
      acsChallengeMandated: 'Y',
      authenticationType: '02',
      acsURL: 'https://acs.example.test/acs/v2/challenge',
    })
    expect(m).toMatchObject({
      acsURL: 'https://acs.example.test/acs/v2/challenge',
      acsChallengeMandated: 'Y',
      authenticationType: '02',
    })
    expect(() =>
      ares(areq('2.2.0', 'BRW'), {
        transStatus: 'C',
        acsChallengeMandated: 'Y',
        authenticationType: '02',
        acsURL: 'http://acs.example.test/',
      }),
    ).toThrow(MessageBuildError)
  })

  it('C (app) carries acsSignedContent and acsRenderingType and echoes sdkTransID', () => {
    const a = areq('2.2.0', 'APP')
    const m = ares(a, {
      transStatus: 'C',
      acsChallengeMandated: 'N',
      authenticationType: '02',
      acsSignedContent: 'e30.e30.sig',
      acsRenderingType: { acsInterface: '01', acsUiTemplate: '01' },
    })
    expect(m).toMatchObject({
      sdkTransID: a.sdkTransID,
      acsSignedContent: 'e30.e30.sig',
      acsRenderingType: { acsInterface: '01', acsUiTemplate: '01' },
    })
    expect(m.acsURL).toBeUndefined()
    expect(() => ares(a, { transStatus: 'C', acsChallengeMandated: 'N', authenticationType: '02' })).toThrow(
      MessageBuildError,
    )
  })

  it('C is refused for 3RI and for challenge indicator 06', () => {
    const c: AResOutcome = {
      transStatus: 'C',
      acsChallengeMandated: 'Y',
      authenticationType: '02',
      acsURL: 'https://acs.example.test/c',
    }
    expect(() => ares(areq('2.2.0', '3RI', 'NPA'), c)).toThrow(/3RI/)
    expect(() => ares(areq('2.2.0', 'BRW', 'PA', { threeDSRequestorChallengeInd: '06' }), c)).toThrow(/06/)
  })

  it('D needs 2.2.0 and a decoupled request, and carries acsDecConInd, cardholderInfo, authenticationType 04', () => {
    const d: AResOutcome = {
      transStatus: 'D',
      cardholderInfo: 'Reply YES to the SMS from your bank',
      acsChallengeMandated: 'Y',
    }
    const a = areq('2.2.0', 'BRW', 'PA', {
      threeDSRequestorDecReqInd: 'Y',
      threeDSRequestorDecMaxTime: '00010',
    })
    expect(ares(a, d)).toMatchObject({
      acsDecConInd: 'Y',
      authenticationType: '04',
      cardholderInfo: d.cardholderInfo,
    })
    expect(() => ares(areq('2.2.0', 'BRW'), d)).toThrow(/23/)
    expect(() => ares(areq('2.1.0', 'BRW'), d)).toThrow(/2\.2\.0/)
  })

  it('trust list status needs 2.2.0', () => {
    const a = areq('2.2.0', 'BRW')
    const m = buildARes({
      areq: a,
      acsTransID: ACS_TRANS_ID,
      acsReferenceNumber: 'R',
      outcome: { transStatus: 'Y', authenticationValue: AV, eci: '05' },
      whiteListStatus: { status: 'Y', source: '03' },
    })
    expect(m).toMatchObject({ whiteListStatus: 'Y', whiteListStatusSource: '03' })
  })

  it('rejects a malformed authenticationValue', () => {
    expect(() =>
      ares(areq('2.2.0', 'BRW'), { transStatus: 'Y', authenticationValue: 'short', eci: '05' }),
    ).toThrow(MessageBuildError)
  })
})

describe('buildRReq', () => {
  const tx = {
    threeDSServerTransID: '8a880dc0-d2d2-4067-bcb1-b08d1690b26e',
    acsTransID: ACS_TRANS_ID,
    dsTransID: 'b7b2a4b4-8d4e-4c37-9f8b-0f5d2d3c6a11',
    messageCategory: '01',
    messageVersion: '2.2.0' as const,
    deviceChannel: '02',
  }
  it('formats interactionCounter on two digits and carries the result data', () => {
    const r = buildRReq(tx, {
      transStatus: 'N',
      transStatusReason: '01',
      authenticationType: '02',
      interactionCounter: 3,
    })
    expect(r).toMatchObject({
      messageType: 'RReq',
      transStatus: 'N',
      transStatusReason: '01',
      interactionCounter: '03',
      authenticationType: '02',
    })
    expect(
      buildRReq(tx, {
        transStatus: 'Y',
        authenticationValue: AV,
        eci: '05',
        authenticationType: '02',
        interactionCounter: 120,
      }).interactionCounter,
    ).toBe('99')
  })
  it('carries the ACS trust-list status from 2.2.0 on (trustList* in 2.3.1), never in 2.1.0', () => {
    const y = {
      transStatus: 'Y' as const,
      authenticationValue: AV,
      eci: '05',
      authenticationType: '02' as const,
      interactionCounter: 1,
      whiteListStatus: { status: 'Y' as const, source: '03' as const },
    }
    expect(buildRReq(tx, y)).toMatchObject({ whiteListStatus: 'Y', whiteListStatusSource: '03' })
    const v231 = buildRReq({ ...tx, messageVersion: '2.3.1' }, y)
    expect(v231).toMatchObject({ trustListStatus: 'Y', trustListStatusSource: '03' })
    expect(v231.whiteListStatus).toBeUndefined()
    const v210 = buildRReq({ ...tx, messageVersion: '2.1.0' }, y)
    expect(v210.whiteListStatus).toBeUndefined()
    expect(v210.trustListStatus).toBeUndefined()
  })
  it('reports cancels and timeouts', () => {
    const r = buildRReq(tx, {
      transStatus: 'U',
      transStatusReason: '14',
      interactionCounter: 0,
      challengeCancel: '05',
    })
    expect(JSON.parse(serializeMessage(r))).toMatchObject({ challengeCancel: '05', interactionCounter: '00' })
  })
  it('enforces the conditional fields', () => {
    expect(() =>
      buildRReq(tx, { transStatus: 'Y', eci: '05', authenticationType: '02', interactionCounter: 1 }),
    ).toThrow(MessageBuildError)
    expect(() =>
      buildRReq(tx, { transStatus: 'N', authenticationType: '02', interactionCounter: 1 }),
    ).toThrow(MessageBuildError)
    expect(() => buildRReq(tx, { transStatus: 'N', transStatusReason: '01', interactionCounter: 1 })).toThrow(
      /authenticationType/,
    )
    expect(() =>
      buildRReq(tx, { transStatus: 'U', transStatusReason: '14', authenticationType: '03' }),
    ).toThrow(/interactionCounter/)
    expect(
      buildRReq(tx, { transStatus: 'Y', authenticationValue: AV, eci: '05', authenticationType: '04' })
        .interactionCounter,
    ).toBeUndefined()
  })
  it('adds sdkTransID and acsRenderingType for APP in 2.2.0', () => {
    const r = buildRReq(
      { ...tx, deviceChannel: '01', sdkTransID: 'b2385523-a66c-4907-ac3c-91848e8c0067' },
      {
        transStatus: 'Y',
        authenticationValue: AV,
        eci: '05',
        authenticationType: '02',
        interactionCounter: 1,
        acsRenderingType: { acsInterface: '01', acsUiTemplate: '01' },
      },
    )
    expect(r).toMatchObject({
      sdkTransID: 'b2385523-a66c-4907-ac3c-91848e8c0067',
      acsRenderingType: { acsInterface: '01' },
    })
  })
})

describe('parseRRes', () => {
  const sent = {
    acsTransID: ACS_TRANS_ID,
    threeDSServerTransID: '8a880dc0-d2d2-4067-bcb1-b08d1690b26e',
    messageVersion: '2.2.0' as const,
  }
  const rres = {
    messageType: 'RRes',
    ...sent,
    dsTransID: 'b7b2a4b4-8d4e-4c37-9f8b-0f5d2d3c6a11',
    resultsStatus: '01',
  }
  it('accepts a matching RRes', () => {
    expect(parseRRes(JSON.stringify(rres), sent)).toMatchObject({
      kind: 'rres',
      rres: { resultsStatus: '01' },
    })
  })
  it('recognises an Erro from the DS and flags invalid answers', () => {
    const erro = buildErro({ code: '203', detail: 'eci', messageType: 'RReq', messageVersion: '2.2.0' })
    expect(parseRRes(JSON.stringify({ ...erro, errorComponent: 'D' }), sent).kind).toBe('erro-received')
    expect(parseRRes(JSON.stringify({ ...rres, resultsStatus: '07' }), sent)).toMatchObject({
      kind: 'invalid',
      erro: { errorCode: '203', errorDetail: 'resultsStatus' },
    })
    expect(parseRRes(JSON.stringify({ ...rres, resultsStatus: undefined }), sent)).toMatchObject({
      kind: 'invalid',
      erro: { errorCode: '201' },
    })
    expect(
      parseRRes(JSON.stringify({ ...rres, acsTransID: 'b2385523-a66c-4907-ac3c-91848e8c0067' }), sent),
    ).toMatchObject({ kind: 'invalid', erro: { errorCode: '301' } })
    expect(parseRRes('nope', sent)).toMatchObject({
      kind: 'invalid',
      erro: { errorCode: '101', errorMessageType: 'RRes' },
    })
  })
})

describe('CRes', () => {
  const ids = {
    threeDSServerTransID: '8a880dc0-d2d2-4067-bcb1-b08d1690b26e',
    acsTransID: ACS_TRANS_ID,
    messageVersion: '2.2.0' as const,
    sdkTransID: 'b2385523-a66c-4907-ac3c-91848e8c0067',
  }
  const textUi = {
    acsUiType: '01' as const,
    challengeInfoHeader: 'Verify',
    challengeInfoText: 'Enter the code sent to ***1234',
    challengeInfoLabel: 'Code',
    submitAuthenticationLabel: 'Submit',
  }

  it('non-final CRes per acsUiType', () => {
    expect(buildChallengeCRes(ids, 0, textUi)).toMatchObject({
      acsCounterAtoS: '000',
      challengeCompletionInd: 'N',
      acsUiType: '01',
    })
    expect(() => buildChallengeCRes(ids, 1, { ...textUi, submitAuthenticationLabel: undefined })).toThrow(
      /submitAuthenticationLabel/,
    )
    expect(() => buildChallengeCRes(ids, 1, { ...textUi, acsUiType: '02' })).toThrow(/challengeSelectInfo/)
    expect(
      buildChallengeCRes(ids, 1, {
        ...textUi,
        acsUiType: '02',
        challengeSelectInfo: [{ phone: 'Mobile ***34' }, { email: 'Email j***@x' }],
      }),
    ).toBeTruthy()
    expect(() => buildChallengeCRes(ids, 1, { acsUiType: '04', oobAppLabel: 'Open app' })).toThrow(
      /oobContinueLabel/,
    )
    expect(
      buildChallengeCRes(ids, 1, {
        acsUiType: '04',
        challengeInfoText: 'Approve in the app',
        oobContinueLabel: 'Continue',
      }),
    ).toBeTruthy()
    expect(() => buildChallengeCRes(ids, 1, { acsUiType: '05', acsHTML: '<html>' })).toThrow(/acsHTML/)
    expect(
      buildChallengeCRes(ids, 1, {
        acsUiType: '05',
        acsHTML: Buffer.from('<html></html>').toString('base64url'),
      }),
    ).toBeTruthy()
    expect(() => buildChallengeCRes(ids, 1, { ...textUi, whyInfoText: '' })).toThrow(/empty/)
    expect(() =>
      buildChallengeCRes({ ...ids, messageVersion: '2.1.0' }, 1, { ...textUi, challengeAddInfo: 'x' }),
    ).toThrow(/2\.2\.0/)
  })

  it('final CRes carries only the allowed fields', () => {
    const app = buildFinalCRes(ids, 'Y', { acsCounterAtoS: 2 })
    expect(Object.keys(JSON.parse(serializeMessage(app))).every((k) => FINAL_CRES_FIELDS.has(k))).toBe(true)
    expect(app).toMatchObject({
      acsCounterAtoS: '002',
      sdkTransID: ids.sdkTransID,
      transStatus: 'Y',
      challengeCompletionInd: 'Y',
    })
    const brw = JSON.parse(serializeMessage(buildFinalCRes(ids, 'N')))
    expect(Object.keys(brw).sort()).toEqual([
      'acsTransID',
      'challengeCompletionInd',
      'messageType',
      'messageVersion',
      'threeDSServerTransID',
      'transStatus',
    ])
    expect(cresViolations({ ...app, acsUiType: '01' }, 'APP')).toContain(
      'acsUiType not allowed in a final CRes',
    )
  })
})

describe('CReq parsing', () => {
  const browser = {
    threeDSServerTransID: '8a880dc0-d2d2-4067-bcb1-b08d1690b26e',
    acsTransID: ACS_TRANS_ID,
    challengeWindowSize: '03',
    messageType: 'CReq',
    messageVersion: '2.2.0',
  }
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')

  it('browser creq form field', () => {
    expect(parseBrowserCReq(b64(browser))).toMatchObject({ ok: true, creq: { challengeWindowSize: '03' } })
    expect(parseBrowserCReq(Buffer.from(JSON.stringify(browser)).toString('base64'))).toMatchObject({
      ok: true,
    })
    expect(parseBrowserCReq(b64({ ...browser, challengeWindowSize: '06' }))).toMatchObject({
      ok: false,
      erro: { errorCode: '203', errorDetail: 'challengeWindowSize', errorMessageType: 'CReq' },
    })
    expect(parseBrowserCReq(b64({ ...browser, acsTransID: '' }))).toMatchObject({
      ok: false,
      erro: { errorCode: '201' },
    })
    expect(parseBrowserCReq('%%%')).toMatchObject({ ok: false, erro: { errorCode: '101' } })
    expect(parseBrowserCReq(b64({ ...browser, messageVersion: '1.0.2' }))).toMatchObject({
      ok: false,
      erro: { errorCode: '102' },
    })
  })

  it('app CReq members and counters', () => {
    const app = {
      ...browser,
      challengeWindowSize: undefined,
      sdkTransID: 'b2385523-a66c-4907-ac3c-91848e8c0067',
      sdkCounterStoA: '001',
      challengeDataEntry: '123456',
    }
    expect(parseAppCReq(JSON.stringify(app))).toMatchObject({
      ok: true,
      creq: { challengeDataEntry: '123456' },
    })
    expect(parseAppCReq(JSON.stringify({ ...app, sdkCounterStoA: '1' }))).toMatchObject({
      ok: false,
      erro: { errorCode: '203', errorDetail: 'sdkCounterStoA' },
    })
    expect(parseAppCReq(JSON.stringify({ ...app, challengeCancel: '02' }))).toMatchObject({
      ok: false,
      erro: { errorCode: '203' },
    })
    expect(parseAppCReq(JSON.stringify({ ...app, oobContinue: 'true' }))).toMatchObject({
      ok: false,
      erro: { errorCode: '203' },
    })
    expect(parseAppCReq(JSON.stringify(app).replace('{', '{"sdkCounterStoA":"000",'))).toMatchObject({
      ok: false,
      erro: { errorCode: '204' },
    })
  })
})
