import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeAReq } from '../../src-server/acs/fixtures/areq'
import { browserCReq } from '../../src-server/lab/three-ds-server'
import { CARDS, ChallengeBrowser, startLab, type Lab } from './acs-lab'

/** Malformed AReqs over HTTP: always an Erro with the right code, never a 5xx, never a PAN in the ledger or log. */
let lab: Lab
beforeAll(async () => {
  lab = await startLab()
})
afterAll(async () => {
  await lab.srv.stop()
})

function valid(): Record<string, unknown> {
  const m = makeAReq('2.2.0', 'BRW', 'PA')
  Object.assign(m, {
    acctNumber: CARDS.visaEn.pan,
    dsURL: `${lab.srv.url}/lab/ds/rreq`,
    threeDSServerTransID: crypto.randomUUID(),
  })
  return m
}

async function send(body: string, path = '/acs/v2/areq', contentType = 'application/json') {
  const res = await fetch(lab.srv.url + path, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  })
  expect(res.status).toBeLessThan(500)
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    json: (await res.json()) as Record<string, unknown>,
  }
}

describe('AReq → Erro', () => {
  const cases: [string, () => string, string, string?][] = [
    ['not JSON', () => '{"messageType": "AReq",', '101'],
    ['an empty body', () => '', '101'],
    ['wrong messageType', () => JSON.stringify({ ...valid(), messageType: 'PReq' }), '101'],
    ['unsupported version', () => JSON.stringify({ ...valid(), messageVersion: '9.9.9' }), '102'],
    ['missing acctNumber', () => JSON.stringify({ ...valid(), acctNumber: undefined }), '201', 'acctNumber'],
    ['empty merchantName', () => JSON.stringify({ ...valid(), merchantName: '' }), '201', 'merchantName'],
    ['bad purchaseDate', () => JSON.stringify({ ...valid(), purchaseDate: '2024' }), '203', 'purchaseDate'],
    [
      'duplicate key',
      () => JSON.stringify(valid()).replace('{', `{"acctNumber":"${CARDS.visaEn.pan}",`),
      '204',
    ],
    ['bad currency', () => JSON.stringify({ ...valid(), purchaseCurrency: '001' }), '304'],
    ['an array', () => '[1,2,3]', '101'],
  ]
  for (const [name, body, code, detail] of cases) {
    it(`${name} → ${code}`, async () => {
      const r = await send(body())
      expect(r.status).toBe(200)
      expect(r.type).toBe('application/json; charset=utf-8')
      expect(r.json).toMatchObject({ messageType: 'Erro', errorCode: code, errorComponent: 'A' })
      if (detail) expect(r.json.errorDetail).toBe(detail)
    })
  }

  it('a body over the limit → Erro 101, not 413', async () => {
    const r = await send(JSON.stringify({ ...valid(), pad: 'x'.repeat(70_000) }))
    expect(r.json).toMatchObject({ messageType: 'Erro', errorCode: '101' })
  })

  it('unknown endpoints and methods under /acs/ get an Erro 303 without the console headers', async () => {
    const res = await fetch(`${lab.srv.url}/acs/v2/nothing`, { method: 'POST' })
    expect(res.status).toBe(404)
    expect(res.headers.get('x-frame-options')).toBeNull()
    expect(await res.json()).toMatchObject({ errorCode: '303' })
    expect((await fetch(`${lab.srv.url}/acs/v2/areq`)).status).toBe(404)
  })

  it('CReq errors: garbage creq → 101, unknown acsTransID → 301, JWE for nobody → 301', async () => {
    expect(
      (await send('creq=%%%', '/acs/v2/challenge', 'application/x-www-form-urlencoded')).json.errorCode,
    ).toBe('101')
    const creq = Buffer.from(
      JSON.stringify({
        threeDSServerTransID: crypto.randomUUID(),
        acsTransID: crypto.randomUUID(),
        challengeWindowSize: '05',
        messageType: 'CReq',
        messageVersion: '2.2.0',
      }),
    ).toString('base64url')
    expect(
      (await send(`creq=${creq}`, '/acs/v2/challenge', 'application/x-www-form-urlencoded')).json.errorCode,
    ).toBe('301')
    expect((await send('a.b.c.d.e', '/acs/v2/app', 'application/jose')).json.errorCode).toBe('301')
    expect((await send('{"hello":1}', '/acs/v2/app', 'application/json')).json.errorCode).toBe('101')
  })

  it('a card range without keys fails closed: ARes U/22 and an alarm', async () => {
    const token = lab.token
    const issuer = await (
      await lab.srv.api('/api/issuers', {
        method: 'POST',
        token,
        json: { name: 'Keyless', acsReferenceNumber: 'ACS_K' },
      })
    ).json()
    await lab.srv.api('/api/card-ranges', {
      method: 'POST',
      token,
      json: { issuerId: issuer.id, brand: 'mastercard', startPrefix: '222100', endPrefix: '222100' },
    })
    const r = await send(JSON.stringify({ ...valid(), acctNumber: '2221000000000009' }))
    expect(r.json).toMatchObject({
      messageType: 'ARes',
      transStatus: 'U',
      transStatusReason: '22',
      acsReferenceNumber: 'ACS_K',
    })
    // The issuer is held in memory for the AReq path: a change is seen by the next AReq.
    expect(
      (
        await lab.srv.api(`/api/issuers/${issuer.id}`, {
          method: 'PATCH',
          token,
          json: { acsReferenceNumber: 'ACS_K2' },
        })
      ).status,
    ).toBe(200)
    const again = await send(JSON.stringify({ ...valid(), acctNumber: '2221000000000009' }))
    expect(again.json).toMatchObject({ transStatus: 'U', acsReferenceNumber: 'ACS_K2' })
    // 2.1.0 has no reason 22 (ACS technical issue): its closest one, not an Erro.
    const v210 = await send(
      JSON.stringify({
        ...makeAReq('2.1.0', 'BRW', 'PA'),
        acctNumber: '2221000000000009',
        dsURL: `${lab.srv.url}/lab/ds/rreq`,
        threeDSServerTransID: crypto.randomUUID(),
      }),
    )
    expect(v210.json).toMatchObject({ messageType: 'ARes', transStatus: 'U', transStatusReason: '07' })
    const alarms = await (await lab.srv.api('/api/alarms', { token })).json()
    const alarm = alarms.find((a: { kind: string }) => a.kind === 'range-keys-missing')
    expect(alarm).toBeTruthy()
    // Acknowledged once, and audited.
    const ack = () => lab.srv.api(`/api/alarms/${alarm.id}/acknowledge`, { method: 'POST', token })
    expect((await ack()).status).toBe(204)
    expect((await ack()).status).toBe(404)
    const audited = lab.srv.services.db
      .prepare(`SELECT target, details FROM audit_log WHERE action = 'alarm.acknowledge'`)
      .all() as { target: string; details: string }[]
    expect(audited).toEqual([
      { target: `range-keys-missing:${alarm.ref}`, details: JSON.stringify({ id: alarm.id }) },
    ])
  })

  it('production ranges refuse http:// dsURL (Erro 203) and nothing stored or logged carries a PAN', async () => {
    const token = lab.token
    const issuer = await (
      await lab.srv.api('/api/issuers', {
        method: 'POST',
        token,
        json: { name: 'Prod', acsReferenceNumber: 'ACS_P' },
      })
    ).json()
    const range = await (
      await lab.srv.api('/api/card-ranges', {
        method: 'POST',
        token,
        json: {
          issuerId: issuer.id,
          brand: 'visa',
          startPrefix: '499999',
          endPrefix: '499999',
          production: true,
        },
      })
    ).json()
    await lab.srv.api(`/api/card-ranges/${range.id}/keys/generate`, { method: 'POST', token })
    const r = await send(JSON.stringify({ ...valid(), acctNumber: '4999990000000008' }))
    expect(r.json).toMatchObject({ messageType: 'Erro', errorCode: '203', errorDetail: 'dsURL' })
    // A PAN sent as a JSON number, or in a field where it does not belong, is not stored in clear either.
    const numeric = await send(
      JSON.stringify({ ...valid(), acctNumber: 4999990000000008, merchantName: 'x 5555555555554444' }),
    )
    expect(numeric.json).toMatchObject({ messageType: 'Erro', errorCode: '203' })
    const db = lab.srv.services.db
    const stored = (db.prepare('SELECT body FROM acs_messages').pluck().all() as string[]).join('\n')
    for (const pan of [CARDS.visaEn.pan, '4999990000000008', '2221000000000009', '5555555555554444']) {
      expect(stored).not.toContain(pan)
      expect(lab.srv.logText()).not.toContain(pan)
    }
    const keys = await (await lab.srv.api(`/api/card-ranges/${range.id}/keys`, { token })).json()
    expect(keys[0]).toMatchObject({ kind: 'visa-cvk', keyIndicator: '01' })
    expect(keys[0].kcv).toMatch(/^[0-9A-F]{6}$/)

    // A clear key of a production range goes in under dual control: a second operator with keys.manage.
    const cvk = { kind: 'visa-cvk', keyIndicator: '02', key: '0123456789ABCDEFFEDCBA9876543210' }
    const put = (json: unknown) =>
      lab.srv.api(`/api/card-ranges/${range.id}/keys`, { method: 'PUT', token, json })
    const alone = await put(cvk)
    expect(alone.status).toBe(403)
    expect((await alone.json()).title).toBe('Dual control')
    await lab.srv.api('/api/operators', {
      method: 'POST',
      token,
      json: {
        username: 'keyadmin2',
        displayName: 'Key Admin 2',
        role: 'admin',
        password: 'second-admin-4410',
      },
    })
    const approved = await put({ ...cvk, approver: { username: 'keyadmin2', password: 'second-admin-4410' } })
    expect(approved.status).toBe(200)
    const audit = db
      .prepare(
        `SELECT actor, details FROM audit_log WHERE action = 'acs.range-key.set' ORDER BY id DESC LIMIT 1`,
      )
      .get() as { actor: string; details: string }
    expect(audit.actor).not.toContain('keyadmin2')
    expect(JSON.parse(audit.details)).toMatchObject({ keyIndicator: '02', approvedBy: 'operator:keyadmin2' })
    expect(audit.details).not.toContain(cvk.key)
  })
})

describe('Erro messages the ACS sends after the AReq', () => {
  async function trace(acsTransID: string) {
    const res = await lab.srv.api(`/api/transactions/${acsTransID}`, { token: lab.token })
    return (await res.json()) as {
      messages: { messageType: string; direction: string; body: Record<string, unknown> }[]
    }
  }

  async function challenged(dsURL = `${lab.srv.url}/lab/ds/rreq`) {
    const r = await send(JSON.stringify({ ...valid(), dsURL, threeDSRequestorChallengeInd: '04' }))
    expect(r.json).toMatchObject({ transStatus: 'C' })
    return r.json as Record<string, string>
  }

  it('an Erro answering a CReq is kept in the transaction trace', async () => {
    const ares = await challenged()
    const creq = Buffer.from(
      JSON.stringify({
        threeDSServerTransID: crypto.randomUUID(), // not this transaction's
        acsTransID: ares.acsTransID,
        challengeWindowSize: '05',
        messageType: 'CReq',
        messageVersion: '2.2.0',
      }),
    ).toString('base64url')
    const r = await send(
      new URLSearchParams({ creq }).toString(),
      '/acs/v2/challenge',
      'application/x-www-form-urlencoded',
    )
    expect(r.json).toMatchObject({ messageType: 'Erro', errorCode: '301', errorComponent: 'A' })
    expect((await trace(ares.acsTransID)).messages).toContainEqual(
      expect.objectContaining({
        messageType: 'Erro',
        direction: 'out',
        body: expect.objectContaining({ errorCode: '301' }),
      }),
    )
  })

  it('an invalid RRes is answered with an Erro to the DS, and the RReq is tried again', async () => {
    const received: Record<string, unknown>[] = []
    const ds = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        received.push(JSON.parse(body) as Record<string, unknown>)
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ messageType: 'RRes', messageVersion: '2.2.0' })) // no IDs, no resultsStatus
      })
    })
    ds.listen(0, '127.0.0.1')
    await once(ds, 'listening')
    try {
      const ares = await challenged(`http://127.0.0.1:${(ds.address() as AddressInfo).port}/rreq`)
      const browser = new ChallengeBrowser(ares.acsURL)
      await browser.open(browserCReq(ares, '05'))
      await browser.act('cancel')
      await expect.poll(() => received.length).toBeGreaterThanOrEqual(2)
      expect(received[0]).toMatchObject({ messageType: 'RReq', acsTransID: ares.acsTransID })
      // Missing required fields (201); the Erro echoes the IDs the RRes carried, here none.
      expect(received[1]).toMatchObject({
        messageType: 'Erro',
        errorCode: '201',
        errorComponent: 'A',
        errorMessageType: 'RRes',
      })
      const t = await trace(ares.acsTransID)
      expect(t.messages.filter((m) => m.messageType === 'Erro').map((m) => m.direction)).toEqual(['out'])
      const rreq = (await (
        await lab.srv.api(`/api/transactions/${ares.acsTransID}`, { token: lab.token })
      ).json()) as {
        rreq: { status: string; lastError: string }
      }
      expect(rreq.rreq).toMatchObject({
        status: 'pending',
        lastError: expect.stringMatching(/^invalid RRes/),
      })
    } finally {
      await new Promise<void>((r) => ds.close(() => r()))
    }
  })
})
