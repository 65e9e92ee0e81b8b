import { afterAll, describe, expect, it } from 'vitest'
import { ADMIN, type TestServer } from '../helpers/server'
import { CARDS, ChallengeBrowser, labOver, restart, startLab, type Lab } from './acs-lab'

/**
 * A restart in the middle of a challenge loses nothing: the challenge state, the code hash and the timers
 * are rows, so a new server process on the same data folder finishes the challenge (and the RReq goes out
 * exactly once), and deadlines that passed while it was down fire at start.
 */
let srv: TestServer | undefined
afterAll(async () => {
  await srv?.stop()
})

describe('restart', () => {
  it('finishes a browser challenge started before the restart, and fires a timer that expired while down', async () => {
    const lab: Lab = await startLab()
    srv = lab.srv
    await lab.settings({ firstCReqTimeoutSeconds: 2 })
    const p = await lab.purchase({ pan: CARDS.visaEn.pan, amount: 3100, flow: 'challenge' })
    const idle = await lab.purchase({ pan: CARDS.mastercardDe.pan, amount: 3100, flow: 'challenge' })
    const browser = new ChallengeBrowser(String(p.ares.acsURL))
    await browser.open(p.creq!, p.threeDSSessionData)
    const code = await lab.lastCode(CARDS.visaEn.mobile)

    srv = await restart(srv)
    const after = await labOver(srv)
    await new Promise((r) => setTimeout(r, 2200))
    // The page the cardholder still holds (acsTransID + nonce) continues on the new process.
    await browser.act('submit', code)
    const cres = await browser.deliverFinal()
    expect(cres).toMatchObject({ transStatus: 'Y', acsTransID: p.acsTransID })
    const rreqs = await after.rreqs(p.id)
    expect(rreqs).toHaveLength(1)
    expect(rreqs[0]).toMatchObject({ transStatus: 'Y', interactionCounter: '01' })
    expect((await after.get(p.id)).notification).toMatchObject({ sessionDataIntact: true })
    const [timedOut] = await after.rreqs(idle.id)
    expect(timedOut).toMatchObject({ transStatus: 'U', challengeCancel: '05' })
    expect(await after.srv.login(ADMIN.username, ADMIN.password)).toBeTruthy()
  })
})

describe('RReq outbox', () => {
  it('retries an unreachable DS with back-off and raises an alarm when it gives up', async () => {
    const lab = await startLab()
    try {
      await lab.settings({ rreqMaxAttempts: 2, rreqRetryBaseMs: 100, firstCReqTimeoutSeconds: 1 })
      const { makeAReq } = await import('../../src-server/acs/fixtures/areq')
      const areq = {
        ...makeAReq('2.2.0', 'BRW', 'PA'),
        acctNumber: CARDS.visaEn.pan,
        threeDSRequestorChallengeInd: '04',
        dsURL: 'http://127.0.0.1:9/rreq',
        threeDSServerTransID: crypto.randomUUID(),
      }
      const ares = await (
        await fetch(`${lab.srv.url}/acs/v2/areq`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(areq),
        })
      ).json()
      expect(ares.transStatus).toBe('C')
      let trace: { rreq?: { status: string; attempts: number; lastError?: string } } = {}
      for (let i = 0; i < 60 && trace.rreq?.status !== 'failed'; i++) {
        await new Promise((r) => setTimeout(r, 100))
        trace = await (await lab.srv.api(`/api/transactions/${ares.acsTransID}`, { token: lab.token })).json()
      }
      expect(trace.rreq).toMatchObject({
        status: 'failed',
        attempts: 2,
        lastError: expect.stringMatching(/^DS unreachable: .*ECONNREFUSED/),
      })
      const alarms = await (await lab.srv.api('/api/alarms', { token: lab.token })).json()
      expect(
        alarms.find(
          (a: { kind: string; ref: string }) => a.kind === 'rreq-undelivered' && a.ref === ares.acsTransID,
        ),
      ).toBeTruthy()
    } finally {
      await lab.srv.stop()
    }
  })
})

describe('rule sets through the console API', () => {
  it('create, activate (audited), decide with it, roll back', async () => {
    const lab = await startLab()
    try {
      const token = lab.token
      const call = (path: string, json?: unknown) =>
        lab.srv.api(path, { method: json === undefined ? 'GET' : 'POST', token, json })
      const demo = (await (await call('/api/risk/rule-sets')).json())[0]
      const strict = {
        ...demo.ruleSet,
        version: 2,
        rules: [
          { id: 'deny-all', version: 1, when: [], outcome: { transStatus: 'R', transStatusReason: '12' } },
        ],
      }
      const bad = await call('/api/risk/rule-sets/validate', {
        ...strict,
        defaultOutcome: { transStatus: 'N' },
      })
      expect((await bad.json()).errors[0]).toMatch(/needs a transStatusReason/)
      expect((await call('/api/risk/rule-sets', strict)).status).toBe(201)
      expect((await call('/api/risk/rule-sets/demo/versions/2/activate', {})).status).toBe(200)
      const p = await lab.purchase({ pan: CARDS.visaEn.pan, amount: 100, flow: 'frictionless' })
      expect(p.ares).toMatchObject({ transStatus: 'R', transStatusReason: '12' })
      const trace = await (await lab.srv.api(`/api/transactions/${p.acsTransID}`, { token })).json()
      expect(trace.transaction).toMatchObject({ ruleSetId: 'demo', ruleSetVersion: 2, ruleId: 'deny-all' })
      expect((await call('/api/risk/rule-sets/demo/rollback', {})).status).toBe(200)
      expect(
        (await lab.purchase({ pan: CARDS.visaEn.pan, amount: 100, flow: 'frictionless' })).ares.transStatus,
      ).toBe('Y')
      const audit = lab.srv.services.db
        .prepare(`SELECT action FROM audit_log WHERE action LIKE 'risk.%' ORDER BY id`)
        .pluck()
        .all()
      expect(audit).toEqual([
        'risk.rule-set.create',
        'risk.rule-set.activate',
        'risk.rule-set.create',
        'risk.rule-set.activate',
        'risk.rule-set.rollback',
      ])
      // Keyset paging over the two transactions: one per page, newest first, then no further page.
      const list = await (await lab.srv.api('/api/transactions?limit=1', { token })).json()
      expect(list.items[0]).toMatchObject({ status: 'Y' })
      const page2 = await (
        await lab.srv.api(`/api/transactions?limit=1&cursor=${list.next}`, { token })
      ).json()
      expect(page2.items[0]).toMatchObject({ status: 'R', ruleId: 'deny-all' })
      expect(page2.next).toBeUndefined()
      const filtered = await (await lab.srv.api('/api/transactions?status=R&brand=visa', { token })).json()
      expect(filtered.items.map((t: { acsTransID: string }) => t.acsTransID)).toEqual([p.acsTransID])
    } finally {
      await lab.srv.stop()
    }
  })
})
