import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceClient } from '../../src-renderer/authenticator/device-client'
import { qrSvgDataUri } from '../../src-server/mobile/qr'
import { maskPan } from '../../src-server/crypto/mask'
import { ChallengeBrowser, startLab, type Lab, type Purchase } from './acs-lab'
import { enrol, lastSmsCode, PHONE, visaPan, type Holder } from './mobile-lab'

/**
 * Activation from the challenge page (after an SMS code): a browser challenge passed with an SMS code ends on
 * a page with a one-time activation QR code, for the cardholders the `activationOnChallenge` setting names,
 * when they have no active authenticator. The activation still needs the SMS code of its own.
 */
let l: Lab
beforeAll(async () => {
  l = await startLab()
})
afterAll(async () => {
  await l.srv.stop()
  rmSync(l.srv.dataDir, { recursive: true, force: true })
})

const mobileSettings = async (json: Record<string, unknown>) => {
  const res = await l.srv.api('/api/mobile/settings', { method: 'PUT', token: l.token, json })
  expect(res.status).toBe(200)
}

/** A browser challenge answered with `code` (the SMS's by default); the browser shows the page that followed. */
async function challenge(
  pan: string,
  mobile: string,
  code?: string,
  extra: Record<string, unknown> = {},
): Promise<ChallengeBrowser & { purchase: Purchase; step: Record<string, string> }> {
  const purchase = await l.purchase({ pan, amount: 4550, flow: 'challenge', ...extra })
  expect(purchase.ares).toMatchObject({ transStatus: 'C', authenticationType: '02' })
  const browser = new ChallengeBrowser(String(purchase.ares.acsURL))
  await browser.open(purchase.creq!, purchase.threeDSSessionData)
  const step = { acsTransID: browser.hidden('acsTransID'), nonce: browser.hidden('nonce') }
  await browser.act('submit', code ?? (await l.lastCode(mobile)))
  return Object.assign(browser, { purchase, step })
}

/** The activation link the final page offers, after checking its QR code is exactly that link's. */
async function offeredLink(browser: ChallengeBrowser): Promise<string> {
  const img = /<img src="([^"]+)" alt="QR code to set up the authenticator"[^>]* data-link="([^"]+)"/.exec(
    browser.html,
  )
  expect(img, 'the final page offers the authenticator').not.toBeNull()
  const link = img![2].replace(/&amp;/g, '&')
  expect(img![1]).toBe(await qrSvgDataUri(link))
  expect(browser.html).toContain(`<a href="${img![2]}" target="_blank" rel="noopener noreferrer">`)
  return link
}

async function smsCardholder(serial: number): Promise<Holder> {
  const pan = visaPan(serial)
  const mobile = `+4477009${String(serial).padStart(5, '0')}`
  const res = await l.srv.api('/api/cardholders', {
    method: 'POST',
    token: l.token,
    json: { pan, expiry: '3012', name: `Sms ${serial}`, mobile, language: 'en', method: 'sms-otp' },
  })
  expect(res.status).toBe(201)
  const view = (await res.json()) as { id: number; cards: { id: number }[] }
  return { cardholderId: view.id, cardId: view.cards[0].id, pan, mobile }
}

describe('activation offered on the last page of a challenge passed with an SMS code', () => {
  it('enrolled for the mobile signature, no device yet: the page shows the code, which activates a phone', async () => {
    const holder = await enrol(l, 501)
    const browser = await challenge(holder.pan, holder.mobile)
    const link = await offeredLink(browser)
    expect(link).toMatch(new RegExp(`^${l.srv.url}/authenticator/#activate=[A-Za-z0-9_-]{32}$`))
    // The page waits for the cardholder: no auto-post script, a button posting the same CRes form.
    expect(browser.html).not.toContain('<script>')
    expect(browser.html).toContain('Payment confirmed')
    expect(browser.html).toContain('<button type="submit" class="primary">Return to the merchant</button>')
    expect(browser.headers!.get('content-security-policy')).toContain("script-src 'none'")
    expect(await browser.deliverFinal()).toMatchObject({ transStatus: 'Y' })
    expect((await l.rreqs(browser.purchase.id))[0]).toMatchObject({
      transStatus: 'Y',
      authenticationType: '02',
    })

    // The phone opens the link: the token is the first factor, the SMS code of the activation the second.
    const phone = new DeviceClient(l.srv.url)
    await phone.activate(new URL(link).hash.replace(/^#activate=/, ''), 'Pixel from checkout', PHONE)
    await phone.confirm(await lastSmsCode(l, holder.mobile))
    const next = await l.purchase({ pan: holder.pan, amount: 4550, flow: 'challenge' })
    expect(next.ares).toMatchObject({ transStatus: 'C', authenticationType: '03' })

    // Recorded as the cardholder's own action, under the masked card.
    const audit = (await (
      await l.srv.api('/api/audit?action=mobile.activation.create', { token: l.token })
    ).json()) as { items: { actor: string; target: string }[] }
    expect(audit.items).toContainEqual(
      expect.objectContaining({
        actor: `cardholder:${maskPan(holder.pan)}`,
        target: `cardholder:${holder.cardholderId}`,
      }),
    )
  })

  it('a token from the page works once: a second phone cannot use it', async () => {
    const holder = await enrol(l, 502)
    const token = new URL(await offeredLink(await challenge(holder.pan, holder.mobile))).hash.replace(
      /^#activate=/,
      '',
    )
    await new DeviceClient(l.srv.url).activate(token, 'First', PHONE)
    await expect(new DeviceClient(l.srv.url).activate(token, 'Second', PHONE)).rejects.toThrow(
      /already used or expired/,
    )
  })

  it('not offered: a posted-again final page, a failed challenge, or a cardholder outside the setting', async () => {
    const holder = await enrol(l, 503)
    const passed = await challenge(holder.pan, holder.mobile)
    await offeredLink(passed)
    // The code page posted again (back button, double submit) gets the plain auto-posting page: no new token.
    const again = await fetch(String(passed.purchase.ares.acsURL), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...passed.step, action: 'submit', otp: '000000' }).toString(),
    })
    const html = await again.text()
    expect(html).toContain('name="cres"')
    expect(html).toContain('<script>')
    expect(html).not.toContain('authenticator')

    const failing = await enrol(l, 504)
    const failed = await challenge(failing.pan, failing.mobile, '000000')
    for (let i = 0; i < 5 && !/name="cres"/.test(failed.html); i++) await failed.act('submit', '000000')
    expect(await failed.deliverFinal()).toMatchObject({ transStatus: 'N' })
    expect(failed.html).not.toContain('authenticator')

    // An SMS OTP cardholder: only with `all`; nobody with `off`.
    const sms = await smsCardholder(505)
    expect((await challenge(sms.pan, sms.mobile)).html).not.toContain('authenticator')
    await mobileSettings({ activationOnChallenge: 'all' })
    try {
      await offeredLink(await challenge(sms.pan, sms.mobile))
      await mobileSettings({ activationOnChallenge: 'off' })
      expect((await challenge(holder.pan, holder.mobile)).html).not.toContain('authenticator')
    } finally {
      await mobileSettings({ activationOnChallenge: 'enrolled' })
    }
    const tokens = l.srv.services.db
      .prepare('SELECT COUNT(*) FROM mobile_activation_tokens WHERE cardholder_id = ?')
      .pluck()
    expect(tokens.get(holder.cardholderId)).toBe(1)
    expect(tokens.get(failing.cardholderId)).toBe(0)
  })

  it('in the cardholder’s browser language', async () => {
    const holder = await enrol(l, 506)
    const browser = await challenge(holder.pan, holder.mobile, undefined, { browserLanguage: 'de-DE' })
    expect(browser.html).toContain('Zahlung bestätigt')
    expect(browser.html).toContain('alt="QR-Code zum Einrichten des Authenticators"')
    expect(browser.html).toContain('Zurück zum Händler')
  })
})
