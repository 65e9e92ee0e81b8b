import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CARDS, ChallengeBrowser, startLab, type Lab } from './acs-lab'
import { importFile } from './dongles-helpers'
import { postStep, reply, useMethod } from './oob-lab'

/**
 * OTP Dongle A (code typed on the challenge page) and B (code sent by SMS to the issuer's number) through
 * the dongle inventory, with codes from oathtool (an independent HOTP/TOTP implementation) for the RFC 4226
 * seed: look-ahead, replay, auto-resync from two consecutive codes, the token lock, and decoupled by SMS.
 */
const RFC_SEED = Buffer.from('12345678901234567890').toString('hex')
const hotp = (counter: number) =>
  execFileSync('oathtool', ['--hotp', '-c', String(counter), RFC_SEED])
    .toString()
    .trim()
const totpNow = (seed: string) => execFileSync('oathtool', ['--totp', seed]).toString().trim()
const TOTP_SEED = Buffer.from('totp-seed-for-oob-20').toString('hex') // 20 bytes: SHA-1 (OATH CSV picks the hash by seed length)

let lab: Lab
let issuerId: number
const hotpCard = CARDS.visaEn
const totpCard = CARDS.mastercardDe

const api = async (path: string, init: RequestInit & { json?: unknown } = {}) => {
  const res = await lab.srv.api(path, { ...init, token: lab.token })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}
const holderOf = (mobile: string) =>
  lab.srv.services.db.prepare('SELECT id FROM cardholders WHERE mobile = ?').pluck().get(mobile) as number

beforeAll(async () => {
  lab = await startLab()
  issuerId = lab.srv.services.db.prepare('SELECT id FROM issuers ORDER BY id LIMIT 1').pluck().get() as number
  await api(`/api/fraud/settings/${issuerId}`, { method: 'PUT', json: { notify: 'off' } })
  const { job } = await importFile(
    lab.srv,
    lab.token,
    'oob.csv',
    `OOB-H1,${RFC_SEED},hotp,6,30\nOOB-T1,${TOTP_SEED},totp,6,30`,
  )
  expect(job.status).toBe('done')
  for (const [serial, card] of [
    ['OOB-H1', hotpCard],
    ['OOB-T1', totpCard],
  ] as const) {
    useMethod(lab, card.mobile, 'dongle')
    const res = await api(`/api/dongles/tokens/${serial}/assign`, {
      method: 'POST',
      json: { cardholderId: holderOf(card.mobile) },
    })
    expect(res.status).toBe(200)
  }
})
afterAll(async () => {
  await lab.srv.stop()
})

async function challenge(card: typeof hotpCard) {
  const before = (await lab.smsTexts(card.mobile)).length
  const p = await lab.purchase({ pan: card.pan, amount: 3_000, flow: 'challenge' })
  expect(p.ares).toMatchObject({ transStatus: 'C', authenticationType: '02' })
  const browser = new ChallengeBrowser(String(p.ares.acsURL))
  await browser.open(p.creq!, p.threeDSSessionData)
  return { p, browser, smsSent: async () => (await lab.smsTexts(card.mobile)).length - before }
}

describe('OTP Dongle A (code on the page)', () => {
  it('HOTP: asks for the token code (no SMS), accepts the RFC 4226 code from oathtool once; a replay is a wrong code', async () => {
    const { p, browser, smsSent } = await challenge(hotpCard)
    expect(browser.html).toContain('Enter the code shown on your security token.')
    expect(browser.html).not.toContain('We sent')
    expect(hotp(0)).toBe('755224')
    await browser.act('submit', hotp(0))
    expect((await lab.rreqs(p.id))[0]).toMatchObject({ transStatus: 'Y', authenticationType: '02' })
    expect(await smsSent()).toBe(0)

    const replay = await challenge(hotpCard)
    await replay.browser.act('submit', hotp(0))
    expect(replay.browser.html).toContain('Incorrect code. 2 attempts left.')
    // Inside the look-ahead window of 10.
    await replay.browser.act('submit', hotp(6))
    expect((await lab.rreqs(replay.p.id))[0]).toMatchObject({ transStatus: 'Y', interactionCounter: '02' })
  })

  it('two consecutive codes far ahead resynchronise the token (within one challenge)', async () => {
    const { p, browser } = await challenge(hotpCard)
    await browser.act('submit', hotp(500))
    expect(browser.html).toContain('Incorrect code. 2 attempts left.')
    await browser.act('submit', hotp(501))
    expect((await lab.rreqs(p.id))[0]).toMatchObject({ transStatus: 'Y' })
    const next = await challenge(hotpCard)
    await next.browser.act('submit', hotp(502))
    expect((await lab.rreqs(next.p.id))[0]).toMatchObject({ transStatus: 'Y' })
  })

  it('TOTP: the current oathtool code passes once; the same step again is refused', async () => {
    const { p, browser } = await challenge(totpCard)
    const code = totpNow(TOTP_SEED)
    await browser.act('submit', code)
    expect((await lab.rreqs(p.id))[0]).toMatchObject({ transStatus: 'Y' })
    const again = await challenge(totpCard)
    await again.browser.act('submit', code)
    // The generic message, in the browser's language (the lab's default, English).
    expect(again.browser.html).toContain('Incorrect code. 2 attempts left.')
  })

  it('the token locks after 10 failures; then even the right code gets the generic answer; an unlock restores it', async () => {
    await api(`/api/auth-methods/settings/${issuerId}`, { method: 'PUT', json: { maxAttempts: 10 } })
    try {
      const { p, browser } = await challenge(hotpCard)
      for (let i = 0; i < 10; i++) await browser.act('submit', '000000')
      expect((await lab.rreqs(p.id))[0]).toMatchObject({ transStatus: 'N', interactionCounter: '10' })
      const token = await api('/api/dongles/tokens/OOB-H1')
      expect(token.body.lockedUntil).toBeDefined()

      const locked = await challenge(hotpCard)
      await locked.browser.act('submit', '000000')
      const wrongPage = locked.browser.html
        .replace(/name="nonce" value="[^"]*"/, '')
        .replace('9 attempts', 'N')
      await locked.browser.act('submit', hotp(503))
      const rightPage = locked.browser.html
        .replace(/name="nonce" value="[^"]*"/, '')
        .replace('8 attempts', 'N')
      expect(rightPage).toBe(wrongPage)
      expect((await api('/api/dongles/tokens/OOB-H1/unlock', { method: 'POST', json: {} })).status).toBe(200)
      await locked.browser.act('submit', hotp(504))
      expect((await lab.rreqs(locked.p.id))[0]).toMatchObject({ transStatus: 'Y' })
    } finally {
      await api(`/api/auth-methods/settings/${issuerId}`, { method: 'PUT', json: {} })
    }
  })

  it('app: native code screen (acsUiType 01) through the lab SDK emulator', async () => {
    const p = await lab.purchase({ pan: hotpCard.pan, amount: 3_000, flow: 'challenge', channel: 'app' })
    const step = async (body: Record<string, unknown>) =>
      (await api(`/api/lab/purchases/${p.id}/app`, { method: 'POST', json: body })).body as {
        message: Record<string, unknown>
      }
    const first = await step({ action: 'start' })
    expect(first.message).toMatchObject({
      acsUiType: '01',
      challengeInfoText: expect.stringContaining('security token'),
    })
    expect(first.message.resendInformationLabel).toBeUndefined()
    expect((await step({ action: 'code', code: hotp(505) })).message).toMatchObject({ transStatus: 'Y' })
  })
})

describe('OTP Dongle B (code by SMS)', () => {
  it('decoupled: the SMS asks for the token code; a reply from another number does nothing; the right reply → Y', async () => {
    const p = await lab.purchase({ pan: hotpCard.pan, amount: 8_000, flow: 'decoupled' })
    expect(p.ares.transStatus).toBe('D')
    expect((await lab.smsTexts(hotpCard.mobile)).at(-1)).toContain('reply with the code shown on your token')
    expect((await reply(lab, CARDS.visaFr.mobile, hotp(506))).outcome).toBe('unmatched')
    expect((await reply(lab, hotpCard.mobile, hotp(400))).outcome).toBe('rejected')
    expect(
      (await reply(lab, hotpCard.mobile, ` ${hotp(506).slice(0, 3)} ${hotp(506).slice(3)} `)).outcome,
    ).toBe('matched')
    expect((await lab.rreqs(p.id))[0]).toMatchObject({ transStatus: 'Y', authenticationType: '04' })
    // The inbox shows the replies with their codes masked (a token code may still be ahead of the counter).
    const inbox = (await api(`/api/sms/inbox?from=${encodeURIComponent(hotpCard.mobile)}`)).body as {
      text: string
    }[]
    expect(inbox.map((m) => m.text)).toContain('••••••')
    expect(inbox.map((m) => m.text)).toContain(' ••• ••• ')
    expect(JSON.stringify(inbox)).not.toContain(hotp(400))
  })

  it('browser with dongleAnswer=sms: the page shows the issuer number and waits; the SMS reply finishes it', async () => {
    await api(`/api/auth-methods/settings/${issuerId}`, {
      method: 'PUT',
      json: { dongleAnswer: 'sms', replyNumber: '+447700900999' },
    })
    try {
      const { p, browser } = await challenge(hotpCard)
      expect(browser.html).toContain('Send the code shown on your security token by SMS to +447700900999')
      expect(browser.html).toMatch(/value="continue"/)
      // Typing a code on the page decides nothing in this mode.
      const typed = await postStep(String(p.ares.acsURL), browser.html, 'submit')
      expect(typed).toContain('Waiting for your reply')
      expect((await reply(lab, hotpCard.mobile, hotp(507))).outcome).toBe('matched')
      expect((await lab.rreqs(p.id))[0]).toMatchObject({ transStatus: 'Y', interactionCounter: '01' })
    } finally {
      await api(`/api/auth-methods/settings/${issuerId}`, { method: 'PUT', json: {} })
    }
  })

  it('app with dongleAnswer=sms: the ARes announces the out-of-band screen its first CRes shows', async () => {
    await api(`/api/auth-methods/settings/${issuerId}`, { method: 'PUT', json: { dongleAnswer: 'sms' } })
    try {
      const p = await lab.purchase({ pan: hotpCard.pan, amount: 3_000, flow: 'challenge', channel: 'app' })
      expect(p.ares).toMatchObject({
        transStatus: 'C',
        acsRenderingType: { acsInterface: '01', acsUiTemplate: '04' },
      })
      const first = (
        await api(`/api/lab/purchases/${p.id}/app`, { method: 'POST', json: { action: 'start' } })
      ).body as { message: Record<string, unknown> }
      expect(first.message).toMatchObject({ acsUiType: '04' })
      expect((await reply(lab, hotpCard.mobile, hotp(508))).outcome).toBe('matched')
      expect((await lab.rreqs(p.id))[0]).toMatchObject({ transStatus: 'Y' })
    } finally {
      await api(`/api/auth-methods/settings/${issuerId}`, { method: 'PUT', json: {} })
    }
  })
})
