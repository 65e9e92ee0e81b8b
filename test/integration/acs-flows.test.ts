import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeAReq } from '../../src-server/acs/fixtures/areq'
import { CARDS, ChallengeBrowser, startLab, type Lab } from './acs-lab'

/**
 * Whole EMV 3DS flows over HTTP: the lab 3DS Server sends real AReqs to /acs/v2/areq, the test plays the
 * cardholder's browser (form posts to acsURL, the code read from the virtual phone), and every challenge
 * is checked by the RReq the lab DS received.
 */
let lab: Lab
beforeAll(async () => {
  lab = await startLab()
})
afterAll(async () => {
  await lab.srv.stop()
})

const AV = /^[A-Za-z0-9+/]{27}[A-Za-z0-9+/=]$/

describe('frictionless', () => {
  it('answers Y with a CAVV for a low amount when no challenge is requested, and sends no RReq', async () => {
    const p = await lab.purchase({ pan: CARDS.visaEn.pan, amount: 1234, flow: 'frictionless' })
    expect(p.ares).toMatchObject({ messageType: 'ARes', transStatus: 'Y', eci: '05' })
    expect(p.ares.authenticationValue).toMatch(AV)
    const trace = await (await lab.srv.api(`/api/transactions/${p.acsTransID}`, { token: lab.token })).json()
    expect(trace.transaction).toMatchObject({
      status: 'Y',
      ruleId: 'low-value-eur',
      ruleSetId: 'demo',
      panMasked: '400000******0002',
      amount: 1234,
      currency: '978',
    })
    const areq = trace.messages.find((m: { messageType: string }) => m.messageType === 'AReq')
    expect(areq.body.acctNumber).toBe('400000******0002')
    expect(JSON.stringify(trace)).not.toContain(CARDS.visaEn.pan)
    await new Promise((r) => setTimeout(r, 300))
    expect((await lab.get(p.id)).rreqs).toEqual([])
  })

  it('Mastercard gets an SPA2 AAV and ECI 02', async () => {
    const p = await lab.purchase({ pan: CARDS.mastercardDe.pan, amount: 999, flow: 'frictionless' })
    expect(p.ares).toMatchObject({ transStatus: 'Y', eci: '02' })
    expect(Buffer.from(String(p.ares.authenticationValue), 'base64')[0]).toBe(0xc6)
  })

  it('a suspended card is refused (R, 11) without a challenge; an unenrolled card in range gets attempts (A)', async () => {
    const r = await lab.purchase({ pan: CARDS.suspended.pan, amount: 100, flow: 'challenge' })
    expect(r.ares).toMatchObject({ transStatus: 'R', transStatusReason: '11' })
    const a = await lab.purchase({ pan: '4000000000000010', amount: 100, flow: 'challenge' })
    expect(a.ares).toMatchObject({ transStatus: 'A', eci: '06' })
    expect(a.ares.authenticationValue).toMatch(AV)
  })

  it("a range's own ECI table overrides the brand's; unknown generators and malformed ECIs are refused", async () => {
    const api = (path: string, json: unknown) => lab.srv.api(path, { method: 'POST', token: lab.token, json })
    const issuer = (await (
      await api('/api/issuers', { name: 'ECI Bank', acsReferenceNumber: 'ACS_E' })
    ).json()) as {
      id: number
    }
    const range = (authValue: unknown) => ({
      issuerId: issuer.id,
      brand: 'visa',
      startPrefix: '498888',
      endPrefix: '498888',
      authValue,
    })
    expect((await api('/api/card-ranges', range({ generator: 'visa-cavx' }))).status).toBe(400)
    expect((await api('/api/card-ranges', range({ eci: { A: '6' } }))).status).toBe(400)
    const created = await api('/api/card-ranges', range({ generator: 'visa-cavv', eci: { A: '16' } }))
    expect(created.status).toBe(201)
    const { id } = (await created.json()) as { id: number }
    expect((await api(`/api/card-ranges/${id}/keys/generate`, {})).status).toBeLessThan(300)
    // Not enrolled, in range: attempts, with the range's ECI instead of Visa's 06.
    const a = await lab.purchase({ pan: '4988880000000003', amount: 100, flow: 'challenge' })
    expect(a.ares).toMatchObject({ transStatus: 'A', eci: '16' })
    expect(a.ares.authenticationValue).toMatch(AV)
    // Changed later: the next AReq uses the new table; a generator without keys fails closed (U/22).
    const patch = (authValue: unknown) =>
      lab.srv.api(`/api/card-ranges/${id}`, { method: 'PATCH', token: lab.token, json: { authValue } })
    expect((await patch({ generator: 'visa-cavv', eci: { A: '26' } })).status).toBe(200)
    const b = await lab.purchase({ pan: '4988880000000003', amount: 100, flow: 'challenge' })
    expect(b.ares).toMatchObject({ transStatus: 'A', eci: '26' })
    expect((await patch({ generator: 'mastercard-spa2-dstransid' })).status).toBe(200)
    const c = await lab.purchase({ pan: '4988880000000003', amount: 100, flow: 'challenge' })
    expect(c.ares).toMatchObject({ transStatus: 'U', transStatusReason: '22' })
  })

  it('a requestor asking for no challenge (06) where the rules would challenge gets I, counted as informational', async () => {
    type Counts = { brand: string; total: number; unavailable: number; informational: number }
    const visaToday = async () => {
      const stats = await (await lab.srv.api('/api/statistics', { token: lab.token })).json()
      return (
        (stats.today as Counts[]).find((s) => s.brand === 'visa') ?? {
          total: 0,
          unavailable: 0,
          informational: 0,
        }
      )
    }
    const before = await visaToday()
    // An enrolled card the demo rules would challenge (no rule holds, the default challenges).
    const areq = makeAReq('2.2.0', 'BRW', 'PA')
    Object.assign(areq, {
      acctNumber: CARDS.visaEn.pan,
      dsURL: `${lab.srv.url}/lab/ds/rreq`,
      threeDSServerTransID: crypto.randomUUID(),
      threeDSRequestorChallengeInd: '06',
    })
    const res = await fetch(`${lab.srv.url}/acs/v2/areq`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(areq),
    })
    const ares = (await res.json()) as Record<string, unknown>
    expect(ares).toMatchObject({ messageType: 'ARes', transStatus: 'I' })
    const trace = await (
      await lab.srv.api(`/api/transactions/${String(ares.acsTransID)}`, { token: lab.token })
    ).json()
    expect(trace.transaction).toMatchObject({ status: 'I', outcome: 'informational' })
    const after = await visaToday()
    expect(after).toMatchObject({
      total: before.total + 1,
      unavailable: before.unavailable,
      informational: before.informational + 1,
    })
  })

  it('a cardholder without a method passes frictionless even when the rules would challenge', async () => {
    const p = await lab.purchase({ pan: CARDS.noMethod.pan, amount: 500_000, flow: 'challenge' })
    expect(p.ares).toMatchObject({ transStatus: 'Y', eci: '05' })
  })
})

describe('browser challenge', () => {
  it('C → OTP page → right code → RReq Y before the final page → CRes Y with threeDSSessionData unchanged', async () => {
    const p = await lab.purchase({
      pan: CARDS.visaFr.pan,
      amount: 45_600,
      flow: 'challenge',
      challengeWindowSize: '02',
      browserLanguage: 'fr-FR',
    })
    expect(p.ares).toMatchObject({ transStatus: 'C', acsChallengeMandated: 'Y', authenticationType: '02' })
    const browser = new ChallengeBrowser(String(p.ares.acsURL))
    await browser.open(p.creq!, p.threeDSSessionData)
    expect(browser.headers?.get('x-frame-options')).toBeNull()
    expect(browser.headers?.get('content-security-policy')).not.toContain('frame-ancestors')
    expect(browser.headers?.get('content-security-policy')).toContain("default-src 'none'")
    expect(browser.html.match(/<input type="text"/g)).toHaveLength(1)
    expect(browser.html).toContain('Valider')
    const sms = (await lab.smsTexts(CARDS.visaFr.mobile)).at(-1)!
    expect(sms).toMatch(/^Votre code \d{6} pour EUR 456\.00 chez Lab Merchant, carte \*1111\./)
    await browser.act('submit', await lab.lastCode(CARDS.visaFr.mobile))
    // The RReq went out before the final page was rendered.
    const rreqs = (await lab.get(p.id)).rreqs
    expect(rreqs).toHaveLength(1)
    expect(rreqs[0]).toMatchObject({
      messageType: 'RReq',
      transStatus: 'Y',
      acsTransID: p.acsTransID,
      interactionCounter: '01',
      authenticationType: '02',
      eci: '05',
    })
    expect(rreqs[0].authenticationValue).toMatch(AV)
    const cres = await browser.deliverFinal()
    expect(cres).toMatchObject({
      messageType: 'CRes',
      transStatus: 'Y',
      challengeCompletionInd: 'Y',
      acsTransID: p.acsTransID,
    })
    const after = await lab.get(p.id)
    expect(after.notification).toMatchObject({ sessionDataIntact: true })
    const stats = await (await lab.srv.api('/api/statistics', { token: lab.token })).json()
    expect(stats.today.find((s: { brand: string }) => s.brand === 'visa').successful).toBeGreaterThan(0)
  })

  it('wrong code until the attempts run out → N, interactionCounter 03, exactly one RReq', async () => {
    const p = await lab.purchase({ pan: CARDS.visaEn.pan, amount: 45_600, flow: 'challenge' })
    const browser = new ChallengeBrowser(String(p.ares.acsURL))
    await browser.open(p.creq!)
    const code = await lab.lastCode(CARDS.visaEn.mobile)
    const wrong = code === '000000' ? '111111' : '000000'
    await browser.act('submit', wrong)
    expect(browser.html).toContain('2 attempts left')
    await browser.act('submit', wrong)
    expect(browser.html).toContain('1 attempt left')
    await browser.act('submit', wrong)
    const cres = await browser.deliverFinal()
    expect(cres.transStatus).toBe('N')
    const rreqs = await lab.rreqs(p.id)
    expect(rreqs).toHaveLength(1)
    expect(rreqs[0]).toMatchObject({ transStatus: 'N', transStatusReason: '01', interactionCounter: '03' })
    // The right code changes nothing once the transaction ended: the final answer again, no second RReq.
    const late = await fetch(String(p.ares.acsURL), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        acsTransID: p.acsTransID!,
        nonce: 'any',
        action: 'submit',
        otp: code,
      }).toString(),
    })
    expect(await late.text()).toContain('name="cres"')
    await new Promise((r) => setTimeout(r, 300))
    expect(await lab.rreqs(p.id)).toHaveLength(1)
  })

  it('resend sends a new code (the old one no longer works), cancel ends with challengeCancel 01', async () => {
    const p = await lab.purchase({ pan: CARDS.mastercard2.pan, amount: 2000, flow: 'challenge' })
    const browser = new ChallengeBrowser(String(p.ares.acsURL))
    await browser.open(p.creq!)
    const first = await lab.lastCode(CARDS.mastercard2.mobile)
    await browser.act('resend')
    expect(browser.html).toContain('A new code has been sent')
    const second = await lab.lastCode(CARDS.mastercard2.mobile)
    if (first !== second) {
      await browser.act('submit', first)
      expect(browser.html).toContain('2 attempts left')
    }
    await browser.act('cancel')
    expect((await browser.deliverFinal()).transStatus).toBe('N')
    const rreqs = await lab.rreqs(p.id)
    expect(rreqs).toHaveLength(1)
    expect(rreqs[0]).toMatchObject({
      transStatus: 'N',
      challengeCancel: '01',
      interactionCounter: first !== second ? '01' : '00',
    })
  })

  it("speaks the browser's language when it has its texts, else the cardholder's", async () => {
    const page = async (pan: string, browserLanguage: string) => {
      const p = await lab.purchase({ pan, amount: 1_000, flow: 'challenge', browserLanguage })
      const browser = new ChallengeBrowser(String(p.ares.acsURL))
      await browser.open(p.creq!, p.threeDSSessionData)
      return browser.html
    }
    // An English cardholder in a German browser, a French one in a Spanish browser (no Spanish texts).
    expect(await page(CARDS.visaEn.pan, 'de-AT')).toContain('<html lang="de">')
    expect(await page(CARDS.visaFr.pan, 'es-ES')).toContain('<html lang="fr">')
    expect(await page(CARDS.visaFr.pan, 'en-US')).toContain('<html lang="en">')
  })

  it('a stale nonce acts on nothing', async () => {
    const p = await lab.purchase({ pan: CARDS.visaEn.pan, amount: 2000, flow: 'challenge' })
    const browser = new ChallengeBrowser(String(p.ares.acsURL))
    await browser.open(p.creq!)
    const res = await fetch(String(p.ares.acsURL), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ acsTransID: p.acsTransID!, nonce: 'forged', action: 'cancel' }).toString(),
    })
    expect(await res.text()).toContain('name="otp"')
    // The forged post rotated the nonce, so the page the cardholder holds is stale too: shown again, not acted on.
    const code = await lab.lastCode(CARDS.visaEn.mobile)
    await browser.act('submit', code)
    expect(browser.html).toContain('name="otp"')
    expect(browser.html).not.toContain('attempts left')
    await browser.act('submit', code)
    expect((await browser.deliverFinal()).transStatus).toBe('Y')
    expect((await lab.rreqs(p.id))[0]).toMatchObject({ transStatus: 'Y', interactionCounter: '01' })
  })
})

describe('timers', () => {
  it('no CReq in time → RReq U with challengeCancel 05; a challenge left open → challengeCancel 04', async () => {
    await lab.settings({ firstCReqTimeoutSeconds: 1, challengeTimeoutSeconds: 1 })
    try {
      const idle = await lab.purchase({ pan: CARDS.visaEn.pan, amount: 2000, flow: 'challenge' })
      const open = await lab.purchase({ pan: CARDS.visaEn.pan, amount: 2000, flow: 'challenge' })
      await new ChallengeBrowser(String(open.ares.acsURL)).open(open.creq!)
      const [a] = await lab.rreqs(idle.id)
      expect(a).toMatchObject({
        transStatus: 'U',
        transStatusReason: '14',
        challengeCancel: '05',
        interactionCounter: '00',
      })
      const [b] = await lab.rreqs(open.id)
      expect(b).toMatchObject({ transStatus: 'U', transStatusReason: '14', challengeCancel: '04' })
      const trace = await (
        await lab.srv.api(`/api/transactions/${open.acsTransID}`, { token: lab.token })
      ).json()
      expect(trace.transaction).toMatchObject({ outcome: 'incomplete', challengeCancel: '04' })
      // A late CReq gets the final answer, not a new challenge, with the requestor's session data back.
      const late = new ChallengeBrowser(String(idle.ares.acsURL))
      await late.open(idle.creq!, 'REQUESTOR-STATE-123')
      expect(JSON.parse(Buffer.from(late.finalForm().fields.cres, 'base64url').toString()).transStatus).toBe(
        'U',
      )
      expect(late.finalForm().fields.threeDSSessionData).toBe('REQUESTOR-STATE-123')
      expect(await lab.rreqs(idle.id)).toHaveLength(1)
    } finally {
      await lab.settings({ firstCReqTimeoutSeconds: 30, challengeTimeoutSeconds: 600 })
    }
  })
})

describe('decoupled', () => {
  it('ARes D; the cardholder replies with the code by SMS → RReq Y without interactionCounter', async () => {
    const p = await lab.purchase({ pan: CARDS.visaEn.pan, amount: 77_700, flow: 'decoupled' })
    expect(p.ares).toMatchObject({ transStatus: 'D', acsDecConInd: 'Y', authenticationType: '04' })
    expect(p.ares.cardholderInfo).toMatch(/replying to the SMS/)
    const code = await lab.lastCode(CARDS.visaEn.mobile)
    expect((await lab.smsTexts(CARDS.visaEn.mobile)).at(-1)).toContain('Reply with this code to approve')
    const reply = await lab.srv.api('/api/virtual-phone/reply', {
      method: 'POST',
      token: lab.token,
      json: { from: CARDS.visaEn.mobile, text: code },
    })
    expect((await reply.json()).outcome).toBe('matched')
    const [rreq] = await lab.rreqs(p.id)
    expect(rreq).toMatchObject({ transStatus: 'Y', authenticationType: '04', eci: '05' })
    expect(rreq.interactionCounter).toBeUndefined()
  })

  it("stops waiting 10 s before the requestor's threeDSRequestorDecMaxTime, so the RReq arrives within it", async () => {
    const p = await lab.purchase({ pan: CARDS.visaEn.pan, amount: 100, flow: 'decoupled', decMaxMinutes: 2 })
    const row = lab.srv.services.db
      .prepare('SELECT created_at, deadline_at FROM acs_challenges WHERE acs_trans_id = ?')
      .get(p.acsTransID) as { created_at: number; deadline_at: number }
    expect(row.deadline_at - row.created_at).toBeGreaterThan(109_000)
    expect(row.deadline_at - row.created_at).toBeLessThanOrEqual(110_000)
  })

  it('NO refuses; silence until the decoupled maximum → challengeCancel 03', async () => {
    const refused = await lab.purchase({ pan: CARDS.visaEn.pan, amount: 100, flow: 'decoupled' })
    await lab.srv.api('/api/virtual-phone/reply', {
      method: 'POST',
      token: lab.token,
      json: { from: CARDS.visaEn.mobile, text: 'NO' },
    })
    expect((await lab.rreqs(refused.id))[0]).toMatchObject({ transStatus: 'N', transStatusReason: '01' })
    await lab.settings({ decoupledCapSeconds: 1 })
    try {
      const silent = await lab.purchase({ pan: CARDS.visaEn.pan, amount: 100, flow: 'decoupled' })
      expect((await lab.rreqs(silent.id))[0]).toMatchObject({
        transStatus: 'U',
        challengeCancel: '03',
        transStatusReason: '24',
      })
    } finally {
      await lab.settings({ decoupledCapSeconds: 604_800 })
    }
  })
})

describe('server time', () => {
  it('keeps each ACS endpoint’s server time, RReq round trip included, and starts afresh on an audited reset', async () => {
    const reset = await lab.srv.api('/api/acs/latency/reset', { token: lab.token, method: 'POST' })
    expect(reset.status).toBe(200)
    expect(await reset.json()).not.toHaveProperty('areq')
    const p = await lab.purchase({ pan: CARDS.visaEn.pan, amount: 45_600, flow: 'challenge' })
    const browser = new ChallengeBrowser(String(p.ares.acsURL))
    await browser.open(p.creq!)
    await browser.act('submit', await lab.lastCode(CARDS.visaEn.mobile))
    const latency = await (await lab.srv.api('/api/acs/latency', { token: lab.token })).json()
    expect(latency.areq.count).toBe(1)
    expect(latency.browserCReq.count).toBe(1)
    // The code submission, which waited for the lab DS's RRes before answering.
    expect(latency.browserStep.count).toBe(1)
    expect(latency.browserStep.max).toBeGreaterThanOrEqual(latency.browserStep.p50)
    expect(latency.browserStep.p50).toBeGreaterThan(0)
    // The whole challenge: its three requests summed, filed once when the final page went out.
    expect(latency.browserChallenge.count).toBe(1)
    const sum = latency.areq.max + latency.browserCReq.max + latency.browserStep.max
    expect(latency.browserChallenge.max).toBeGreaterThan(0.97 * sum)
    expect(latency.browserChallenge.max).toBeLessThan(1.03 * sum)
    // Showing the final page again (a reload) adds no second challenge.
    const reload = await fetch(String(p.ares.acsURL), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ acsTransID: String(p.ares.acsTransID), action: 'submit' }).toString(),
    })
    expect(await reload.text()).toContain('name="cres"')
    const again = await (await lab.srv.api('/api/acs/latency', { token: lab.token })).json()
    expect(again.browserChallenge.count).toBe(1)
    expect(latency.appChallenge).toBeUndefined()
    const audit = await (
      await lab.srv.api('/api/audit?action=acs.latency.reset', { token: lab.token })
    ).json()
    expect(JSON.stringify(audit)).toContain('acs.latency.reset')
  })
})
