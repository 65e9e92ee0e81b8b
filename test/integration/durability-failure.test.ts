import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeAReq } from '../../src-server/acs/fixtures/areq'
import type { Durability } from '../../src-server/store/durability'
import { CARDS, labOver, type Lab } from './acs-lab'
import { startTestServer } from '../helpers/server'

/**
 * A write the server cannot make durable is never acknowledged: when the WAL's fdatasync fails (as it does on a
 * failing disk: EIO), an AReq (answered ahead of Koa) and a console write both get a 503 storage-failure
 * problem instead of their answer, the failure is logged as fatal, and the server answers normally again once
 * the syncs succeed.
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

const areq = () =>
  JSON.stringify({
    ...makeAReq('2.2.0', 'BRW', 'PA'),
    acctNumber: CARDS.visaEn.pan,
    dsURL: `${lab.srv.url}/lab/ds/rreq`,
    threeDSServerTransID: crypto.randomUUID(),
  })

describe('a failing disk', () => {
  it('gets a 503 storage failure instead of an ARes or a console answer, then recovers', async () => {
    const restore = failSyncs(lab.srv.services.durability)
    try {
      const res = await fetch(`${lab.srv.url}/acs/v2/areq`, { method: 'POST', body: areq() })
      expect(res.status).toBe(503)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(await res.json()).toMatchObject({ status: 503, title: 'Storage failure' })
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
