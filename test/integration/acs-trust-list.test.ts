import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SdkEmulator } from '../../src-server/lab/sdk'
import { browserCReq, buildLabAReq, PurchaseInput } from '../../src-server/lab/three-ds-server'
import { CARDS, ChallengeBrowser, startLab, type Lab } from './acs-lab'

/**
 * The ACS's own trust list over real HTTP against the lab: AReqs built by the lab 3DS Server (with the
 * merchant of each test's choosing) go to /acs/v2/areq, the test plays the cardholder's browser or the app
 * SDK, reads the code from the virtual phone, and checks the RReq the lab DS received, the next AReq's
 * decision (the demo rule set's `trusted-merchant` rule) and the console API.
 */
let lab: Lab
beforeAll(async () => {
  lab = await startLab()
})
afterAll(async () => {
  await lab.srv.stop()
})

type Message = Record<string, unknown>

interface Merchant {
  acquirerMerchantID: string
  merchantName: string
}

interface AReqOptions {
  version?: '2.1.0' | '2.2.0'
  sdk?: SdkEmulator
  /** Replaces members of the AReq (a requestor's own trust-list claim, the SDK's render options…). */
  extra?: Message
}

/** An AReq as the lab 3DS Server builds it (challenge indicator 01, EUR 456.00), for the given merchant. */
async function sendAReq(pan: string, merchant: Merchant, o: AReqOptions = {}): Promise<Message> {
  const input = PurchaseInput.parse({
    pan,
    amount: 45_600,
    flow: 'auto',
    channel: o.sdk ? 'app' : 'browser',
    messageVersion: o.version ?? '2.2.0',
  })
  const areq = buildLabAReq(input, lab.srv.url, randomUUID(), o.sdk)
  Object.assign(areq, merchant, o.extra)
  const res = await fetch(`${lab.srv.url}/acs/v2/areq`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(areq),
  })
  const ares = (await res.json()) as Message
  expect(ares.messageType, JSON.stringify(ares)).toBe('ARes')
  return ares
}

/** Opens the browser challenge of a C ARes. */
async function openChallenge(ares: Message): Promise<ChallengeBrowser> {
  expect(ares.transStatus).toBe('C')
  const browser = new ChallengeBrowser(String(ares.acsURL))
  await browser.open(browserCReq(ares, '05'))
  return browser
}

/** Posts the code page as the cardholder's browser does, with the trust checkbox ticked or not. */
async function post(
  browser: ChallengeBrowser,
  ares: Message,
  fields: Record<string, string>,
): Promise<string> {
  const res = await fetch(String(ares.acsURL), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      acsTransID: browser.hidden('acsTransID'),
      nonce: browser.hidden('nonce'),
      ...fields,
    }).toString(),
  })
  expect(res.status).toBe(200)
  browser.html = await res.text()
  return browser.html
}

function finalCRes(browser: ChallengeBrowser): Message {
  return JSON.parse(Buffer.from(browser.finalForm().fields.cres, 'base64url').toString('utf8')) as Message
}

/** The RReqs the lab DS received for a transaction, waiting for the first one. */
async function rreqsOf(acsTransID: unknown): Promise<Message[]> {
  const read = () =>
    (
      lab.srv.services.db
        .prepare('SELECT body FROM lab_ds_rreqs WHERE acs_trans_id = ? ORDER BY id')
        .pluck()
        .all(acsTransID) as string[]
    ).map((b) => JSON.parse(b) as Message)
  for (let i = 0; i < 100 && read().length === 0; i++) await new Promise((r) => setTimeout(r, 100))
  return read()
}

async function api(path: string, init: RequestInit & { json?: unknown } = {}) {
  const res = await lab.srv.api(path, { ...init, token: lab.token })
  const text = await res.text()
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined }
}

const holderOf = (pan: string) => lab.srv.services.cardholders.findByPan(pan)!.cardholderId
const trustedOf = async (pan: string) =>
  (await api(`/api/cardholders/${holderOf(pan)}/trusted-merchants`)).body as Message[]

async function ruleOf(acsTransID: unknown): Promise<Message> {
  const { body } = await api(`/api/transactions/${String(acsTransID)}`)
  return (body as { transaction: Message }).transaction
}

/** A browser challenge the cardholder passes with the trust box ticked. */
async function trustByChallenge(card: { pan: string; mobile: string }, merchant: Merchant): Promise<Message> {
  const ares = await sendAReq(card.pan, merchant)
  const browser = await openChallenge(ares)
  await post(browser, ares, { action: 'submit', otp: await lab.lastCode(card.mobile), trust: 'Y' })
  expect(finalCRes(browser).transStatus).toBe('Y')
  return ares
}

const wrongCodeFor = (code: string) => (code === '000000' ? '111111' : '000000')

describe('browser challenge', () => {
  it('consent + right code → RReq Y with whiteListStatus Y/03 → the next AReq for that card and merchant is frictionless by the trust rule', async () => {
    const shop = { acquirerMerchantID: 'TRUST-BRW-1', merchantName: 'Corner Shop' }
    // The requestor saying the merchant is trusted (its own list) grants nothing.
    const claimed = await sendAReq(CARDS.visaEn.pan, shop, {
      extra: { whiteListStatus: 'Y', whiteListStatusSource: '01' },
    })
    expect(claimed.transStatus).toBe('C')
    expect(claimed.whiteListStatus).toBeUndefined()

    const browser = await openChallenge(claimed)
    const page = browser.html
    expect(page).toContain('<input type="checkbox" id="trust" name="trust" value="Y">')
    expect(page).toContain('<label for="trust">Trust Corner Shop — skip the code next time</label>')
    await post(browser, claimed, {
      action: 'submit',
      otp: await lab.lastCode(CARDS.visaEn.mobile),
      trust: 'Y',
    })
    const cres = finalCRes(browser)
    expect(cres).toMatchObject({ transStatus: 'Y', challengeCompletionInd: 'Y' })
    expect(cres.whiteListStatus).toBeUndefined()
    const [rreq] = await rreqsOf(claimed.acsTransID)
    expect(rreq).toMatchObject({
      transStatus: 'Y',
      interactionCounter: '01',
      whiteListStatus: 'Y',
      whiteListStatusSource: '03',
    })

    const next = await sendAReq(CARDS.visaEn.pan, shop)
    expect(next).toMatchObject({
      transStatus: 'Y',
      eci: '05',
      whiteListStatus: 'Y',
      whiteListStatusSource: '03',
    })
    expect(await ruleOf(next.acsTransID)).toMatchObject({
      status: 'Y',
      ruleSetId: 'demo',
      ruleId: 'trusted-merchant',
    })

    // Another merchant (same name, another acquirer merchant ID) and another card are still challenged.
    const other = await sendAReq(CARDS.visaEn.pan, { ...shop, acquirerMerchantID: 'TRUST-BRW-2' })
    expect(other.transStatus).toBe('C')
    expect(other.whiteListStatus).toBeUndefined()
    expect((await ruleOf(other.acsTransID)).ruleId).toBe('default')
    expect((await sendAReq(CARDS.mastercard2.pan, shop)).transStatus).toBe('C')

    expect(await trustedOf(CARDS.visaEn.pan)).toEqual([
      expect.objectContaining({
        panMasked: '400000******0002',
        merchantName: 'Corner Shop',
        acquirerBIN: '400551',
        acquirerMerchantID: 'TRUST-BRW-1',
        source: 'challenge',
        acsTransID: claimed.acsTransID,
        addedBy: 'cardholder:400000******0002',
      }),
    ])
  })

  it('consent with wrong codes until failure, or with a cancel, stores nothing', async () => {
    const shop = { acquirerMerchantID: 'TRUST-FAIL-1', merchantName: 'Kiosk' }
    const ares = await sendAReq(CARDS.mastercardDe.pan, shop, { extra: { browserLanguage: 'de-DE' } })
    const browser = await openChallenge(ares)
    // The browser's language (German) like the rest of the page.
    expect(browser.html).toContain('<label for="trust">Kiosk vertrauen – nächstes Mal ohne Code</label>')
    const wrong = wrongCodeFor(await lab.lastCode(CARDS.mastercardDe.mobile))
    await post(browser, ares, { action: 'submit', otp: wrong, trust: 'Y' })
    // The page shown again keeps the box as the cardholder left it.
    expect(browser.html).toContain('name="trust" value="Y" checked>')
    await post(browser, ares, { action: 'submit', otp: wrong, trust: 'Y' })
    await post(browser, ares, { action: 'submit', otp: wrong, trust: 'Y' })
    expect(finalCRes(browser).transStatus).toBe('N')
    const [failed] = await rreqsOf(ares.acsTransID)
    expect(failed).toMatchObject({ transStatus: 'N', interactionCounter: '03' })
    expect(failed.whiteListStatus).toBeUndefined()

    const cancelled = await sendAReq(CARDS.mastercardDe.pan, shop)
    const second = await openChallenge(cancelled)
    await post(second, cancelled, { action: 'cancel', trust: 'Y' })
    const [cancel] = await rreqsOf(cancelled.acsTransID)
    expect(cancel).toMatchObject({ transStatus: 'N', challengeCancel: '01' })
    expect(cancel.whiteListStatus).toBeUndefined()

    expect(await trustedOf(CARDS.mastercardDe.pan)).toEqual([])
    expect((await sendAReq(CARDS.mastercardDe.pan, shop)).transStatus).toBe('C')
  })

  it('a right code without the box ticked trusts nothing', async () => {
    const shop = { acquirerMerchantID: 'TRUST-NOBOX-1', merchantName: 'Bakery' }
    const ares = await sendAReq(CARDS.visaEn.pan, shop)
    const browser = await openChallenge(ares)
    await post(browser, ares, { action: 'submit', otp: await lab.lastCode(CARDS.visaEn.mobile) })
    const [rreq] = await rreqsOf(ares.acsTransID)
    expect(rreq.transStatus).toBe('Y')
    expect(rreq.whiteListStatus).toBeUndefined()
    expect((await sendAReq(CARDS.visaEn.pan, shop)).transStatus).toBe('C')
  })

  it('2.1.0 never offers it: no checkbox, a forged trust=Y is ignored, the RReq has no whiteListStatus', async () => {
    const shop = { acquirerMerchantID: 'TRUST-V210-1', merchantName: 'Old Shop' }
    const ares = await sendAReq(CARDS.visaEn.pan, shop, { version: '2.1.0' })
    const browser = await openChallenge(ares)
    expect(browser.html).not.toContain('type="checkbox"')
    await post(browser, ares, {
      action: 'submit',
      otp: await lab.lastCode(CARDS.visaEn.mobile),
      trust: 'Y',
    })
    const [rreq] = await rreqsOf(ares.acsTransID)
    expect(rreq).toMatchObject({ messageVersion: '2.1.0', transStatus: 'Y' })
    expect(rreq.whiteListStatus).toBeUndefined()
    expect((await trustedOf(CARDS.visaEn.pan)).map((t) => t.merchantName)).not.toContain('Old Shop')
    expect((await sendAReq(CARDS.visaEn.pan, shop, { version: '2.1.0' })).transStatus).toBe('C')
  })

  it('the issuer can switch the offer off', async () => {
    await lab.settings({ trustListOffer: false })
    try {
      const ares = await sendAReq(CARDS.visaEn.pan, {
        acquirerMerchantID: 'TRUST-OFF-1',
        merchantName: 'Florist',
      })
      const browser = await openChallenge(ares)
      expect(browser.html).toContain('name="otp"')
      expect(browser.html).not.toContain('type="checkbox"')
    } finally {
      await lab.settings({ trustListOffer: true })
    }
  })
})

describe('app challenge', () => {
  const roots = () => ['visa', 'mastercard'].map((b) => lab.srv.services.acs.keys.rootPem(b)!)

  async function appChallenge(pan: string, merchant: Merchant, o: AReqOptions = {}) {
    const sdk = new SdkEmulator()
    const ares = await sendAReq(pan, merchant, { ...o, sdk })
    expect(ares.transStatus).toBe('C')
    await sdk.accept(ares, roots())
    return { sdk, ares }
  }

  it('native UI: whitelistingInfoText in the CRes, whitelistingDataEntry Y with the code → trusted', async () => {
    const shop = { acquirerMerchantID: 'TRUST-APP-1', merchantName: 'App Shop' }
    const { sdk, ares } = await appChallenge(CARDS.visaFr.pan, shop)
    const first = await sdk.send()
    expect(first.message).toMatchObject({
      acsUiType: '01',
      whitelistingInfoText: 'Faire confiance à App Shop — sans code la prochaine fois',
    })
    const final = await sdk.send({
      challengeDataEntry: await lab.lastCode(CARDS.visaFr.mobile),
      whitelistingDataEntry: 'Y',
    })
    expect(final.message).toMatchObject({ challengeCompletionInd: 'Y', transStatus: 'Y' })
    const [rreq] = await rreqsOf(ares.acsTransID)
    expect(rreq).toMatchObject({ transStatus: 'Y', whiteListStatus: 'Y', whiteListStatusSource: '03' })

    const next = await sendAReq(CARDS.visaFr.pan, shop, { sdk: new SdkEmulator() })
    expect(next).toMatchObject({ transStatus: 'Y', whiteListStatus: 'Y', whiteListStatusSource: '03' })
    expect((await ruleOf(next.acsTransID)).ruleId).toBe('trusted-merchant')
  })

  it('HTML UI: the checkbox travels in challengeHTMLDataEntry', async () => {
    const shop = { acquirerMerchantID: 'TRUST-APP-HTML', merchantName: 'Html Shop' }
    const { sdk, ares } = await appChallenge(CARDS.mastercard2.pan, shop, {
      extra: { deviceRenderOptions: { sdkInterface: '02', sdkUiType: ['05'] } },
    })
    const first = await sdk.send()
    expect(first.message?.acsUiType).toBe('05')
    const html = Buffer.from(String(first.message!.acsHTML), 'base64url').toString('utf8')
    expect(html).toContain('<label for="trust">Trust Html Shop — skip the code next time</label>')
    const code = await lab.lastCode(CARDS.mastercard2.mobile)
    await sdk.send({ challengeHTMLDataEntry: `otp=${code}&action=submit&trust=Y` })
    expect((await rreqsOf(ares.acsTransID))[0]).toMatchObject({ transStatus: 'Y', whiteListStatus: 'Y' })
    expect((await sendAReq(CARDS.mastercard2.pan, shop)).transStatus).toBe('Y')
  })

  it('2.1.0: no whitelistingInfoText; a whitelistingDataEntry the SDK sends anyway changes nothing', async () => {
    const shop = { acquirerMerchantID: 'TRUST-APP-V210', merchantName: 'Old App Shop' }
    const { sdk, ares } = await appChallenge(CARDS.mastercard2.pan, shop, { version: '2.1.0' })
    const first = await sdk.send()
    expect(first.message?.acsUiType).toBe('01')
    expect(first.message?.whitelistingInfoText).toBeUndefined()
    const final = await sdk.send({
      challengeDataEntry: await lab.lastCode(CARDS.mastercard2.mobile),
      whitelistingDataEntry: 'Y',
    })
    expect(final.message).toMatchObject({ messageType: 'CRes', transStatus: 'Y' })
    const [rreq] = await rreqsOf(ares.acsTransID)
    expect(rreq).toMatchObject({ messageVersion: '2.1.0', transStatus: 'Y' })
    expect(rreq.whiteListStatus).toBeUndefined()
    expect((await trustedOf(CARDS.mastercard2.pan)).map((t) => t.merchantName)).not.toContain('Old App Shop')
  })
})

describe('console', () => {
  it('removal (with a reason, audited) → challenged again; an operator can trust the merchant of an authentication', async () => {
    const shop = { acquirerMerchantID: 'TRUST-CONSOLE-1', merchantName: 'Garden Centre' }
    await trustByChallenge(CARDS.visaEn, shop)
    const holder = holderOf(CARDS.visaEn.pan)
    const entry = (await trustedOf(CARDS.visaEn.pan)).find((t) => t.acquirerMerchantID === 'TRUST-CONSOLE-1')!
    expect((await sendAReq(CARDS.visaEn.pan, shop)).transStatus).toBe('Y')

    const path = `/api/cardholders/${holder}/trusted-merchants/${String(entry.id)}`
    expect((await api(path, { method: 'DELETE', json: { reason: '' } })).status).toBe(400)
    const removed = await api(path, {
      method: 'DELETE',
      json: { reason: 'cardholder no longer shops there' },
    })
    expect(removed.status).toBe(200)
    expect(removed.body).toMatchObject({
      removedBy: 'operator:admin',
      removalReason: 'cardholder no longer shops there',
    })
    expect((await api(path, { method: 'DELETE', json: { reason: 'again please' } })).status).toBe(409)
    expect((await trustedOf(CARDS.visaEn.pan)).map((t) => t.id)).not.toContain(entry.id)
    const all = (await api(`/api/cardholders/${holder}/trusted-merchants?includeRemoved=true`))
      .body as Message[]
    expect(all.find((t) => t.id === entry.id)).toMatchObject({
      removalReason: 'cardholder no longer shops there',
    })

    const again = await sendAReq(CARDS.visaEn.pan, shop)
    expect(again.transStatus).toBe('C')
    expect((await ruleOf(again.acsTransID)).ruleId).toBe('default')

    // The cardholder calls the bank: an agent trusts the merchant of that authentication.
    const added = await api(`/api/cardholders/${holder}/trusted-merchants`, {
      method: 'POST',
      json: { acsTransID: again.acsTransID, reason: 'cardholder asked by phone' },
    })
    expect(added.status).toBe(201)
    expect(added.body).toMatchObject({
      source: 'console',
      acquirerMerchantID: 'TRUST-CONSOLE-1',
      addedBy: 'operator:admin',
      acsTransID: again.acsTransID,
    })
    expect((await sendAReq(CARDS.visaEn.pan, shop)).transStatus).toBe('Y')
    // Not another cardholder's authentication.
    const foreign = await api(`/api/cardholders/${holderOf(CARDS.visaFr.pan)}/trusted-merchants`, {
      method: 'POST',
      json: { acsTransID: again.acsTransID, reason: 'wrong cardholder' },
    })
    expect(foreign.status).toBe(404)

    const audit = lab.srv.services.db
      .prepare(
        `SELECT actor, action, target, details FROM audit_log WHERE action LIKE 'trust-list.%' ORDER BY id`,
      )
      .all() as { actor: string; action: string; target: string; details: string }[]
    expect(audit.slice(-2).map((a) => [a.actor, a.action, JSON.parse(a.details).reason])).toEqual([
      ['operator:admin', 'trust-list.remove', 'cardholder no longer shops there'],
      ['operator:admin', 'trust-list.add', 'cardholder asked by phone'],
    ])
    expect(
      audit.some((a) => a.actor === 'cardholder:400000******0002' && a.action === 'trust-list.add'),
    ).toBe(true)
    expect(JSON.stringify(audit)).not.toContain(CARDS.visaEn.pan)
  })
})
