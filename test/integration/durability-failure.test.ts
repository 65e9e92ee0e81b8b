import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeAReq } from '../../src-server/acs/fixtures/areq'
import type { Durability } from '../../src-server/store/durability'
import { SdkEmulator } from '../../src-server/lab/sdk'
import { browserCReq } from '../../src-server/lab/three-ds-server'
import { CARDS, labOver, type Lab } from './acs-lab'
import { startTestServer } from '../helpers/server'

/**
 * A write the server cannot make durable is never acknowledged: when the WAL's fdatasync fails (as it does on a
 * failing disk: EIO), an AReq (answered ahead of Koa) and a browser CReq get an Erro 404 (permanent system
 * failure: the pages a failed sync could not write may be lost for good; never a 5xx to a 3DS counterparty)
 * and a console write a 503 storage-failure problem, instead of their answers; the failure is logged as fatal,
 * and the server answers normally again once syncs succeed. A database that refuses the writes themselves
 * (read-only: SQLITE_READONLY) is answered the same way on every ACS endpoint.
 */
let lab: Lab
beforeAll(async () => {
  lab = await labOver(await startTestServer())
})
afterAll(() => lab.srv.stop())

/** Makes every WAL sync fail with EIO until the returned function is called. */
function failSyncs(durability: Durability): () => void {
  const fault = () => {
    throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })
  }
  const d = durability as unknown as Record<'syncNow' | 'sync', unknown>
  const saved = { syncNow: d.syncNow, sync: d.sync }
  d.syncNow = fault
  d.sync = (_fd: number, cb: (err: Error) => void) =>
    cb(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }))
  return () => Object.assign(d, saved)
}

const areq = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    ...makeAReq('2.2.0', 'BRW', 'PA'),
    acctNumber: CARDS.visaEn.pan,
    dsURL: `${lab.srv.url}/lab/ds/rreq`,
    threeDSServerTransID: crypto.randomUUID(),
    ...extra,
  })

/** The Erro every ACS endpoint answers when its storage fails for good. */
const storageErro = (errorMessageType: 'AReq' | 'CReq') => ({
  messageType: 'Erro',
  errorCode: '404',
  errorComponent: 'A',
  errorDescription: 'Permanent System Failure',
  errorDetail: 'ACS storage',
  errorMessageType,
})

/** An HTTP 200 JSON answer carrying that Erro (never a 5xx), with `extra` fields such as echoed IDs. */
async function expectStorageErro(res: Response, type: 'AReq' | 'CReq', extra: object = {}): Promise<void> {
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
  expect(await res.json()).toMatchObject({ ...storageErro(type), ...extra })
}

/** An AReq whose challenge is mandated: the browser challenge it opens. */
async function browserChallenge(): Promise<Record<string, string>> {
  const ares = (await (
    await fetch(`${lab.srv.url}/acs/v2/areq`, {
      method: 'POST',
      body: areq({ threeDSRequestorChallengeInd: '04' }),
    })
  ).json()) as Record<string, string>
  expect(ares.transStatus).toBe('C')
  return ares
}

describe('a failing disk', () => {
  it('gets an Erro 404 instead of an ARes or a challenge page, a 503 instead of a console answer, then recovers', async () => {
    const challenge = await browserChallenge()
    const restore = failSyncs(lab.srv.services.durability)
    try {
      const res = await fetch(`${lab.srv.url}/acs/v2/areq`, { method: 'POST', body: areq() })
      await expectStorageErro(res, 'AReq')
      const creq = browserCReq(challenge, '05')
      const page = await fetch(challenge.acsURL, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ creq }).toString(),
      })
      await expectStorageErro(page, 'CReq')
      const put = await lab.srv.api('/api/acs/settings', {
        method: 'PUT',
        token: lab.token,
        json: { otpLength: 6 },
      })
      expect(put.status).toBe(503)
      expect(lab.srv.logText()).toMatch(/"level":60.*could not be synced to disk/)
    } finally {
      restore()
    }
    const res = await fetch(`${lab.srv.url}/acs/v2/areq`, { method: 'POST', body: areq() })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ messageType: 'ARes' })
  })

  it('that refuses writes gets an Erro 404 naming the ACS storage on the AReq, browser and app endpoints', async () => {
    const roots = ['visa', 'mastercard'].map((b) => lab.srv.services.acs.keys.rootPem(b)!)
    const challenge = await browserChallenge()
    const sdk = new SdkEmulator('A128CBC-HS256')
    const app = (await (
      await fetch(`${lab.srv.url}/acs/v2/areq`, {
        method: 'POST',
        body: JSON.stringify({
          ...makeAReq('2.2.0', 'APP', 'PA'),
          acctNumber: CARDS.visaEn.pan,
          dsURL: `${lab.srv.url}/lab/ds/rreq`,
          threeDSServerTransID: crypto.randomUUID(),
          dsTransID: crypto.randomUUID(),
          threeDSRequestorChallengeInd: '04',
          sdkTransID: sdk.sdkTransID,
          sdkReferenceNumber: sdk.sdkReferenceNumber,
          sdkEphemPubKey: sdk.publicJwk,
        }),
      })
    ).json()) as Record<string, unknown>
    expect(app.transStatus).toBe('C')
    await sdk.accept(app, roots)

    const db = lab.srv.services.db
    db.pragma('query_only = ON') // every write now fails with SQLITE_READONLY
    try {
      const threeDSServerTransID = crypto.randomUUID()
      const res = await fetch(`${lab.srv.url}/acs/v2/areq`, {
        method: 'POST',
        body: areq({ threeDSServerTransID }),
      })
      // The AReq's IDs are echoed, as for any Erro to a well-formed AReq.
      await expectStorageErro(res, 'AReq', { threeDSServerTransID })

      const page = await fetch(challenge.acsURL, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ creq: browserCReq(challenge, '05') }).toString(),
      })
      await expectStorageErro(page, 'CReq')

      const cres = await sdk.send()
      expect(cres.httpStatus).toBe(200)
      expect(cres.contentType).toBe('application/json; charset=utf-8')
      expect(cres.message).toMatchObject(storageErro('CReq'))
    } finally {
      db.pragma('query_only = OFF')
    }
    const res = await fetch(`${lab.srv.url}/acs/v2/areq`, { method: 'POST', body: areq() })
    expect(await res.json()).toMatchObject({ messageType: 'ARes' })
  })
})
