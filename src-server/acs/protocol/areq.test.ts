import { describe, expect, it } from 'vitest'
import { FIXTURE_MATRIX, makeAReq } from '../fixtures/areq'
import { parseAReq, type ParseAReqOptions } from './areq'
import { findDuplicateKey, parseJsonStrict } from './strict-json'

const base = () => makeAReq('2.2.0', 'BRW', 'PA')

function expectErro(
  body: string | Record<string, unknown>,
  code: string,
  detail?: string,
  opts?: ParseAReqOptions,
) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body)
  const r = parseAReq(raw, opts)
  expect(r.ok, `expected Erro ${code}`).toBe(false)
  if (r.ok) return
  expect(r.erro.errorCode).toBe(code)
  expect(r.erro.errorComponent).toBe('A')
  expect(r.erro.messageType).toBe('Erro')
  expect(r.erro.errorMessageType).toBe('AReq')
  if (detail !== undefined) expect(r.erro.errorDetail).toBe(detail)
  return r.erro
}

function mutate(fn: (m: Record<string, unknown>) => void, m = base()) {
  fn(m)
  return m
}

describe('parseAReq: valid fixtures', () => {
  for (const { version, channel, category } of FIXTURE_MATRIX) {
    it(`${version} ${channel} ${category} is accepted`, () => {
      const r = parseAReq(JSON.stringify(makeAReq(version, channel, category)))
      expect(r.ok ? 'ok' : r.erro).toBe('ok')
    })
  }

  it('ignores members the spec does not list, and optional members sent empty', () => {
    const r = parseAReq(
      JSON.stringify(mutate((m) => Object.assign(m, { vendorThing: '', billAddrLine2: '' }))),
    )
    expect(r.ok).toBe(true)
  })
})

describe('parseAReq: 101 / 102 / 204', () => {
  it('101 for unparseable JSON, a non-object and a wrong messageType', () => {
    expectErro('{"messageType": "AReq",', '101')
    expectErro('[1,2]', '101')
    const erro = expectErro(
      mutate((m) => (m.messageType = 'ARes')),
      '101',
      'messageType',
    )
    expect(erro?.threeDSServerTransID).toBe('8a880dc0-d2d2-4067-bcb1-b08d1690b26e')
  })

  it('102 for versions outside the supported range, echoing the received version', () => {
    const erro = expectErro(
      mutate((m) => (m.messageVersion = '2.0.9')),
      '102',
      'messageVersion',
    )
    expect(erro?.messageVersion).toBe('2.0.9')
    expectErro(
      mutate((m) => (m.messageVersion = '2.3.1')),
      '102',
    )
    expectErro(
      mutate((m) => (m.messageVersion = 'two')),
      '102',
    )
  })

  it('201 when messageVersion itself is missing', () => {
    expectErro(
      mutate((m) => delete m.messageVersion),
      '201',
      'messageVersion',
    )
  })

  it('204 for duplicate members, top-level, nested and through escapes', () => {
    const raw = JSON.stringify(base())
    expectErro(raw.replace('{', '{"acctNumber":"4111110000000211",'), '204', 'acctNumber')
    expectErro(raw.replace('"cc":"33"', '"cc":"33","cc":"44"'), '204', 'mobilePhone.cc')
    expectErro(raw.replace('{', '{"\\u0061cctNumber":"1",'), '204', 'acctNumber')
  })
})

describe('parseAReq: 201 required elements', () => {
  it.each([
    ['threeDSServerTransID'],
    ['dsTransID'],
    ['dsURL'],
    ['acctNumber'],
    ['notificationURL'],
    ['threeDSCompInd'],
    ['mcc'],
    ['purchaseAmount'],
    ['threeDSServerURL'],
    ['browserJavascriptEnabled'],
  ])('absent %s', (field) => {
    expectErro(
      mutate((m) => delete m[field]),
      '201',
      field,
    )
  })

  it('an empty string or null counts as missing', () => {
    expectErro(
      mutate((m) => (m.acquirerBIN = '')),
      '201',
      'acquirerBIN',
    )
    expectErro(
      mutate((m) => (m.merchantName = null)),
      '201',
      'merchantName',
    )
    const app = makeAReq('2.2.0', 'APP', 'PA')
    app.deviceRenderOptions = {}
    expectErro(app, '201', 'deviceRenderOptions')
    // An optional object sent empty is simply absent.
    expect(parseAReq(JSON.stringify(mutate((m) => (m.mobilePhone = {})))).ok).toBe(true)
  })

  it('conditional requirements: JS-enabled browser data, decoupled time, ship/bill state, trust list source', () => {
    expectErro(
      mutate((m) => delete m.browserColorDepth),
      '201',
      'browserColorDepth',
    )
    const noJs = mutate((m) => {
      m.browserJavascriptEnabled = false
      delete m.browserColorDepth
      delete m.browserTZ
    })
    expect(parseAReq(JSON.stringify(noJs)).ok).toBe(true)
    expectErro(
      mutate((m) => (m.threeDSRequestorDecReqInd = 'Y')),
      '201',
      'threeDSRequestorDecMaxTime',
    )
    expectErro(
      mutate((m) => delete m.billAddrCountry),
      '201',
      'billAddrCountry',
    )
    expectErro(
      mutate((m) => (m.whiteListStatus = 'Y')),
      '201',
      'whiteListStatusSource',
    )
  })

  it('NPA needs purchase data only for recurring/instalment requests', () => {
    const npa = makeAReq('2.2.0', 'BRW', 'NPA')
    expect(parseAReq(JSON.stringify(npa)).ok).toBe(true)
    npa.threeDSRequestorAuthenticationInd = '02'
    expectErro(
      npa,
      '201',
      'purchaseAmount,purchaseCurrency,purchaseExponent,purchaseDate,recurringExpiry,recurringFrequency',
    )
  })

  it('channel-specific requirements (APP)', () => {
    const app = makeAReq('2.1.0', 'APP', 'PA')
    delete app.sdkEphemPubKey
    expectErro(app, '201', 'sdkEphemPubKey')
    const app2 = makeAReq('2.2.0', 'APP', 'NPA')
    app2.deviceRenderOptions = { sdkInterface: '03' }
    expectErro(app2, '201', 'deviceRenderOptions.sdkUiType')
  })

  it('3RI requires threeRIInd', () => {
    const m = makeAReq('2.2.0', '3RI', 'NPA')
    delete m.threeRIInd
    expectErro(m, '201', 'threeRIInd')
  })
})

describe('parseAReq: 203 formats', () => {
  it.each([
    ['threeDSServerTransID', 'not-a-uuid'],
    ['acctNumber', '41111'],
    ['purchaseDate', '20240230101530'],
    ['browserColorDepth', '23'],
    ['browserJavaEnabled', 'false'],
    ['dsURL', 'http://ds.example.test/'],
    ['messageCategory', '03'],
    ['deviceChannel', '04'],
    ['threeDSRequestorChallengeInd', '10'],
    ['merchantName', 'x'.repeat(41)],
    ['cardExpiryDate', '3013'],
  ])('%s = %j', (field, value) => {
    expectErro(
      mutate((m) => (m[field] = value)),
      '203',
      field,
    )
  })

  it('version-specific ranges: challenge indicator 05 is valid in 2.2.0 only', () => {
    expect(parseAReq(JSON.stringify(mutate((m) => (m.threeDSRequestorChallengeInd = '05')))).ok).toBe(true)
    const m = makeAReq('2.1.0', 'BRW', 'PA')
    m.threeDSRequestorChallengeInd = '05'
    expectErro(m, '203', 'threeDSRequestorChallengeInd')
  })

  it('loopback http endpoints only when the lab option allows them', () => {
    const m = mutate((x) => (x.dsURL = 'http://127.0.0.1:9999/rreq'))
    expectErro(m, '203', 'dsURL')
    expect(parseAReq(JSON.stringify(m), { allowHttpLoopback: true }).ok).toBe(true)
    m.dsURL = 'http://ds.example.test/rreq'
    expectErro(m, '203', 'dsURL', { allowHttpLoopback: true })
  })

  it('deviceInfo must be base64url of a JSON object; the SDK key must be a P-256 JWK', () => {
    const app = makeAReq('2.2.0', 'APP', 'PA')
    app.deviceInfo = Buffer.from('not json').toString('base64url')
    expectErro(app, '203', 'deviceInfo')
    const app2 = makeAReq('2.2.0', 'APP', 'PA')
    app2.sdkEphemPubKey = { ...(app2.sdkEphemPubKey as object), crv: 'P-384' }
    expectErro(app2, '203', 'sdkEphemPubKey.crv')
  })

  it('does not leak the PAN into the Erro', () => {
    const erro = expectErro(
      mutate((m) => (m.acctNumber = '4111110000000211X')),
      '203',
    )
    expect(JSON.stringify(erro)).not.toContain('4111110000000211')
  })
})

describe('parseAReq: 202 / 304 / 305 / 306', () => {
  const ext = (critical: boolean, id = 'A000000802-004') => [
    { name: 'ext', id, criticalityIndicator: critical, data: { a: 1 } },
  ]
  it('202 only for unrecognised critical extensions', () => {
    expectErro(
      mutate((m) => (m.messageExtension = ext(true))),
      '202',
      'messageExtension[0]',
    )
    expect(parseAReq(JSON.stringify(mutate((m) => (m.messageExtension = ext(false))))).ok).toBe(true)
    const known = mutate((m) => (m.messageExtension = ext(true)))
    expect(parseAReq(JSON.stringify(known), { recognisedExtensions: ['A000000802-004'] }).ok).toBe(true)
  })

  it('304 for unknown or excluded ISO currency/country codes', () => {
    expectErro(
      mutate((m) => (m.purchaseCurrency = '999')),
      '304',
      'purchaseCurrency',
    )
    expectErro(
      mutate((m) => (m.purchaseCurrency = '123')),
      '304',
      'purchaseCurrency',
    )
    expectErro(
      mutate((m) => (m.merchantCountryCode = '000')),
      '304',
      'merchantCountryCode',
    )
    expectErro(
      mutate((m) => (m.billAddrCountry = '901')),
      '304',
      'billAddrCountry',
    )
  })

  it('305 for inconsistent data', () => {
    expectErro(makeAReq('2.1.0', '3RI', 'PA'), '305', 'messageCategory')
    const app = makeAReq('2.2.0', 'APP', 'PA')
    app.deviceRenderOptions = { sdkInterface: '01', sdkUiType: ['01', '05'] }
    expectErro(app, '305', 'deviceRenderOptions.sdkUiType')
  })

  it('306 for an unassigned or scheme-rejected MCC', () => {
    expectErro(
      mutate((m) => (m.mcc = '0100')),
      '306',
      'mcc',
    )
    expectErro(
      mutate((m) => (m.mcc = '5411')),
      '306',
      'mcc',
      { isMccValid: (mcc) => mcc !== '5411' },
    )
  })

  it('reports the highest-priority class first (201 before 203)', () => {
    const m = mutate((x) => {
      delete x.acctNumber
      x.dsTransID = 'bad'
    })
    expectErro(m, '201', 'acctNumber')
  })
})

describe('strict JSON', () => {
  it('keeps keys of sibling objects apart and handles strings containing braces', () => {
    expect(findDuplicateKey('{"a":{"x":1},"b":{"x":2},"c":"{\\"a\\":1}"}')).toBeUndefined()
    expect(findDuplicateKey('{"a":[{"x":1,"x":2}]}')).toBe('a[].x')
    expect(parseJsonStrict('{"a":1,"a":2}')).toEqual({ ok: false, reason: 'duplicate', path: 'a' })
    expect(parseJsonStrict('{').ok).toBe(false)
  })
})
