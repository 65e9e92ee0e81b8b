import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CARDS, ChallengeBrowser, startLab, type Lab } from './acs-lab'

/**
 * SMS OTP (Push B) on the OTP engine, per-issuer code settings, and the message templates API: stored
 * and validated, used for the next SMS with the amount and merchant, previewed with alphabet and parts.
 */
let lab: Lab
let issuerId: number
const card = CARDS.mastercardDe

const api = async (path: string, init: RequestInit & { json?: unknown } = {}) => {
  const res = await lab.srv.api(path, { ...init, token: lab.token })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

beforeAll(async () => {
  lab = await startLab()
  issuerId = lab.srv.services.db.prepare('SELECT id FROM issuers ORDER BY id LIMIT 1').pluck().get() as number
  // Keep the phone's last SMS the code: no fraud alerts in this file.
  await api(`/api/fraud/settings/${issuerId}`, { method: 'PUT', json: { notify: 'off' } })
})
afterAll(async () => {
  await lab.srv.stop()
})

async function challenge(amount = 2_500) {
  // A German browser: the pages below are in German.
  const p = await lab.purchase({
    pan: card.pan,
    amount,
    flow: 'challenge',
    merchantName: 'Tea House',
    browserLanguage: 'de-DE',
  })
  const browser = new ChallengeBrowser(String(p.ares.acsURL))
  await browser.open(p.creq!, p.threeDSSessionData)
  return { p, browser }
}

describe('SMS OTP codes', () => {
  it('the code is stored only as a keyed hash and is single use', async () => {
    const { p, browser } = await challenge()
    const code = await lab.lastCode(card.mobile)
    const state = lab.srv.services.db
      .prepare('SELECT method_state FROM acs_challenges WHERE acs_trans_id = ?')
      .pluck()
      .get(p.acsTransID) as string
    expect(state).not.toContain(code)
    expect(JSON.parse(state).state.record).toMatchObject({
      length: 6,
      alphabet: 'NUMERIC',
      status: 'pending',
    })
    await browser.act('submit', code)
    expect((await lab.rreqs(p.id))[0]).toMatchObject({ transStatus: 'Y' })
    // The same code on a new challenge is just a wrong code.
    const again = await challenge()
    const fresh = await lab.lastCode(card.mobile)
    if (fresh !== code) {
      await again.browser.act('submit', code)
      expect(again.browser.html).toContain('Falscher Code. Noch 2 Versuche.')
    }
  })

  it('an expired code gets exactly the answer a wrong code gets; the attempts run out the same way', async () => {
    const { p, browser } = await challenge()
    const code = await lab.lastCode(card.mobile)
    const db = lab.srv.services.db
    const raw = JSON.parse(
      db
        .prepare('SELECT method_state FROM acs_challenges WHERE acs_trans_id = ?')
        .pluck()
        .get(p.acsTransID) as string,
    )
    raw.state.record.expiresAt = Date.now() - 1
    db.prepare('UPDATE acs_challenges SET method_state = ? WHERE acs_trans_id = ?').run(
      JSON.stringify(raw),
      p.acsTransID,
    )
    await browser.act('submit', code)
    const expiredPage = browser.html.replace(/name="nonce" value="[^"]*"/, '')
    await browser.act('submit', code === '000000' ? '111111' : '000000')
    const wrongPage = browser.html.replace(/name="nonce" value="[^"]*"/, '')
    expect(expiredPage).toContain('Falscher Code. Noch 2 Versuche.')
    expect(wrongPage).toContain('Falscher Code. Noch 1 Versuch.')
    expect(expiredPage.replace('2 Versuche', 'N').replace(/aria-invalid/g, '')).toBe(
      wrongPage.replace('1 Versuch', 'N').replace(/aria-invalid/g, ''),
    )
    await browser.act('submit', code)
    expect((await lab.rreqs(p.id))[0]).toMatchObject({ transStatus: 'N', interactionCounter: '03' })
  })

  it('per-issuer settings: code length and attempts override the ACS settings', async () => {
    const put = await api(`/api/auth-methods/settings/${issuerId}`, {
      method: 'PUT',
      json: { otpLength: 8, maxAttempts: 1 },
    })
    expect(put.body.effective).toMatchObject({ otpLength: 8, maxAttempts: 1, otpTtlSeconds: 300 })
    expect(
      (await api(`/api/auth-methods/settings/${issuerId}`, { method: 'PUT', json: { otpLength: 12 } }))
        .status,
    ).toBe(400)
    try {
      const { p, browser } = await challenge()
      const code = await lab.lastCode(card.mobile)
      expect(code).toMatch(/^\d{8}$/)
      await browser.act('submit', code === '00000000' ? '11111111' : '00000000')
      expect((await lab.rreqs(p.id))[0]).toMatchObject({ transStatus: 'N' })
    } finally {
      await api(`/api/auth-methods/settings/${issuerId}`, { method: 'PUT', json: {} })
    }
  })
})

describe('message templates', () => {
  it('refuses an invalid template with every problem named', async () => {
    const bad = await api(`/api/templates/${issuerId}/otp/de`, {
      method: 'PUT',
      json: { text: 'Nutzen Sie {{code}} {{pin}}' },
    })
    expect(bad.status).toBe(422)
    expect(bad.body.errors.map((e: { message: string }) => e.message)).toEqual([
      'unknown placeholder {{pin}} (known: {{code}}, {{ref}}, {{amount}}, {{merchant}}, {{card}})',
    ])
    const noCode = await api(`/api/templates/${issuerId}/otp/de`, {
      method: 'PUT',
      json: { text: 'Nutzen Sie {{code}}' },
    })
    expect(noCode.body.errors[0].message).toContain('right after the word "code"')
    expect(
      (await api(`/api/templates/${issuerId}/otp/xx1`, { method: 'PUT', json: { text: 'Code {{code}}' } }))
        .status,
    ).toBe(400)
  })

  it('a stored template is used for the next SMS, with amount and merchant; reset goes back to the built-in text', async () => {
    const text =
      'Code {{code}}: {{#merchant}}{{merchant}} {{/merchant}}{{amount}}, Karte {{card}}. Niemals weitergeben!'
    const saved = await api(`/api/templates/${issuerId}/otp/de`, { method: 'PUT', json: { text } })
    expect(saved.body).toMatchObject({
      kind: 'otp',
      language: 'de',
      custom: true,
      updatedBy: 'operator:admin',
    })
    await challenge(4_321)
    const sms = (await lab.smsTexts(card.mobile)).at(-1)!
    expect(sms).toMatch(/^Code \d{6}: Tea House EUR 43\.21, Karte \*4444\. Niemals weitergeben!$/)
    const listed = (await api(`/api/templates/${issuerId}`)).body as {
      kind: string
      language: string
      custom: boolean
    }[]
    expect(listed.find((t) => t.kind === 'otp' && t.language === 'de')).toMatchObject({ custom: true })
    expect(listed.find((t) => t.kind === 'otp' && t.language === 'fr')).toMatchObject({ custom: false })
    expect((await api(`/api/templates/${issuerId}/otp/de`, { method: 'DELETE' })).status).toBe(204)
    await challenge()
    expect((await lab.smsTexts(card.mobile)).at(-1)).toMatch(
      /^Ihr Code \d{6} für EUR 25\.00 bei Tea House, Karte \*4444\./,
    )
    const audit = JSON.stringify((await api('/api/audit?limit=50')).body)
    expect(audit).toContain('template.save')
    expect(audit).toContain('template.reset')
  })

  it('preview: GSM-7 or UCS-2 and the number of SMS parts', async () => {
    const gsm = await api('/api/templates/preview', {
      method: 'POST',
      json: { kind: 'otp', text: 'Your code {{code}} for {{amount}} at {{merchant}}. Never share it.' },
    })
    expect(gsm.body).toMatchObject({ encoding: 'gsm7', segments: 1, problems: [] })
    expect(gsm.body.text).toMatch(
      /^Your code 8{6} for EUR 1234\.56 at Example Merchant Online Store Ltd\. Never share it\.$/,
    )
    const ucs = await api('/api/templates/preview', {
      method: 'POST',
      json: { kind: 'otp', text: 'Ваш code {{code}} — {{amount}} {{merchant}} '.repeat(2) },
    })
    expect(ucs.body).toMatchObject({ encoding: 'ucs2', segments: 2, unitsPerSegment: 67 })
    const invalid = await api('/api/templates/preview', {
      method: 'POST',
      json: { kind: 'fraud-alert', text: 'hello' },
    })
    expect(invalid.body.problems.length).toBeGreaterThan(0)
  })
})
