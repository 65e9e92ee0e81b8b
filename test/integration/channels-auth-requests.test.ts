import { execFileSync } from 'node:child_process'
import { createHmac, timingSafeEqual } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuthenticationMethod } from '../../src-server/auth-methods/method'
import { REQUEST_TTL_MS } from '../../src-server/channels/auth-requests'
import { json } from './twofa-helpers'
import { channelLab, webhookReceiver, type ChannelLab, type ReceivedWebhook } from './channels-helpers'
import { importFile } from './dongles-helpers'

const VISA_FR = { pan: '4111111111111111', mobile: '+33612345601', masked: '411111******1111' }
const VISA_EN = { pan: '4000000000000002', mobile: '+447700900002' }
const MC_DE = { pan: '5555555555554444', mobile: '+4915112345603' }
const NO_METHOD = '4242424242424242'
const SUSPENDED = '4012888888881881'
const ALL_PANS = [VISA_FR.pan, VISA_EN.pan, MC_DE.pan, NO_METHOD, SUSPENDED, '4000000000000010']

/** An independent check of the webhook signature: HMAC-SHA-256 over "<t>.<body>" with the secret's bytes. */
function signatureValid(hook: ReceivedWebhook, secret: string): boolean {
  const header = String(hook.headers['ims-signature'])
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header)
  if (!m) return false
  const expected = createHmac('sha256', secret).update(`${m[1]}.${hook.body}`).digest()
  return (
    Math.abs(Date.now() / 1000 - Number(m[1])) < 300 && timingSafeEqual(expected, Buffer.from(m[2], 'hex'))
  )
}

describe('MOTO / EDC / ECOM authentication requests', () => {
  let lab: ChannelLab
  let receiver: Awaited<ReturnType<typeof webhookReceiver>>
  let client: { clientId: string; apiKey: string; webhookSecret: string }
  const start = (body: Record<string, unknown>, key = client.apiKey) =>
    lab.call(key, '/api/v1/auth-requests', {
      amount: '49.90',
      currency: 'EUR',
      merchant: 'Phone Shop',
      ...body,
    })
  const hooksFor = (id: string) => (h: ReceivedWebhook) =>
    (JSON.parse(h.body) as { authRequest: { id: string } }).authRequest.id === id

  beforeAll(async () => {
    lab = await channelLab()
    // The first delivery of every event fails: each webhook below is also a retry from the outbox.
    const seen = new Set<string>()
    receiver = await webhookReceiver((_n, hook) => {
      const event = String(hook.headers['ims-event-id'])
      if (seen.has(event)) return 204
      seen.add(event)
      return 503
    })
    client = await lab.createClient({
      name: 'Call centre',
      channels: ['MOTO', 'EDC'],
      webhookUrl: receiver.url,
    })
  })
  afterAll(async () => {
    await lab.srv.stop()
    await receiver.close()
  })

  it('MOTO with SMS OTP: the agent enters the code the cardholder reads out; result by GET and signed webhook', async () => {
    const res = await start({ channel: 'MOTO', pan: VISA_FR.pan })
    expect(res.status).toBe(201)
    const created = await json(res)
    expect(created).toMatchObject({
      status: 'pending',
      channel: 'MOTO',
      card: { masked: VISA_FR.masked, reference: expect.stringMatching(/^crd_/) },
      amount: '49.90',
      currency: 'EUR',
      merchant: 'Phone Shop',
      method: 'sms-otp',
      interaction: 'code-entry',
      prompt: { kind: 'code', codeLength: 6, maskedDestination: '+336******01' },
    })
    const [text] = await lab.smsTexts(VISA_FR.mobile, 1)
    expect(text).toContain('EUR 49.90')
    expect(text).toContain('Phone Shop')
    const code = await lab.lastCode(VISA_FR.mobile, 1)
    const wrong = code === '000000' ? '111111' : '000000'
    const afterWrong = await json(
      await lab.call(client.apiKey, `/api/v1/auth-requests/${created.id}/verify`, { code: wrong }),
    )
    expect(afterWrong).toMatchObject({ status: 'pending', notice: { kind: 'wrong-code', attemptsLeft: 2 } })
    const done = await json(
      await lab.call(client.apiKey, `/api/v1/auth-requests/${created.id}/verify`, { code }),
    )
    expect(done).toMatchObject({ status: 'authenticated', decidedAt: expect.any(String) })
    expect(done).not.toHaveProperty('notice')
    const got = await json(
      await lab.call(client.apiKey, `/api/v1/auth-requests/${created.id}`, undefined, 'GET'),
    )
    expect(got).toEqual(done)

    const again = await lab.call(client.apiKey, `/api/v1/auth-requests/${created.id}/verify`, { code })
    expect(again.status).toBe(409)
    expect((await json(again)).detail).toMatch(/already authenticated/)

    const hooks = await receiver.waitFor(hooksFor(created.id as string), 2)
    expect(hooks.map((h) => h.headers['ims-delivery-attempt'])).toEqual(['1', '2'])
    expect(hooks[0].headers['ims-event-id']).toBe(hooks[1].headers['ims-event-id'])
    for (const hook of hooks) expect(signatureValid(hook, client.webhookSecret)).toBe(true)
    expect(signatureValid(hooks[1], client.webhookSecret.replace(/.$/, 'x'))).toBe(false)
    const event = JSON.parse(hooks[1].body) as Record<string, unknown>
    expect(event).toMatchObject({
      id: hooks[1].headers['ims-event-id'],
      type: 'auth-request.decided',
      authRequest: done,
    })
  })

  it('EDC by card reference: exhausting the attempts fails the request', async () => {
    const first = await json(await start({ channel: 'MOTO', pan: VISA_EN.pan }))
    const reference = (first.card as { reference: string }).reference
    const res = await start({ channel: 'EDC', cardReference: reference, amount: 12 })
    expect(res.status).toBe(201)
    const edc = await json(res)
    expect(edc).toMatchObject({ channel: 'EDC', amount: '12', card: { reference } })
    const code = await lab.lastCode(VISA_EN.mobile, 2)
    const wrong = code === '000000' ? '111111' : '000000'
    for (const left of [2, 1]) {
      const r = await json(
        await lab.call(client.apiKey, `/api/v1/auth-requests/${edc.id}/verify`, { code: wrong }),
      )
      expect(r).toMatchObject({ status: 'pending', notice: { attemptsLeft: left } })
    }
    const failed = await json(
      await lab.call(client.apiKey, `/api/v1/auth-requests/${edc.id}/verify`, { code: wrong }),
    )
    expect(failed.status).toBe('failed')
    const [hook] = await receiver.waitFor(
      (h) => hooksFor(edc.id as string)(h) && h.headers['ims-delivery-attempt'] === '2',
    )
    expect(JSON.parse(hook.body)).toMatchObject({ authRequest: { id: edc.id, status: 'failed' } })
  })

  it('resends the code and expires unanswered requests (with a webhook)', async () => {
    const created = await json(await start({ channel: 'MOTO', pan: MC_DE.pan }))
    await lab.smsTexts(MC_DE.mobile, 1)
    const resent = await json(await lab.call(client.apiKey, `/api/v1/auth-requests/${created.id}/resend`, {}))
    expect(resent).toMatchObject({ status: 'pending', notice: { kind: 'code-resent' } })
    await lab.smsTexts(MC_DE.mobile, 2)
    expect(
      lab.srv.services.channels.requests.expireDue(Date.now() + REQUEST_TTL_MS + 1),
    ).toBeGreaterThanOrEqual(1)
    const expired = await json(
      await lab.call(client.apiKey, `/api/v1/auth-requests/${created.id}`, undefined, 'GET'),
    )
    expect(expired.status).toBe('expired')
    const late = await lab.call(client.apiKey, `/api/v1/auth-requests/${created.id}/verify`, {
      code: '123456',
    })
    expect(late.status).toBe(409)
    await receiver.waitFor(
      (h) => hooksFor(created.id as string)(h) && JSON.parse(h.body).authRequest.status === 'expired',
    )
  })

  it('a repeated clientReference returns the same request and sends no second SMS', async () => {
    const to = '+447700900099'
    const holder = await lab.srv.api('/api/cardholders', {
      method: 'POST',
      token: lab.token,
      json: {
        pan: '4000000000000010',
        expiry: '3012',
        name: 'Idem Potent',
        mobile: to,
        language: 'en',
        method: 'sms-otp',
      },
    })
    expect(holder.status).toBe(201)
    const first = await start({ channel: 'MOTO', pan: '4000000000000010', clientReference: 'order-77' })
    const second = await start({ channel: 'MOTO', pan: '4000000000000010', clientReference: 'order-77' })
    expect(first.status).toBe(201)
    expect(second.status).toBe(200)
    expect((await json(second)).id).toBe((await json(first)).id)
    await new Promise((r) => setTimeout(r, 200))
    expect(await lab.smsTexts(to, 1)).toHaveLength(1)
  })

  it('SMS Push A (the real method): the cardholder replies YES <reference> and the reply decides', async () => {
    const to = '+447700900097'
    const pan = '4000000000000044'
    const holder = await lab.srv.api('/api/cardholders', {
      method: 'POST',
      token: lab.token,
      json: { pan, expiry: '3012', name: 'Pu Sha', mobile: to, language: 'en', method: 'sms-reply' },
    })
    expect(holder.status).toBe(201)
    const created = await json(await start({ channel: 'MOTO', pan }))
    expect(created).toMatchObject({ interaction: 'reply', method: 'sms-reply', prompt: { kind: 'oob' } })
    const [text] = await lab.smsTexts(to, 1)
    const ref = /YES ([A-Z0-9]+)/.exec(text)![1]
    const noEntry = await lab.call(client.apiKey, `/api/v1/auth-requests/${created.id}/verify`, {
      code: '123456',
    })
    expect(noEntry.status).toBe(409)
    const reply = await json(
      await lab.srv.api('/api/virtual-phone/reply', {
        method: 'POST',
        token: lab.token,
        json: { from: to, text: `YES ${ref}` },
      }),
    )
    expect(reply).toMatchObject({ outcome: 'matched', ref: created.id })
    const done = await json(
      await lab.call(client.apiKey, `/api/v1/auth-requests/${created.id}`, undefined, 'GET'),
    )
    expect(done.status).toBe('authenticated')

    // Two requests pending: a reply naming the older one decides that one, not the newest.
    const older = await json(await start({ channel: 'MOTO', pan, clientReference: 'older' }))
    const olderRef = /YES ([A-Z0-9]+)/.exec((await lab.smsTexts(to, 2)).at(-1)!)![1]
    const newer = await json(await start({ channel: 'MOTO', pan, clientReference: 'newer' }))
    await lab.smsTexts(to, 3)
    const named = await json(
      await lab.srv.api('/api/virtual-phone/reply', {
        method: 'POST',
        token: lab.token,
        json: { from: to, text: `YES ${olderRef}` },
      }),
    )
    expect(named).toMatchObject({ outcome: 'matched', ref: older.id })
    const statusOf = async (id: string) =>
      (await json(await lab.call(client.apiKey, `/api/v1/auth-requests/${id}`, undefined, 'GET'))).status
    expect(await statusOf(String(older.id))).toBe('authenticated')
    expect(await statusOf(String(newer.id))).toBe('pending')
  })

  it("OTP Dongle A: the agent keys the code of the cardholder's own token (oathtool's HOTP)", async () => {
    const seed = Buffer.from('12345678901234567890').toString('hex') // RFC 4226
    const { job } = await importFile(lab.srv, lab.token, 'moto.csv', `MOTO-H1,${seed},hotp,6,30`)
    expect(job.status).toBe('done')
    const pan = '4000000000000051'
    const holder = await lab.srv.api('/api/cardholders', {
      method: 'POST',
      token: lab.token,
      json: {
        pan,
        expiry: '3012',
        name: 'Don Gle',
        mobile: '+447700900096',
        language: 'en',
        method: 'dongle',
      },
    })
    expect(holder.status).toBe(201)
    const { id: cardholderId } = (await holder.json()) as { id: number }
    const assigned = await lab.srv.api('/api/dongles/tokens/MOTO-H1/assign', {
      method: 'POST',
      token: lab.token,
      json: { cardholderId },
    })
    expect(assigned.status).toBe(200)
    const created = await json(await start({ channel: 'EDC', pan }))
    expect(created).toMatchObject({ interaction: 'code-entry', prompt: { kind: 'code', codeLength: 6 } })
    const code = execFileSync('oathtool', ['--hotp', '-c', '0', seed]).toString().trim()
    const verified = await json(
      await lab.call(client.apiKey, `/api/v1/auth-requests/${created.id}/verify`, { code }),
    )
    expect(verified.status).toBe('authenticated')
  })

  it('reply-only methods: the cardholder answers by SMS and the reply decides', async () => {
    // A method that offers only the decoupled mode (as SMS reply and Push A do), built over SMS OTP.
    const methods = lab.srv.services.acs.methods as Map<string, AuthenticationMethod>
    const otp = methods.get('sms-otp')!
    methods.set('sms-reply', {
      name: 'sms-reply',
      authenticationType: otp.authenticationType,
      authValueMethod: otp.authValueMethod,
      modes: ['decoupled'],
      start: (s, mode) => otp.start(s, mode),
      verify: (s, state, input, source) => otp.verify(s, state, input, source),
      resend: (s, state) => otp.resend(s, state),
    })
    const to = '+447700900098'
    const pan = '4000000000000028'
    const holder = await lab.srv.api('/api/cardholders', {
      method: 'POST',
      token: lab.token,
      json: { pan, expiry: '3012', name: 'Rey Ply', mobile: to, language: 'en', method: 'sms-reply' },
    })
    expect(holder.status).toBe(201)
    const created = await json(await start({ channel: 'MOTO', pan }))
    expect(created).toMatchObject({ interaction: 'reply', method: 'sms-reply' })
    const [text] = await lab.smsTexts(to, 1)
    expect(text).toMatch(/Reply with this code/)
    const noEntry = await lab.call(client.apiKey, `/api/v1/auth-requests/${created.id}/verify`, {
      code: '123456',
    })
    expect(noEntry.status).toBe(409)
    const code = /code (\d{6})/.exec(text)![1]
    const reply = await json(
      await lab.srv.api('/api/virtual-phone/reply', {
        method: 'POST',
        token: lab.token,
        json: { from: to, text: code },
      }),
    )
    expect(reply).toMatchObject({ outcome: 'matched', ref: created.id })
    const done = await json(
      await lab.call(client.apiKey, `/api/v1/auth-requests/${created.id}`, undefined, 'GET'),
    )
    expect(done.status).toBe('authenticated')
  })

  it('refuses what it cannot authenticate, with clear JSON errors', async () => {
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ channel: 'MOTO', pan: '4000000000000036' }, 422, /not enrolled/],
      [{ channel: 'MOTO', pan: NO_METHOD }, 422, /method \(none\)/],
      [{ channel: 'MOTO', pan: SUSPENDED }, 422, /suspended, blocked or closed/],
      [{ channel: 'ECOM', pan: VISA_FR.pan }, 403, /ECOM/],
      [{ channel: 'MOTO', cardReference: 'crd_' + 'x'.repeat(24) }, 422, /not enrolled/],
    ]
    for (const [body, status, detail] of cases) {
      const res = await start(body)
      expect(res.status, JSON.stringify(body)).toBe(status)
      expect(String((await json(res)).detail)).toMatch(detail)
    }
    const validation: Record<string, unknown>[] = [
      { channel: 'MOTO', pan: '4111111111111112' },
      { channel: 'MOTO', pan: VISA_FR.pan, cardReference: 'crd_' + 'x'.repeat(24) },
      { channel: 'MOTO' },
      { channel: 'POS', pan: VISA_FR.pan },
      { channel: 'MOTO', pan: VISA_FR.pan, amount: '-1' },
      { channel: 'MOTO', pan: VISA_FR.pan, currency: 'euro' },
      { channel: 'MOTO', pan: VISA_FR.pan, merchant: 'Evil\u2063123456\u2063' },
    ]
    for (const body of validation) {
      const res = await start(body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      const problem = await json(res)
      expect(JSON.stringify(problem)).not.toContain('4111111111111112')
      expect(problem.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: expect.any(String) })]),
      )
    }
    const malformed = await lab.srv.api('/api/v1/auth-requests', {
      method: 'POST',
      headers: { authorization: `App ${client.apiKey}`, 'content-type': 'application/json' },
      body: '{"channel":',
    })
    expect(malformed.status).toBe(400)
    expect(
      (await json(await lab.call(client.apiKey, '/api/v1/auth-requests/nope', undefined, 'GET'))).status,
    ).toBe(400)
  })

  it('authenticates clients by their own API keys and keeps their requests apart', async () => {
    const anonymous = await lab.call(undefined, '/api/v1/auth-requests', {
      channel: 'MOTO',
      pan: VISA_FR.pan,
    })
    expect(anonymous.status).toBe(401)
    expect((await json(anonymous)).detail).toMatch(/App <apiKey>/)
    expect((await start({ channel: 'MOTO', pan: VISA_FR.pan }, 'imsch_' + 'A'.repeat(43))).status).toBe(401)
    const mine = await json(await start({ channel: 'MOTO', pan: VISA_FR.pan }))
    const other = await lab.createClient({ name: 'Terminal host', channels: ['EDC'] })
    const peek = await lab.call(other.apiKey, `/api/v1/auth-requests/${mine.id}`, undefined, 'GET')
    expect(peek.status).toBe(404)
    const rotated = await json(
      await lab.srv.api(`/api/channel-clients/${other.clientId}/rotate-api-key`, {
        method: 'POST',
        token: lab.token,
      }),
    )
    expect((await lab.call(other.apiKey, `/api/v1/auth-requests/${mine.id}`, undefined, 'GET')).status).toBe(
      401,
    )
    expect(
      (await lab.call(rotated.secret as string, `/api/v1/auth-requests/${mine.id}`, undefined, 'GET')).status,
    ).toBe(404)
    const disabled = await lab.srv.api(`/api/channel-clients/${other.clientId}`, {
      method: 'PATCH',
      token: lab.token,
      json: { enabled: false },
    })
    expect((await json(disabled)).enabled).toBe(false)
    expect(
      (
        await lab.call(rotated.secret as string, '/api/v1/auth-requests', {
          channel: 'EDC',
          pan: VISA_FR.pan,
          amount: 1,
          currency: 'EUR',
          merchant: 'X',
        })
      ).status,
    ).toBe(403)
    const list = await json(await lab.srv.api('/api/channel-clients', { token: lab.token }))
    expect(JSON.stringify(list)).not.toContain(client.apiKey)
    expect(JSON.stringify(list)).not.toContain(client.webhookSecret)
  })

  it('never logs or returns a PAN', async () => {
    const log = lab.srv.logText()
    for (const pan of ALL_PANS) expect(log).not.toContain(pan)
    for (const hook of receiver.received) for (const pan of ALL_PANS) expect(hook.body).not.toContain(pan)
  })
})
