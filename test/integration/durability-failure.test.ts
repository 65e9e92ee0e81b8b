import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeAReq } from '../../src-server/acs/fixtures/areq'
import type { Durability } from '../../src-server/store/durability'
import { browserCReq } from '../../src-server/lab/three-ds-server'
import { CARDS, labOver, type Lab } from './acs-lab'
import { startTestServer } from '../helpers/server'

/**
 * A write the server cannot make durable is never acknowledged: when the WAL's fdatasync fails (as it does on a
 * failing disk: EIO), an AReq (answered ahead of Koa) and a browser CReq get an Erro 403 (transient system
 * failure; never a 5xx to a 3DS counterparty) and a console write a 503 storage-failure problem, instead of
 * their answers; the failure is logged as fatal, and the server answers normally again once syncs succeed.
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

describe('a failing disk', () => {
  it('gets an Erro 403 instead of an ARes or a challenge page, a 503 instead of a console answer, then recovers', async () => {
    const challenge = (await (
      await fetch(`${lab.srv.url}/acs/v2/areq`, {
        method: 'POST',
        body: areq({ threeDSRequestorChallengeInd: '04' }),
      })
    ).json()) as Record<string, string>
    expect(challenge.transStatus).toBe('C')
    const restore = failSyncs(lab.srv.services.durability)
    try {
      const res = await fetch(`${lab.srv.url}/acs/v2/areq`, { method: 'POST', body: areq() })
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({
        messageType: 'Erro',
        errorCode: '403',
        errorComponent: 'A',
        errorMessageType: 'AReq',
      })
      const creq = browserCReq(challenge, '05')
      const page = await fetch(challenge.acsURL, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ creq }).toString(),
      })
      expect(page.status).toBe(200)
      expect(await page.json()).toMatchObject({
        messageType: 'Erro',
        errorCode: '403',
        errorMessageType: 'CReq',
      })
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
})
