import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ServerError, type ApprovalView } from '../../src-renderer/authenticator/device-client'
import type { DeviceClient } from '../../src-renderer/authenticator/device-client'
import { startLab, type Lab } from './acs-lab'
import { webhookReceiver, type ReceivedWebhook } from './channels-helpers'
import { activatedPhone, enrol, opensslVerifies, type Holder } from './mobile-lab'

/**
 * MOTO / EDC requests of the channel API answered in the mobile authenticator, over real HTTP: the request
 * opens an approval for the card's devices (SMS wake link when no stream is open), its point-of-interaction
 * screen shows the rotating QR code, and the signed decision ends the request for the client's poll and
 * webhook. The stored record is checked with openssl, independently of node:crypto.
 */
let lab: Lab
let receiver: Awaited<ReturnType<typeof webhookReceiver>>
let apiKey: string

beforeAll(async () => {
  lab = await startLab()
  receiver = await webhookReceiver()
  const res = await lab.srv.api('/api/channel-clients', {
    method: 'POST',
    token: lab.token,
    json: { name: 'Call centre', channels: ['MOTO', 'EDC'], webhookUrl: receiver.url },
  })
  expect(res.status).toBe(201)
  apiKey = ((await res.json()) as { apiKey: string }).apiKey
})
afterAll(async () => {
  await lab?.srv.stop()
  await receiver?.close()
})

type Json = Record<string, unknown>

async function client(path: string, json?: unknown, method = json === undefined ? 'GET' : 'POST') {
  const res = await lab.srv.api(path, {
    method,
    headers: { authorization: `App ${apiKey}` },
    ...(json === undefined ? {} : { json }),
  })
  return { status: res.status, body: (await res.json()) as Json }
}

async function request(holder: Holder, channel: 'MOTO' | 'EDC', amount = '49.90'): Promise<Json> {
  const res = await client('/api/v1/auth-requests', {
    channel,
    pan: holder.pan,
    amount,
    currency: 'EUR',
    merchant: 'Phone Shop',
  })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body
}

/** Waits until the phone lists the approval of this channel request. */
async function approvalOf(phone: DeviceClient, authRequest: string): Promise<ApprovalView> {
  for (let i = 0; i < 100; i++) {
    const found = (await phone.approvals()).find((a) => a.authRequest === authRequest)
    if (found) return found
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`no approval request for ${authRequest}`)
}

const hookOf = (id: unknown, status: string) => (h: ReceivedWebhook) => {
  const event = JSON.parse(h.body) as { authRequest: { id: string; status: string } }
  return event.authRequest.id === id && event.authRequest.status === status
}

const refused = async (p: Promise<unknown>): Promise<ServerError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ServerError)
  return err as ServerError
}

describe('channel requests with the mobile signature', () => {
  it('MOTO: the phone approves through the call centre’s screen; the client sees it by GET and webhook', async () => {
    const holder = await enrol(lab, 301)
    const phone = await activatedPhone(lab, holder)
    const smsBefore = (await lab.smsTexts(holder.mobile)).length
    const created = await request(holder, 'MOTO')
    expect(created).toMatchObject({
      status: 'pending',
      method: 'mobile-signature',
      interaction: 'approval',
      prompt: { kind: 'oob' },
      screen: { path: expect.stringMatching(/^\/poi\/[A-Za-z0-9_-]{22}$/) },
    })
    expect(created).not.toHaveProperty('fallbackFrom')
    const id = String(created.id)
    const entered = await client(`/api/v1/auth-requests/${id}/verify`, { code: '123456' })
    expect(entered.status).toBe(409)
    expect(String(entered.body.detail)).toMatch(/authenticator/)

    const approval = await approvalOf(phone, id)
    expect(approval).toMatchObject({
      channel: 'MOTO',
      mode: 'decoupled',
      merchant: 'Phone Shop',
      amount: '4990',
      exponent: '2',
      currency: 'EUR',
      amountText: 'EUR 49.90',
      presence: 'tap',
    })
    expect(approval.acsTransID).toBeUndefined()
    // No event stream was open: the cardholder was texted a link to this approval.
    let texts = await lab.smsTexts(holder.mobile)
    for (let i = 0; i < 100 && texts.length === smsBefore; i++) {
      await new Promise((r) => setTimeout(r, 20))
      texts = await lab.smsTexts(holder.mobile)
    }
    expect(texts.length).toBe(smsBefore + 1)
    expect(texts.at(-1)).toContain(`/authenticator/#approval=${approval.id}`)

    // The call centre's screen: a rotating QR code naming only the screen.
    const screenPath = (created.screen as { path: string }).path
    const state = (await (await lab.srv.api(`${screenPath}/state`)).json()) as {
      status: string
      amountText: string
      qr: { link: string }
    }
    expect(state).toMatchObject({ status: 'pending', amountText: 'EUR 49.90' })
    const token = new URL(state.qr.link).hash.replace(/^#poi=/, '')
    expect(token).not.toContain(id)
    expect(token).not.toContain(holder.pan.slice(-4))
    const scanned = await phone.resolveScreen(token)
    expect(scanned).toMatchObject({ id: approval.id, poi: screenPath.slice('/poi/'.length) })

    const waiting = lab.srv.api(`${screenPath}/state?wait=20000`)
    expect(await phone.decide(scanned, 'approve', token)).toEqual({ status: 'approved' })
    expect(((await (await waiting).json()) as { status: string }).status).toBe('approved')

    const done = await client(`/api/v1/auth-requests/${id}`)
    expect(done.body).toMatchObject({ status: 'authenticated', decidedAt: expect.any(String) })
    const [hook] = await receiver.waitFor(hookOf(id, 'authenticated'))
    expect(JSON.parse(hook.body)).toMatchObject({ type: 'auth-request.decided', authRequest: done.body })

    // The evidence: the record names the channel request and the scanned screen; openssl verifies it.
    const stored = lab.srv.services.db
      .prepare('SELECT subject_kind, signed_record, signature FROM mobile_approvals WHERE subject_ref = ?')
      .get(id) as { subject_kind: string; signed_record: string; signature: Buffer }
    expect(stored.subject_kind).toBe('channel')
    expect(stored.signed_record.split('\n').slice(0, 6)).toEqual([
      'IMS-MOBILE-APPROVAL/1',
      'decision:approve',
      `authRequest:${id}`,
      'amount:4990',
      'exponent:2',
      'currency:EUR',
    ])
    expect(stored.signed_record).toContain(`poi:${scanned.poi}`)
    const spki = Buffer.from(await crypto.subtle.exportKey('spki', phone.device!.keys.publicKey))
    expect(opensslVerifies(spki, stored.signed_record, stored.signature)).toBe(true)
    expect(
      opensslVerifies(spki, stored.signed_record.replace('amount:4990', 'amount:4999'), stored.signature),
    ).toBe(false)

    // A replayed decision finds the request decided.
    expect((await refused(phone.decide(scanned, 'approve', token))).status).toBe(409)
  })

  it('EDC: the cardholder at the terminal must scan to approve; a decline refuses the request', async () => {
    const holder = await enrol(lab, 302)
    const phone = await activatedPhone(lab, holder)
    const created = await request(holder, 'EDC', '12')
    const approval = await approvalOf(phone, String(created.id))
    expect(approval).toMatchObject({ channel: 'EDC', presence: 'scan', amount: '12', exponent: '0' })
    expect((await refused(phone.decide(approval, 'approve'))).title).toBe('Scan required')
    expect(await phone.decide(approval, 'decline')).toEqual({ status: 'declined' })
    expect((await client(`/api/v1/auth-requests/${String(created.id)}`)).body.status).toBe('refused')
    await receiver.waitFor(hookOf(created.id, 'refused'))
  })

  it('“this wasn’t me” refuses the request and suspends the card, as a FRAUD reply does', async () => {
    const holder = await enrol(lab, 303)
    const phone = await activatedPhone(lab, holder)
    const created = await request(holder, 'MOTO', '899.00')
    const id = String(created.id)
    expect(await phone.decide(await approvalOf(phone, id), 'fraud')).toEqual({ status: 'fraud' })
    expect((await client(`/api/v1/auth-requests/${id}`)).body.status).toBe('refused')
    await receiver.waitFor(hookOf(id, 'refused'))
    const holderView = (await (
      await lab.srv.api(`/api/cardholders/${holder.cardholderId}`, { token: lab.token })
    ).json()) as { cards: { status: string }[] }
    expect(holderView.cards[0].status).toBe('suspended')
    const reports = (await (await lab.srv.api('/api/fraud/reports', { token: lab.token })).json()) as {
      acsTransID: string
      status: string
    }[]
    expect(reports.find((r) => r.acsTransID === id)).toMatchObject({ status: 'open' })
    const next = await client('/api/v1/auth-requests', {
      channel: 'MOTO',
      pan: holder.pan,
      amount: '1',
      currency: 'EUR',
      merchant: 'Phone Shop',
    })
    expect(next.status).toBe(422)
    expect(next.body.title).toBe('Card not active')
  })

  it('without an active authenticator the request falls back to SMS OTP, and says so', async () => {
    const holder = await enrol(lab, 304)
    const created = await request(holder, 'MOTO')
    expect(created).toMatchObject({
      method: 'sms-otp',
      fallbackFrom: 'mobile-signature',
      interaction: 'code-entry',
      prompt: { kind: 'code' },
    })
    expect(created).not.toHaveProperty('screen')
    const code = await lab.lastCode(holder.mobile)
    const wrong = await client(`/api/v1/auth-requests/${String(created.id)}/verify`, {
      code: code === '000000' ? '111111' : '000000',
    })
    expect(wrong.body).toMatchObject({ notice: { kind: 'wrong-code' }, fallbackFrom: 'mobile-signature' })
    const done = await client(`/api/v1/auth-requests/${String(created.id)}/verify`, { code })
    expect(done.body).toMatchObject({ status: 'authenticated', fallbackFrom: 'mobile-signature' })

    // A revoked phone does not count: the fallback again.
    const phone = await activatedPhone(lab, holder)
    expect((await request(holder, 'MOTO')).method).toBe('mobile-signature')
    await phone.remove()
    expect(await request(holder, 'MOTO')).toMatchObject({
      method: 'sms-otp',
      fallbackFrom: 'mobile-signature',
    })
  })

  it('without a device and without a mobile number there is no method: a clear 422', async () => {
    const holder = await enrol(lab, 305)
    lab.srv.services.db.prepare('UPDATE cardholders SET mobile = NULL WHERE id = ?').run(holder.cardholderId)
    const res = await client('/api/v1/auth-requests', {
      channel: 'MOTO',
      pan: holder.pan,
      amount: '1',
      currency: 'EUR',
      merchant: 'Phone Shop',
    })
    expect(res.status).toBe(422)
    expect(res.body).toMatchObject({ title: 'No authentication method' })
  })
})
