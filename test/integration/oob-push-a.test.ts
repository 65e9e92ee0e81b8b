import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeAReq } from '../../src-server/acs/fixtures/areq'
import { maskDigitRuns } from '../../src-server/crypto/mask'
import { cresViolations } from '../../src-server/acs/protocol/cres'
import { SdkEmulator } from '../../src-server/lab/sdk'
import { CARDS, ChallengeBrowser, startLab, type Lab } from './acs-lab'
import { lastReference, postStep, reply, useMethod, waitFor } from './oob-lab'

/**
 * SMS Push A (method sms-reply) end to end: the lab sends real AReqs, the test plays the browser, the SDK
 * and the phone (replies injected through the virtual phone API), and each result is checked by the RReq
 * the lab DS received.
 */
let lab: Lab
const phone = CARDS.mastercard2.mobile
const pan = CARDS.mastercard2.pan

beforeAll(async () => {
  lab = await startLab()
  useMethod(lab, phone, 'sms-reply')
})
afterAll(async () => {
  await lab.srv.stop()
})

async function browserChallenge() {
  const p = await lab.purchase({ pan, amount: 12_345, flow: 'challenge', merchantName: 'Book Shop' })
  expect(p.ares).toMatchObject({ transStatus: 'C', authenticationType: '03' })
  const browser = new ChallengeBrowser(String(p.ares.acsURL))
  await browser.open(p.creq!, p.threeDSSessionData)
  const ref = await lastReference(lab, phone)
  return { p, browser, ref }
}

describe('browser OOB (acsUiType 04 page)', () => {
  it('shows the reference and waits; nothing final before the reply; YES <ref> → RReq Y; the poll says done; Continue gives CRes Y', async () => {
    const { p, browser, ref } = await browserChallenge()
    expect(ref).toMatch(/^[A-Z0-9]{4}$/)
    const sms = (await lab.smsTexts(phone)).at(-1)!
    expect(sms).toContain(`YES ${ref}`)
    expect(sms).toContain('EUR 123.45')
    expect(sms).toContain('Book Shop')
    expect(sms).toContain('*0010')
    expect(sms).not.toContain(pan)
    expect(browser.html).toContain(`<strong class="reference">${ref}</strong>`)
    expect(browser.html).toMatch(
      /<button type="submit" name="action" value="continue"[^>]*>Continue<\/button>/,
    )
    expect(browser.headers?.get('content-security-policy')).toContain("connect-src 'self'")
    const poll = /var u="([^"]+)"/.exec(browser.html)![1].replace(/\\u0026/g, '&')
    const status = async () => (await (await fetch(new URL(poll, lab.srv.url))).json()) as { done: boolean }
    expect(await status()).toEqual({ done: false })

    // Continue before the reply: still waiting, no RReq, no CRes.
    const early = await postStep(String(p.ares.acsURL), browser.html, 'continue')
    expect(early).toContain(`<strong class="reference">${ref}</strong>`)
    await new Promise((r) => setTimeout(r, 300))
    expect((await lab.get(p.id)).rreqs).toEqual([])

    expect(await reply(lab, phone, `YES ${ref}`)).toMatchObject({ outcome: 'matched', ref: p.acsTransID })
    const rreqs = await lab.rreqs(p.id)
    expect(rreqs).toHaveLength(1)
    expect(rreqs[0]).toMatchObject({ transStatus: 'Y', authenticationType: '03', interactionCounter: '01' })
    // The page still holds the old nonce: its poll answers done, and Continue finishes.
    const current = /name="nonce" value="([^"]+)"/.exec(early)![1]
    const poll2 = new URL(poll, lab.srv.url)
    poll2.searchParams.set('nonce', current)
    expect(await (await fetch(poll2)).json()).toEqual({ done: true })
    browser.html = await postStep(String(p.ares.acsURL), early, 'continue')
    const cres = await browser.deliverFinal()
    expect(cres).toMatchObject({ messageType: 'CRes', transStatus: 'Y', challengeCompletionInd: 'Y' })
  })

  it('NO <ref> ends it as N; a second reply to the same reference is recorded as expired', async () => {
    const { p, ref } = await browserChallenge()
    expect((await reply(lab, phone, `no ${ref.toLowerCase()}`)).outcome).toBe('matched')
    expect((await lab.rreqs(p.id))[0]).toMatchObject({ transStatus: 'N', transStatusReason: '01' })
    expect(await reply(lab, phone, `YES ${ref}`)).toMatchObject({ outcome: 'expired', ref: p.acsTransID })
    expect((await lab.get(p.id)).rreqs).toHaveLength(1)
  })

  it('odd case, extra spaces, punctuation, full-width letters and zero-width characters still match', async () => {
    for (const form of [
      (r: string) => `  yes   ${r.toLowerCase()}  `,
      (r: string) => `Yes, ${r}!`,
      (r: string) =>
        `\u200bＹＥＳ\u00a0${r.replace(/[A-Z0-9]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0))}`,
      (r: string) => ` ${r} `,
    ]) {
      const { p, ref } = await browserChallenge()
      expect(await reply(lab, phone, form(ref))).toMatchObject({ outcome: 'matched', ref: p.acsTransID })
      expect((await lab.rreqs(p.id))[0]).toMatchObject({ transStatus: 'Y' })
    }
  })

  it('a reply from another number, an unknown reference, a bare YES and garbage never decide; the challenge still ends by the real reply', async () => {
    const { p, ref } = await browserChallenge()
    expect(await reply(lab, CARDS.visaEn.mobile, `YES ${ref}`)).toMatchObject({ outcome: 'unmatched' })
    expect(await reply(lab, '+15550000000', `YES ${ref}`)).toMatchObject({ outcome: 'unmatched' })
    expect(await reply(lab, phone, 'YES ZZZZ')).toMatchObject({ outcome: 'unmatched' })
    expect(await reply(lab, phone, 'YES')).toMatchObject({ outcome: 'unmatched' })
    expect(await reply(lab, phone, '\u0000\uffff🙂 ✓ ☃ YES YES YES')).toMatchObject({ outcome: 'unmatched' })
    expect(await reply(lab, phone, '')).toMatchObject({ outcome: 'unmatched' })
    await new Promise((r) => setTimeout(r, 200))
    expect((await lab.get(p.id)).rreqs).toEqual([])
    // Every one of them is kept in the inbox for the Incoming Verification report. The inbox masks
    // digit runs, so a reference drawn all in digits (1 in 256) shows masked there too.
    const inbox = (await (
      await lab.srv.api('/api/sms/inbox?outcome=unmatched', { token: lab.token })
    ).json()) as { text: string }[]
    expect(inbox.map((m) => m.text)).toEqual(
      expect.arrayContaining(['YES ZZZZ', 'YES', maskDigitRuns(`YES ${ref}`)]),
    )
    expect((await reply(lab, phone, `YES ${ref}`)).outcome).toBe('matched')
    expect((await lab.rreqs(p.id))[0]).toMatchObject({ transStatus: 'Y' })
  })

  it('a reply after the challenge timed out is recorded as expired and changes nothing', async () => {
    await lab.settings({ challengeTimeoutSeconds: 1 })
    try {
      const { p, ref } = await browserChallenge()
      const rreqs = await lab.rreqs(p.id)
      expect(rreqs[0]).toMatchObject({ transStatus: 'U', challengeCancel: '04' })
      expect(await reply(lab, phone, `YES ${ref}`)).toMatchObject({ outcome: 'expired', ref: p.acsTransID })
      expect((await lab.get(p.id)).rreqs).toHaveLength(1)
    } finally {
      await lab.settings({ challengeTimeoutSeconds: 600 })
    }
  })
})

describe('app OOB', () => {
  function appAReq(sdk: SdkEmulator): Record<string, unknown> {
    const areq = makeAReq('2.2.0', 'APP', 'PA')
    return Object.assign(areq, {
      threeDSServerTransID: crypto.randomUUID(),
      dsTransID: crypto.randomUUID(),
      dsURL: `${lab.srv.url}/lab/ds/rreq`,
      acctNumber: pan,
      threeDSRequestorChallengeInd: '04',
      sdkTransID: sdk.sdkTransID,
      sdkReferenceNumber: sdk.sdkReferenceNumber,
      sdkEphemPubKey: sdk.publicJwk,
    })
  }

  async function sendAReq(areq: Record<string, unknown>): Promise<Record<string, unknown>> {
    const res = await fetch(`${lab.srv.url}/acs/v2/areq`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(areq),
    })
    return (await res.json()) as Record<string, unknown>
  }

  async function appPurchase() {
    const roots = ['visa', 'mastercard'].map((b) => lab.srv.services.acs.keys.rootPem(b)!)
    const sdk = new SdkEmulator()
    const ares = await sendAReq(appAReq(sdk))
    // The ARes announces the native out-of-band template the CRes then uses (acsUiType 04).
    expect(ares).toMatchObject({
      transStatus: 'C',
      authenticationType: '03',
      acsRenderingType: { acsInterface: '01', acsUiTemplate: '04' },
    })
    await sdk.accept(ares, roots)
    const rreqs = () =>
      lab.srv.services.db
        .prepare('SELECT body FROM lab_ds_rreqs WHERE acs_trans_id = ?')
        .pluck()
        .all(ares.acsTransID)
        .map((b) => JSON.parse(b as string) as Record<string, unknown>)
    return { sdk, ares, rreqs }
  }

  it('an SDK without the native out-of-band UI gets HTML, and one with neither gets U/03', async () => {
    const htmlToo = appAReq(new SdkEmulator())
    htmlToo.deviceRenderOptions = { sdkInterface: '03', sdkUiType: ['01', '02', '03', '05'] }
    expect(await sendAReq(htmlToo)).toMatchObject({
      transStatus: 'C',
      acsRenderingType: { acsInterface: '02', acsUiTemplate: '05' },
    })
    const codeOnly = appAReq(new SdkEmulator())
    codeOnly.deviceRenderOptions = { sdkInterface: '01', sdkUiType: ['01', '02', '03'] }
    expect(await sendAReq(codeOnly)).toMatchObject({ transStatus: 'U', transStatusReason: '03' })
  })

  it('native OOB screen; an early oobContinue is "still pending"; typed entries never approve; YES <ref> → oobContinue gets the final CRes Y', async () => {
    const { sdk, rreqs } = await appPurchase()
    const first = await sdk.send()
    expect(first.message).toMatchObject({
      acsUiType: '04',
      challengeCompletionInd: 'N',
      oobContinueLabel: 'Continue',
    })
    expect(cresViolations(first.message!, 'APP')).toEqual([])
    const ref = await lastReference(lab, phone)
    expect(String(first.message!.challengeInfoText)).toContain(`YES ${ref}`)

    const early = await sdk.send({ oobContinue: true })
    expect(early.message).toMatchObject({ acsUiType: '04', challengeCompletionInd: 'N' })
    const again = await sdk.send({ oobContinue: true })
    expect(again.message).toMatchObject({ acsUiType: '04', challengeCompletionInd: 'N' })
    const typed = await sdk.send({ challengeDataEntry: `YES ${ref}` })
    expect(typed.message).toMatchObject({ acsUiType: '04', challengeCompletionInd: 'N' })
    expect(rreqs()).toEqual([])

    expect((await reply(lab, phone, `yes ${ref}`)).outcome).toBe('matched')
    const final = await sdk.send({ oobContinue: true })
    expect(final.message).toMatchObject({ transStatus: 'Y', challengeCompletionInd: 'Y' })
    expect(cresViolations(final.message!, 'APP')).toEqual([])
    const sent = await waitFor('the RReq', () => (rreqs().length ? rreqs() : undefined))
    expect(sent).toHaveLength(1)
    expect(sent[0]).toMatchObject({ transStatus: 'Y', authenticationType: '03' })
    // Idempotent: another oobContinue after the end answers the same final CRes, no second RReq.
    expect((await sdk.send({ oobContinue: true })).message).toMatchObject({ transStatus: 'Y' })
    expect(rreqs()).toHaveLength(1)
  })
})

describe('decoupled', () => {
  it('ARes D; the SMS asks YES <ref>; the reply decides (RReq Y, authenticationType 04); NO <ref> refuses', async () => {
    const p = await lab.purchase({ pan, amount: 5_000, flow: 'decoupled' })
    expect(p.ares).toMatchObject({ transStatus: 'D' })
    const ref = await lastReference(lab, phone)
    expect((await reply(lab, phone, `YES ${ref}`)).outcome).toBe('matched')
    expect((await lab.rreqs(p.id))[0]).toMatchObject({ transStatus: 'Y', authenticationType: '04' })

    const q = await lab.purchase({ pan, amount: 5_000, flow: 'decoupled' })
    const ref2 = await lastReference(lab, phone)
    expect(ref2).not.toBe(ref)
    expect((await reply(lab, phone, `NO ${ref2}`)).outcome).toBe('matched')
    expect((await lab.rreqs(q.id))[0]).toMatchObject({ transStatus: 'N' })
  })

  it('two pending challenges of one phone: each reply goes to the challenge its reference names', async () => {
    const a = await lab.purchase({ pan, amount: 100, flow: 'decoupled' })
    const refA = await lastReference(lab, phone)
    const b = await lab.purchase({ pan, amount: 200, flow: 'decoupled' })
    const refB = await lastReference(lab, phone)
    expect((await reply(lab, phone, `NO ${refA}`)).ref).toBe(a.acsTransID)
    expect((await reply(lab, phone, `YES ${refB}`)).ref).toBe(b.acsTransID)
    expect((await lab.rreqs(a.id))[0]).toMatchObject({ transStatus: 'N' })
    expect((await lab.rreqs(b.id))[0]).toMatchObject({ transStatus: 'Y' })
  })
})
