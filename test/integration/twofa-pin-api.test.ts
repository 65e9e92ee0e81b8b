import Database from 'better-sqlite3'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { json, pinOf, twofaLab, type TwofaLab } from './twofa-helpers'

const FAST = { verifyPinLimit: '100/1s', sendPinPerPhoneNumberLimit: '100/1d' }
let phoneSeq = 0
/** A fresh number per test, so the per-phone limits of one test never touch another. */
const phone = () => `+4479460${String(++phoneSeq).padStart(5, '0')}`

describe('2FA PIN API', () => {
  let lab: TwofaLab
  let app: { applicationId: string; apiKey: string }
  let messageId: string
  const send = (to: string, extra: Record<string, unknown> = {}, a = app, m = messageId) =>
    lab.pinApi('/2fa/v1/pin', a.apiKey, { applicationId: a.applicationId, messageId: m, to, ...extra })
  const verify = (pinId: string, pin: string, a = app) =>
    lab.pinApi(`/2fa/v1/pin/${pinId}/verify`, a.apiKey, { pin })

  beforeAll(async () => {
    lab = await twofaLab()
    app = await lab.createApp({ ...FAST, pinAttempts: 3 })
    messageId = await lab.createMessage(app.applicationId)
  })
  afterAll(() => lab.stop())

  it('sends a PIN that verifies once, then never again', async () => {
    const to = phone()
    const sent = await json(await send(to))
    expect(sent).toEqual({ pinId: expect.stringMatching(/^[0-9A-F]{32}$/), to, smsStatus: 'MESSAGE_SENT' })
    const pin = await pinOf(lab, to, 1)
    expect(pin).toMatch(/^\d{6}$/)
    const ok = await json(await verify(sent.pinId as string, pin))
    expect(ok).toEqual({ pinId: sent.pinId, msisdn: to, verified: true, attemptsRemaining: 3 })
    const again = await json(await verify(sent.pinId as string, pin))
    expect(again).toMatchObject({ verified: false, pinError: 'PIN_ALREADY_USED' })
    const status = await json(await lab.pinApi(`/2fa/v1/pin/${sent.pinId}`, app.apiKey, undefined, 'GET'))
    expect(status).toMatchObject({ status: 'VERIFIED', msisdn: to })
  })

  it('accepts Infobip-style numbers without the plus sign', async () => {
    const to = phone()
    const sent = await json(await send(to.slice(1)))
    expect(sent.to).toBe(to)
    await pinOf(lab, to, 1)
  })

  it('counts wrong PINs and, once exhausted, answers the same for a right one', async () => {
    const to = phone()
    const { pinId } = (await json(await send(to))) as { pinId: string }
    const pin = await pinOf(lab, to, 1)
    const wrong = pin === '000000' ? '111111' : '000000'
    expect(await json(await verify(pinId, wrong))).toEqual({
      pinId,
      msisdn: to,
      verified: false,
      attemptsRemaining: 2,
      pinError: 'WRONG_PIN',
    })
    expect(await json(await verify(pinId, 'not-even-digits'))).toMatchObject({
      attemptsRemaining: 1,
      pinError: 'WRONG_PIN',
    })
    expect(await json(await verify(pinId, wrong))).toMatchObject({
      verified: false,
      attemptsRemaining: 0,
      pinError: 'NO_MORE_PIN_ATTEMPTS',
    })
    const withRight = await json(await verify(pinId, pin))
    const withWrong = await json(await verify(pinId, wrong))
    expect(withRight).toEqual(withWrong)
    expect(withRight).toMatchObject({
      verified: false,
      attemptsRemaining: 0,
      pinError: 'NO_MORE_PIN_ATTEMPTS',
    })
    const status = await json(await lab.pinApi(`/2fa/v1/pin/${pinId}`, app.apiKey, undefined, 'GET'))
    expect(status).toMatchObject({ status: 'NO_MORE_PIN_ATTEMPTS', attemptsRemaining: 0 })
  })

  it('expires a PIN after its time to live, right PIN or not', async () => {
    const shortApp = await lab.createApp({ ...FAST, pinTimeToLive: '1s' }, 'Short TTL')
    const shortMessage = await lab.createMessage(shortApp.applicationId)
    const to = phone()
    const { pinId } = (await json(await send(to, {}, shortApp, shortMessage))) as { pinId: string }
    const pin = await pinOf(lab, to, 1)
    await new Promise((r) => setTimeout(r, 1100))
    const expired = await json(await verify(pinId, pin, shortApp))
    expect(expired).toEqual({
      pinId,
      msisdn: to,
      verified: false,
      attemptsRemaining: 10,
      pinError: 'TTL_EXPIRED',
    })
    const status = await json(await lab.pinApi(`/2fa/v1/pin/${pinId}`, shortApp.apiKey, undefined, 'GET'))
    expect(status.status).toBe('TTL_EXPIRED')
  })

  it('limits verifications per PIN (default 1/3s) with 429 and Retry-After, without using an attempt', async () => {
    const defaults = await lab.createApp({}, 'Defaults')
    const m = await lab.createMessage(defaults.applicationId)
    const appView = await json(
      await lab.srv.api(`/api/2fa/applications/${defaults.applicationId}`, { token: lab.token }),
    )
    expect(appView.configuration).toEqual({
      pinAttempts: 10,
      pinTimeToLive: '15m',
      verifyPinLimit: '1/3s',
      sendPinPerPhoneNumberLimit: '3/1d',
      sendPinPerApplicationLimit: '10000/1d',
    })
    const to = phone()
    const { pinId } = (await json(await send(to, {}, defaults, m))) as { pinId: string }
    const pin = await pinOf(lab, to, 1)
    const first = await json(await verify(pinId, pin === '000000' ? '111111' : '000000', defaults))
    expect(first).toMatchObject({ pinError: 'WRONG_PIN', attemptsRemaining: 9 })
    const res = await verify(pinId, pin, defaults)
    expect(res.status).toBe(429)
    const retryAfter = Number(res.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(3)
    const problem = await json(res)
    expect(problem).toMatchObject({ status: 429, retryAfter })
    expect(String(problem.detail)).toContain('1/3s')
    const status = await json(await lab.pinApi(`/2fa/v1/pin/${pinId}`, defaults.apiKey, undefined, 'GET'))
    expect(status).toMatchObject({ status: 'PENDING', attemptsRemaining: 9 })
  })

  it('limits PINs per phone number (3/1d by default): the fourth is refused for about a day', async () => {
    const defaults = await lab.createApp({}, 'Per phone')
    const m = await lab.createMessage(defaults.applicationId)
    const to = phone()
    for (let i = 0; i < 3; i++) expect((await send(to, {}, defaults, m)).status).toBe(200)
    const refused = await send(to, {}, defaults, m)
    expect(refused.status).toBe(429)
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(86_400 - 60)
    expect(retryAfter).toBeLessThanOrEqual(86_400)
    expect(String((await json(refused)).detail)).toContain('per phone number (3/1d)')
    // Another number is not affected, and neither is the same number in another application.
    expect((await send(phone(), {}, defaults, m)).status).toBe(200)
    expect((await send(to)).status).toBe(200)
    await lab.smsTo(to, 4)
  })

  it('limits PINs per application', async () => {
    const small = await lab.createApp({ ...FAST, sendPinPerApplicationLimit: '2/1h' }, 'Small')
    const m = await lab.createMessage(small.applicationId)
    expect((await send(phone(), {}, small, m)).status).toBe(200)
    expect((await send(phone(), {}, small, m)).status).toBe(200)
    const refused = await send(phone(), {}, small, m)
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3500)
    expect(String((await json(refused)).detail)).toContain('per application (2/1h)')
  })

  it('resends a new PIN under the same pinId; the old PIN stops working; limits and attempts carry over', async () => {
    const resendApp = await lab.createApp(
      { verifyPinLimit: '100/1s', sendPinPerPhoneNumberLimit: '2/1d', pinAttempts: 5 },
      'Resend',
    )
    const m = await lab.createMessage(resendApp.applicationId)
    const to = phone()
    const { pinId } = (await json(await send(to, {}, resendApp, m))) as { pinId: string }
    const first = await pinOf(lab, to, 1)
    expect(
      await json(await verify(pinId, first === '000000' ? '111111' : '000000', resendApp)),
    ).toMatchObject({
      attemptsRemaining: 4,
    })
    const resent = await json(await lab.pinApi(`/2fa/v1/pin/${pinId}/resend`, resendApp.apiKey, {}))
    expect(resent).toEqual({ pinId, to, smsStatus: 'MESSAGE_SENT' })
    const second = await pinOf(lab, to, 2)
    if (second !== first) {
      expect(await json(await verify(pinId, first, resendApp))).toMatchObject({
        verified: false,
        pinError: 'WRONG_PIN',
        attemptsRemaining: 3,
      })
    }
    // The resend was the second send to this number: the per-phone limit (2/1d) is now used up.
    const third = await lab.pinApi(`/2fa/v1/pin/${pinId}/resend`, resendApp.apiKey, {})
    expect(third.status).toBe(429)
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(86_000)
    expect(await json(await verify(pinId, second, resendApp))).toMatchObject({ verified: true })
    const afterVerified = await lab.pinApi(`/2fa/v1/pin/${pinId}/resend`, resendApp.apiKey, {})
    expect(afterVerified.status).toBe(409)
    expect((await json(afterVerified)).detail).toMatch(/already verified/)
  })

  it('fills placeholders and masks the PIN everywhere but on the phone', async () => {
    const m = await lab.createMessage(app.applicationId, {
      messageText: 'Hello {{name}}, your {{service}} PIN is {{pin}}.',
      pinLength: 8,
      pinType: 'HEX',
    })
    const to = phone()
    const { pinId } = (await json(
      await send(to, { placeholders: { name: 'Ann', service: 'Bank' } }, app, m),
    )) as {
      pinId: string
    }
    const [text] = await lab.smsTo(to, 1)
    expect(text).toMatch(/^Hello Ann, your Bank PIN is [0-9A-F]{8}\.$/)
    const pin = /PIN is ([0-9A-F]{8})/.exec(text)![1]
    // Lower case is accepted: codes are normalised to upper case before comparison.
    expect(await json(await verify(pinId, pin.toLowerCase()))).toMatchObject({ verified: true })

    const outbox = (await json(
      await lab.srv.api(`/api/sms/outbox?to=${encodeURIComponent(to)}`, { token: lab.token }),
    )) as unknown as { text: string }[]
    expect(outbox[0].text).toBe('Hello Ann, your Bank PIN is ••••••••.')

    const missing = await send(phone(), { placeholders: { name: 'Ann' } }, app, m)
    expect(missing.status).toBe(400)
    expect((await json(missing)).detail).toContain('service')
  })

  it('supports every pinType', async () => {
    const patterns = {
      NUMERIC: /^\d{5}$/,
      ALPHA: /^[A-Z]{5}$/,
      HEX: /^[0-9A-F]{5}$/,
      ALPHANUMERIC: /^[0-9A-Z]{5}$/,
    }
    for (const [pinType, pattern] of Object.entries(patterns)) {
      const m = await lab.createMessage(app.applicationId, { pinType, pinLength: 5 })
      const to = phone()
      await json(await send(to, {}, app, m))
      expect(await pinOf(lab, to, 1)).toMatch(pattern)
    }
  })

  it('keeps only keyed hashes of PINs and API keys, and logs neither', async () => {
    const to = phone()
    const { pinId } = (await json(await send(to))) as { pinId: string }
    const pin = await pinOf(lab, to, 1)
    const db = new Database(join(lab.srv.dataDir, 'ims.db'), { readonly: true })
    try {
      const row = db.prepare('SELECT * FROM twofa_pins WHERE id = ?').get(pinId) as Record<string, unknown>
      const stored = JSON.stringify(row, (_k, v: unknown) =>
        Buffer.isBuffer(v) ? v.toString('hex') : (v as string),
      )
      expect(stored).not.toContain(pin)
      const appRow = db
        .prepare('SELECT key_hash, key_prefix FROM twofa_applications WHERE id = ?')
        .get(app.applicationId) as { key_hash: Buffer; key_prefix: string }
      expect(appRow.key_hash.equals(createHash('sha256').update(app.apiKey).digest())).toBe(true)
      expect(app.apiKey.startsWith(appRow.key_prefix)).toBe(true)
      expect(appRow.key_prefix.length).toBeLessThan(16)
    } finally {
      db.close()
    }
    await verify(pinId, pin)
    expect(lab.srv.logText()).not.toContain(pin)
    expect(lab.srv.logText()).not.toContain(app.apiKey)
  })

  it('counts usage per application', async () => {
    const counted = await lab.createApp(
      { verifyPinLimit: '100/1s', sendPinPerPhoneNumberLimit: '1/1d' },
      'Counted',
    )
    const m = await lab.createMessage(counted.applicationId)
    const to = phone()
    const { pinId } = (await json(await send(to, {}, counted, m))) as { pinId: string }
    expect((await send(to, {}, counted, m)).status).toBe(429)
    const pin = await pinOf(lab, to, 1)
    await verify(pinId, pin === '000000' ? '111111' : '000000', counted)
    await verify(pinId, pin, counted)
    const usage = await json(
      await lab.srv.api(`/api/2fa/applications/${counted.applicationId}/usage`, { token: lab.token }),
    )
    expect(usage.totals).toEqual({ sent: 1, verified: 1, failed: 1, limited: 1 })
    expect(usage.days).toEqual([
      { day: new Date().toISOString().slice(0, 10), sent: 1, verified: 1, failed: 1, limited: 1 },
    ])
  })
})
