import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeAReq } from '../../src-server/acs/fixtures/areq'
import { SdkEmulator } from '../../src-server/lab/sdk'
import { DeviceClient, ServerError, type ApprovalView } from '../../src-renderer/authenticator/device-client'
import { startLab, type Lab } from './acs-lab'
import {
  activatedPhone,
  activationToken,
  approvalOf,
  browserChallenge,
  enrol,
  lastSmsCode,
  opensslVerifies,
  PHONE,
} from './mobile-lab'

/**
 * The mobile-signature method end to end over real HTTP: activation with two factors, approvals from a
 * simulated phone (the authenticator's own protocol code on Node's WebCrypto), and the ACS results in the
 * lab DS's RReqs. Signatures are also checked with openssl, independently of node:crypto.
 */
let lab: Lab

beforeAll(async () => {
  lab = await startLab()
})
afterAll(async () => {
  await lab?.srv.stop()
})

const refused = async (p: Promise<unknown>): Promise<ServerError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ServerError)
  return err as ServerError
}

describe('activation', () => {
  it('takes the single-use QR token and the SMS code, and binds the cardholder’s cards', async () => {
    const holder = await enrol(lab, 101)
    const token = await activationToken(lab, holder.cardholderId)
    const phone = new DeviceClient(lab.srv.url)
    const started = await phone.activate(token, 'Pixel', PHONE)
    expect(started.maskedMobile).toMatch(/^\+447\*+\d\d$/)
    // Pending: it cannot see approvals before the second factor.
    expect((await refused(phone.approvals())).status).toBe(403)
    // The token works once.
    expect((await refused(new DeviceClient(lab.srv.url).activate(token, 'Other', PHONE))).status).toBe(410)
    expect((await refused(phone.confirm('000000'))).title).toBe('Wrong code')
    const device = await phone.confirm(await lastSmsCode(lab, holder.mobile))
    expect(device.status).toBe('active')
    expect(device.cards.map((c) => c.id)).toEqual([holder.cardId])
    // The code never reaches the console's copy of the SMS, nor the logs.
    const code = await lastSmsCode(lab, holder.mobile)
    const outbox = await lab.srv.api('/api/sms/outbox?limit=200', { token: lab.token })
    expect(await outbox.text()).not.toContain(code)
    expect(lab.srv.logText()).not.toContain(code)
  })

  it('refuses a proof made with another key, and the device can be renamed and removed', async () => {
    const holder = await enrol(lab, 102)
    const token = await activationToken(lab, holder.cardholderId)
    const res = await lab.srv.api('/api/mobile/v1/activations', {
      method: 'POST',
      json: { token, publicKey: 'AAAA', proof: 'AAAA', name: 'x', description: PHONE },
    })
    expect(res.status).toBe(400)
    const phone = await activatedPhone(lab, holder)
    expect((await phone.rename('Work phone')).name).toBe('Work phone')
    await phone.remove()
    const listed = await lab.srv.api(`/api/mobile/cardholders/${holder.cardholderId}/devices`, {
      token: lab.token,
    })
    const { items } = (await listed.json()) as { items: { status: string; name: string }[] }
    expect(items.map((d) => [d.name, d.status])).toContainEqual(['Work phone', 'revoked'])
    expect((await refused(phone.me())).status).toBe(403)
  })
})

describe('approval of a browser challenge', () => {
  it('approve → Y, with a signature openssl verifies over the canonical record', async () => {
    const holder = await enrol(lab, 111)
    const phone = await activatedPhone(lab, holder)
    const { purchase, browser } = await browserChallenge(lab, holder, 1234)
    expect(browser.html).toContain('Open your bank’s authenticator')
    const approval = await approvalOf(phone, purchase.acsTransID!)
    expect(approval).toMatchObject({ amount: '1234', currency: '978', exponent: '2', presence: 'tap' })
    expect(approval.panMasked).toMatch(/\*{4,}/)
    const signedAt = Date.now()
    const { record, signature } = await phone.signDecision(approval, 'approve', signedAt)
    expect(await phone.sendDecision(approval.id, { decision: 'approve', signedAt, signature })).toEqual({
      status: 'approved',
      transStatus: 'Y',
    })
    const spki = Buffer.from(await crypto.subtle.exportKey('spki', phone.device!.keys.publicKey))
    expect(opensslVerifies(spki, record, Buffer.from(signature, 'base64url'))).toBe(true)
    expect(
      opensslVerifies(
        spki,
        record.replace('amount:1234', 'amount:1235'),
        Buffer.from(signature, 'base64url'),
      ),
    ).toBe(false)
    // The page continues to the final CRes; the DS has exactly one RReq.
    await browser.act('submit')
    const cres = await browser.deliverFinal()
    expect(cres).toMatchObject({ transStatus: 'Y' })
    const rreqs = await lab.rreqs(purchase.id)
    expect(rreqs).toHaveLength(1)
    expect(rreqs[0]).toMatchObject({ transStatus: 'Y', authenticationType: '03', interactionCounter: '01' })
  })

  it('decline → N/01', async () => {
    const holder = await enrol(lab, 112)
    const phone = await activatedPhone(lab, holder)
    const { purchase } = await browserChallenge(lab, holder)
    const approval = await approvalOf(phone, purchase.acsTransID!)
    expect(await phone.decide(approval, 'decline')).toEqual({ status: 'declined', transStatus: 'N' })
    expect((await lab.rreqs(purchase.id))[0]).toMatchObject({ transStatus: 'N', transStatusReason: '01' })
  })

  it('“this wasn’t me” → N/11 and the card is suspended, so the next purchase is refused (R/11)', async () => {
    const holder = await enrol(lab, 113)
    const phone = await activatedPhone(lab, holder)
    const { purchase } = await browserChallenge(lab, holder)
    const approval = await approvalOf(phone, purchase.acsTransID!)
    expect(await phone.decide(approval, 'fraud')).toEqual({ status: 'fraud', transStatus: 'N' })
    expect((await lab.rreqs(purchase.id))[0]).toMatchObject({ transStatus: 'N', transStatusReason: '11' })
    const holderView = (await (
      await lab.srv.api(`/api/cardholders/${holder.cardholderId}`, { token: lab.token })
    ).json()) as { cards: { status: string }[] }
    expect(holderView.cards[0].status).toBe('suspended')
    // The same report a FRAUD reply opens: in the fraud team's queue, for this authentication.
    const reports = (await (await lab.srv.api('/api/fraud/reports', { token: lab.token })).json()) as {
      acsTransID: string
      status: string
      cardStatus: string
    }[]
    expect(reports.find((r) => r.acsTransID === purchase.acsTransID)).toMatchObject({
      status: 'open',
      cardStatus: 'suspended',
    })
    const next = await lab.purchase({ pan: holder.pan, amount: 100, flow: 'challenge' })
    expect(next.ares).toMatchObject({ transStatus: 'R', transStatusReason: '11' })
  })
})

describe('app out-of-band', () => {
  it('the SDK shows the native OOB screen; oobContinue is idempotent before and after the approval', async () => {
    const holder = await enrol(lab, 141)
    const phone = await activatedPhone(lab, holder)
    const roots = ['visa', 'mastercard'].map((b) => lab.srv.services.acs.keys.rootPem(b)!)
    const sdk = new SdkEmulator()
    const areq = makeAReq('2.2.0', 'APP', 'PA')
    Object.assign(areq, {
      threeDSServerTransID: crypto.randomUUID(),
      dsTransID: crypto.randomUUID(),
      dsURL: `${lab.srv.url}/lab/ds/rreq`,
      acctNumber: holder.pan,
      threeDSRequestorChallengeInd: '04',
      sdkTransID: sdk.sdkTransID,
      sdkReferenceNumber: sdk.sdkReferenceNumber,
      sdkEphemPubKey: sdk.publicJwk,
    })
    const ares = (await (
      await fetch(`${lab.srv.url}/acs/v2/areq`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(areq),
      })
    ).json()) as Record<string, unknown>
    expect(ares).toMatchObject({ transStatus: 'C', authenticationType: '03' })
    await sdk.accept(ares, roots)
    const rreqs = () =>
      lab.srv.services.db.prepare('SELECT body FROM lab_ds_rreqs WHERE acs_trans_id = ?').all(ares.acsTransID)
    const first = await sdk.send()
    expect(first.message).toMatchObject({ acsUiType: '04', challengeCompletionInd: 'N' })
    expect(String(first.message!.challengeInfoText)).toContain('authenticator')
    expect((await sdk.send({ oobContinue: true })).message).toMatchObject({ challengeCompletionInd: 'N' })
    expect((await sdk.send({ challengeDataEntry: '123456' })).message).toMatchObject({
      challengeCompletionInd: 'N',
    })
    expect(rreqs()).toEqual([])
    await phone.decide(await approvalOf(phone, String(ares.acsTransID)), 'approve')
    const final = await sdk.send({ oobContinue: true })
    expect(final.message).toMatchObject({ transStatus: 'Y', challengeCompletionInd: 'Y' })
    expect((await sdk.send({ oobContinue: true })).message).toMatchObject({ transStatus: 'Y' })
    for (let i = 0; i < 100 && rreqs().length === 0; i++) await new Promise((r) => setTimeout(r, 20))
    expect(rreqs()).toHaveLength(1)
  })
})

describe('decoupled', () => {
  it('the approval arrives with the ARes D and ends the authentication by RReq', async () => {
    const holder = await enrol(lab, 121)
    const phone = await activatedPhone(lab, holder)
    const purchase = await lab.purchase({ pan: holder.pan, amount: 2500, flow: 'decoupled' })
    expect(purchase.ares.transStatus).toBe('D')
    const approval = await approvalOf(phone, purchase.acsTransID!)
    expect(approval.mode).toBe('decoupled')
    await phone.decide(approval, 'approve')
    expect((await lab.rreqs(purchase.id))[0]).toMatchObject({ transStatus: 'Y', authenticationType: '04' })
  })
})

describe('waking the authenticator', () => {
  it('pushes to an open event stream at once, and texts a link when none is open', async () => {
    const holder = await enrol(lab, 131)
    const phone = await activatedPhone(lab, holder)
    const before = (await lab.smsTexts(holder.mobile)).length
    const first = await browserChallenge(lab, holder)
    await approvalOf(phone, first.purchase.acsTransID!)
    await new Promise((r) => setTimeout(r, 50))
    const texts = await lab.smsTexts(holder.mobile)
    expect(texts.length).toBe(before + 1)
    const approvalId = /#approval=([A-Za-z0-9_-]{22})/.exec(texts.at(-1)!)?.[1]
    expect(approvalId).toBeDefined()
    expect((await phone.approval(approvalId!)).acsTransID).toBe(first.purchase.acsTransID)

    const controller = new AbortController()
    const res = await fetch(await phone.eventsUrl(PHONE), { signal: controller.signal })
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let seen = ''
    const event = (async () => {
      while (!/event: approval\ndata: (.*)\n/.test(seen)) {
        const { value, done } = await reader.read()
        if (done) break
        seen += decoder.decode(value)
      }
      return JSON.parse(/event: approval\ndata: (.*)\n/.exec(seen)![1]) as { acsTransID: string }
    })()
    while (!seen.includes('event: ready')) await new Promise((r) => setTimeout(r, 10))
    const second = await browserChallenge(lab, holder)
    expect((await event).acsTransID).toBe(second.purchase.acsTransID)
    controller.abort()
    expect((await lab.smsTexts(holder.mobile)).length).toBe(before + 1)
  })

  /** The wake-up texts sent to this number (not the activation codes, nor the purchase notices). */
  const wakeTexts = async (mobile: string) =>
    (await lab.smsTexts(mobile)).filter((t) => t.includes('/authenticator/#approval='))
  const settings = (patch: Record<string, unknown>) =>
    lab.srv.api('/api/mobile/settings', { method: 'PUT', token: lab.token, json: patch })

  /** An open event stream of the phone; resolves each pushed approval in turn. */
  async function stream(phone: DeviceClient, signal: AbortSignal): Promise<() => Promise<ApprovalView>> {
    const reader = (await fetch(await phone.eventsUrl(PHONE), { signal })).body!.getReader()
    const decoder = new TextDecoder()
    let seen = ''
    const next = async (pattern: RegExp) => {
      for (;;) {
        const m = pattern.exec(seen)
        if (m) {
          seen = seen.slice(m.index + m[0].length)
          return m
        }
        const { value, done } = await reader.read()
        if (done) throw new Error('the event stream ended')
        seen += decoder.decode(value)
      }
    }
    await next(/event: ready\n/)
    return async () => JSON.parse((await next(/event: approval\ndata: (.*)\n/))[1]) as ApprovalView
  }

  it('texts the link after all when an open stream does not lead to a read in time (half-open socket)', async () => {
    expect((await settings({ wakeGraceSeconds: 1 })).status).toBe(200)
    const controller = new AbortController()
    try {
      // A phone whose stream is still open on the server but which never reads what is pushed to it.
      const gone = await enrol(lab, 132)
      const gonePhone = await activatedPhone(lab, gone)
      const goneEvents = await stream(gonePhone, controller.signal)
      // A phone that reads the request when the event arrives.
      const live = await enrol(lab, 133)
      const livePhone = await activatedPhone(lab, live)
      const liveEvents = await stream(livePhone, controller.signal)

      const stale = await browserChallenge(lab, gone)
      const staleId = (await goneEvents()).id
      const fresh = await browserChallenge(lab, live)
      const pushed = await liveEvents()
      expect((await livePhone.approval(pushed.id)).acsTransID).toBe(fresh.purchase.acsTransID)
      expect(await wakeTexts(gone.mobile)).toEqual([])

      await new Promise((r) => setTimeout(r, 1500))
      expect(await wakeTexts(gone.mobile)).toEqual([expect.stringContaining(`#approval=${staleId}`)])
      expect((await gonePhone.approval(staleId)).acsTransID).toBe(stale.purchase.acsTransID)
      expect(await wakeTexts(live.mobile)).toEqual([])
      const woken = lab.srv.services.db
        .prepare('SELECT woken_by_sms FROM mobile_approvals WHERE id = ?')
        .pluck()
        .get(staleId)
      expect(woken).toBe(1)
      // Once only.
      await new Promise((r) => setTimeout(r, 1200))
      expect(await wakeTexts(gone.mobile)).toHaveLength(1)
    } finally {
      controller.abort()
      await settings({ wakeGraceSeconds: 8 })
    }
  })

  it('does not text a phone that decides within the grace period', async () => {
    expect((await settings({ wakeGraceSeconds: 1 })).status).toBe(200)
    const controller = new AbortController()
    try {
      const holder = await enrol(lab, 134)
      const phone = await activatedPhone(lab, holder)
      const events = await stream(phone, controller.signal)
      const { purchase } = await browserChallenge(lab, holder)
      // Decided straight from the pushed view, without a read: the decision ends the wait as well.
      const approval = await events()
      expect(approval.acsTransID).toBe(purchase.acsTransID)
      expect(await phone.decide(approval, 'approve')).toMatchObject({ transStatus: 'Y' })
      await new Promise((r) => setTimeout(r, 1500))
      expect(await wakeTexts(holder.mobile)).toEqual([])
    } finally {
      controller.abort()
      await settings({ wakeGraceSeconds: 8 })
    }
  })
})
