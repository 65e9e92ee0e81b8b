import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyWebhook } from '../../src-server/fraud/signature'
import type { TestServer } from '../helpers/server'
import { CARDS, labOver, restart, startLab, type Lab } from './acs-lab'
import { reply, waitFor } from './oob-lab'

/**
 * Real-time fraud notification end to end: authentication → alert SMS on the virtual phone → FRAUD reply →
 * card suspended at once → next AReq R/11 without a challenge → signed webhook received by a local HTTP
 * receiver (checked with the receiver-side verification) → fraud team releases the card (audited).
 */
interface Received {
  headers: IncomingHttpHeaders
  body: string
}

/** The issuer's host: records every webhook; answers the first `failFirst` requests with 500. */
function receiver(failFirst = 0, port = 0) {
  const received: Received[] = []
  let failures = failFirst
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString('utf8')))
    req.on('end', () => {
      received.push({ headers: req.headers, body })
      res.statusCode = failures-- > 0 ? 500 : 204
      res.end()
    })
  })
  return new Promise<{ url: string; port: number; received: Received[]; close(): Promise<void> }>((resolve) =>
    server.listen(port, '127.0.0.1', () => {
      const p = (server.address() as AddressInfo).port
      resolve({
        url: `http://127.0.0.1:${p}/ims-webhook`,
        port: p,
        received,
        close: () => new Promise<void>((r) => server.close(() => r())),
      })
    }),
  )
}

let lab: Lab
let srv: TestServer
let issuerId: number
let secret: string
let hook: Awaited<ReturnType<typeof receiver>>
const card = CARDS.visaEn

const api = async (path: string, init: RequestInit & { json?: unknown } = {}) => {
  const res = await lab.srv.api(path, { ...init, token: lab.token })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}
const cardStatus = () =>
  lab.srv.services.db
    .prepare('SELECT c.status FROM cards c JOIN cardholders h ON h.id = c.cardholder_id WHERE h.mobile = ?')
    .pluck()
    .get(card.mobile) as string
const alertRef = async (mobile = card.mobile) => {
  const text = (await lab.smsTexts(mobile)).at(-1) ?? ''
  return /FRAUD ([A-Z0-9]{2,16})/.exec(text)?.[1]
}
/** The acsTransID an alert reference was sent for (what the inbox row of a reply to it names). */
const authenticationOf = (ref: string) =>
  lab.srv.services.db
    .prepare('SELECT acs_trans_id FROM fraud_alerts WHERE ref = ?')
    .pluck()
    .get(ref) as string
const setPolicy = (policy: Record<string, unknown>) =>
  api(`/api/fraud/settings/${issuerId}`, { method: 'PUT', json: { webhookUrl: hook.url, ...policy } })

beforeAll(async () => {
  lab = await startLab()
  srv = lab.srv
  issuerId = lab.srv.services.db.prepare('SELECT id FROM issuers ORDER BY id LIMIT 1').pluck().get() as number
  hook = await receiver(1)
  expect((await setPolicy({})).status).toBe(200)
  const rotated = await api(`/api/fraud/settings/${issuerId}/webhook-secret`, { method: 'POST' })
  expect(rotated.status).toBe(201)
  secret = rotated.body.secret
})
afterAll(async () => {
  await srv.stop()
  await hook.close()
})

describe('fraud notification', () => {
  it('texts every authentication (default policy): merchant, amount, last four digits, a reference; never the PAN', async () => {
    const p = await lab.purchase({
      pan: card.pan,
      amount: 1234,
      flow: 'frictionless',
      merchantName: 'Corner Café',
    })
    expect(p.ares.transStatus).toBe('Y')
    const text = (await lab.smsTexts(card.mobile)).at(-1)!
    expect(text).toMatch(
      /^Card \*0002 used at Corner Café for EUR 12\.34\. Not you\? Reply FRAUD [A-Z0-9]{6} to block the card\.$/,
    )
    expect(text).not.toContain(card.pan)
    const outbox = (await api(`/api/sms/outbox?to=${encodeURIComponent(card.mobile)}`)).body as {
      kind: string
      priority: number
    }[]
    expect(outbox[0]).toMatchObject({ kind: 'fraud-alert', priority: 1 })
  })

  it('a challenged authentication is notified once it ends, after its code', async () => {
    const p = await lab.purchase({ pan: card.pan, amount: 77_700, flow: 'decoupled' })
    const code = await lab.lastCode(card.mobile)
    expect(await alertRef()).toBeUndefined()
    await reply(lab, card.mobile, code)
    await lab.rreqs(p.id)
    expect(await waitFor('the alert', () => alertRef())).toMatch(/^[A-Z0-9]{6}$/)
  })

  it('policies: challenged only, above an amount, off', async () => {
    const count = async () => (await lab.smsTexts(card.mobile)).filter((t) => t.includes('FRAUD')).length
    await setPolicy({ notify: 'challenged' })
    let before = await count()
    await lab.purchase({ pan: card.pan, amount: 100, flow: 'frictionless' })
    expect(await count()).toBe(before)
    await setPolicy({ notify: 'above-amount', minAmount: 100, currency: '978' })
    before = await count()
    await lab.purchase({ pan: card.pan, amount: 9_999, flow: 'frictionless' })
    expect(await count()).toBe(before)
    await lab.purchase({ pan: card.pan, amount: 10_000, flow: 'frictionless' })
    expect(await count()).toBe(before + 1)
    await setPolicy({ notify: 'off' })
    await lab.purchase({ pan: card.pan, amount: 50_000, flow: 'frictionless' })
    expect(await count()).toBe(before + 1)
    await setPolicy({})
  })

  it('rejects an http webhook URL that is not local and unknown policy fields', async () => {
    expect((await setPolicy({ webhookUrl: 'http://issuer.example/hook' })).status).toBe(400)
    expect((await setPolicy({ notify: 'sometimes' })).status).toBe(400)
    expect((await api(`/api/fraud/settings/${issuerId}`)).body).toMatchObject({
      webhookSecretSet: true,
      notify: 'all',
    })
  })
})

describe('FRAUD reply', () => {
  it('suspends the card at once → next AReq R/11 without a challenge → signed webhook (retried after a 500) → release reactivates (audited)', async () => {
    await lab.purchase({ pan: card.pan, amount: 4_200, flow: 'frictionless', merchantName: 'Suspicious Ltd' })
    const ref = (await alertRef())!
    // Other numbers and unknown references change nothing and stay in the inbox.
    expect(await reply(lab, CARDS.visaFr.mobile, `FRAUD ${ref}`)).toMatchObject({ outcome: 'unmatched' })
    expect(await reply(lab, card.mobile, 'FRAUD ZZZZZZ')).toMatchObject({ outcome: 'unmatched' })
    expect(await reply(lab, card.mobile, 'FRAUD')).toMatchObject({ outcome: 'unmatched' })
    expect(cardStatus()).toBe('active')

    const r = await reply(lab, card.mobile, `  fRaUd\u00a0  ${ref.toLowerCase()} `)
    expect(r).toMatchObject({ outcome: 'matched', ref: authenticationOf(ref) })
    // In effect as soon as the SMS was taken in (no cache, no delay).
    expect(cardStatus()).toBe('suspended')
    const next = await lab.purchase({ pan: card.pan, amount: 500, flow: 'challenge' })
    expect(next.ares).toMatchObject({ transStatus: 'R', transStatusReason: '11' })
    expect(next.creq).toBeUndefined()
    // A repeated FRAUD reply is matched but opens nothing new.
    expect((await reply(lab, card.mobile, `FRAUD ${ref}`)).outcome).toBe('matched')

    const reports = (await api('/api/fraud/reports?status=open')).body as Record<string, unknown>[]
    expect(reports).toHaveLength(1)
    expect(reports[0]).toMatchObject({
      reference: ref,
      panMasked: '400000******0002',
      cardStatus: 'suspended',
      merchantName: 'Suspicious Ltd',
      amount: 'EUR 42.00',
    })

    // The first delivery got a 500; the outbox retried with back-off.
    const delivered = await waitFor(
      'the webhook',
      () => (hook.received.length >= 2 ? hook.received : undefined),
      15_000,
    )
    const [failed, ok] = delivered
    expect(failed.headers['x-ims-event-id']).toBe(ok.headers['x-ims-event-id'])
    for (const h of delivered)
      expect(
        verifyWebhook(
          secret,
          {
            signature: h.headers['x-ims-signature'] as string,
            timestamp: h.headers['x-ims-timestamp'] as string,
          },
          h.body,
        ),
      ).toBe(true)
    expect(
      verifyWebhook(
        'another secret',
        {
          signature: ok.headers['x-ims-signature'] as string,
          timestamp: ok.headers['x-ims-timestamp'] as string,
        },
        ok.body,
      ),
    ).toBe(false)
    expect(
      verifyWebhook(
        secret,
        {
          signature: ok.headers['x-ims-signature'] as string,
          timestamp: ok.headers['x-ims-timestamp'] as string,
        },
        ok.body.replace('42', '43'),
      ),
    ).toBe(false)
    const event = JSON.parse(ok.body)
    expect(event).toMatchObject({
      type: 'fraud-report.opened',
      issuerId,
      data: {
        report: { reference: ref, status: 'open' },
        card: { panMasked: '400000******0002', status: 'suspended' },
      },
    })
    expect(ok.body).not.toContain(card.pan)
    // An independent HMAC-SHA-256 (openssl) agrees with the signature.
    const { execFileSync } = await import('node:child_process')
    const mac = execFileSync('openssl', ['dgst', '-sha256', '-hmac', secret, '-r'], {
      input: `${ok.headers['x-ims-timestamp']}.${ok.body}`,
    })
      .toString()
      .split(' ')[0]
    expect(ok.headers['x-ims-signature']).toBe(`v1=${mac}`)
    const deliveries = (await api('/api/fraud/webhooks')).body as { status: string; attempts: number }[]
    expect(deliveries[0]).toMatchObject({ status: 'delivered', attempts: 2 })

    // The fraud team: release needs a note; it reactivates the card and is audited.
    const id = reports[0].id as number
    expect((await api(`/api/fraud/reports/${id}/release`, { method: 'POST', json: {} })).status).toBe(400)
    const released = await api(`/api/fraud/reports/${id}/release`, {
      method: 'POST',
      json: { note: 'cardholder recognised it' },
    })
    expect(released.body).toMatchObject({ status: 'released', cardStatus: 'active' })
    expect(cardStatus()).toBe('active')
    expect((await lab.purchase({ pan: card.pan, amount: 500, flow: 'frictionless' })).ares.transStatus).toBe(
      'Y',
    )
    expect((await api(`/api/fraud/reports/${id}/confirm`, { method: 'POST', json: {} })).status).toBe(409)
    expect((await api(`/api/fraud/reports/${id}/close`, { method: 'POST', json: {} })).body).toMatchObject({
      status: 'closed',
    })
    const audit = JSON.stringify((await api('/api/audit?limit=200')).body)
    for (const action of ['fraud.report', 'card.status', 'fraud.report.release', 'fraud.report.close'])
      expect(audit).toContain(`"${action}"`)
    await waitFor('the release and close events', () =>
      hook.received.filter((h) => /fraud-report\.(released|closed)/.test(h.body)).length === 2
        ? true
        : undefined,
    )
  })

  it('confirm keeps the card suspended; an old alert is answered as expired and suspends nothing', async () => {
    await lab.purchase({ pan: card.pan, amount: 700, flow: 'frictionless' })
    const ref = (await alertRef())!
    lab.srv.services.db
      .prepare('UPDATE fraud_alerts SET created_at = created_at - 31 * 86400000 WHERE ref = ?')
      .run(ref)
    expect(await reply(lab, card.mobile, `FRAUD ${ref}`)).toMatchObject({
      outcome: 'expired',
      ref: authenticationOf(ref),
    })
    expect(cardStatus()).toBe('active')

    await lab.purchase({ pan: card.pan, amount: 800, flow: 'frictionless' })
    const ref2 = (await alertRef())!
    expect((await reply(lab, card.mobile, `fraud ${ref2}`)).outcome).toBe('matched')
    const [report] = (await api('/api/fraud/reports?status=open')).body as { id: number }[]
    const confirmed = await api(`/api/fraud/reports/${report.id}/confirm`, {
      method: 'POST',
      json: { note: 'confirmed by phone' },
    })
    expect(confirmed.body).toMatchObject({
      status: 'confirmed',
      cardStatus: 'suspended',
      note: 'confirmed by phone',
    })
    expect((await lab.purchase({ pan: card.pan, amount: 500, flow: 'frictionless' })).ares).toMatchObject({
      transStatus: 'R',
      transStatusReason: '11',
    })
    await api(`/api/fraud/reports/${report.id}/release`, { method: 'POST', json: { note: 'test clean-up' } })
  })

  it('two reports on one card: releasing one leaves the card suspended while the other holds it', async () => {
    await lab.purchase({ pan: card.pan, amount: 1100, flow: 'frictionless' })
    const first = (await alertRef())!
    await lab.purchase({ pan: card.pan, amount: 1200, flow: 'frictionless' })
    const second = (await alertRef())!
    expect((await reply(lab, card.mobile, `FRAUD ${first}`)).outcome).toBe('matched')
    expect((await reply(lab, card.mobile, `FRAUD ${second}`)).outcome).toBe('matched')
    const open = (await api('/api/fraud/reports?status=open')).body as { id: number; reference: string }[]
    const idOf = (ref: string) => open.find((r) => r.reference === ref)!.id
    await api(`/api/fraud/reports/${idOf(first)}/confirm`, { method: 'POST', json: { note: 'confirmed' } })
    const released = await api(`/api/fraud/reports/${idOf(second)}/release`, {
      method: 'POST',
      json: { note: 'this one was fine' },
    })
    expect(released.body).toMatchObject({ status: 'released', cardStatus: 'suspended' })
    expect((await lab.purchase({ pan: card.pan, amount: 500, flow: 'frictionless' })).ares).toMatchObject({
      transStatus: 'R',
      transStatusReason: '11',
    })
    // The last report that held it gives the card back.
    const last = await api(`/api/fraud/reports/${idOf(first)}/release`, {
      method: 'POST',
      json: { note: 'ok' },
    })
    expect(last.body).toMatchObject({ status: 'released', cardStatus: 'active' })

    // The Fraud report names each reply's authentication, card and merchant (through its alert).
    const today = new Date().toISOString().slice(0, 10)
    const report = await api(`/api/reports/fraud?from=${today}&to=${today}`)
    const row = (report.body.rows as Record<string, unknown>[]).find((r) => r.ref === first)
    expect(row).toMatchObject({
      outcome: 'matched',
      acsTransID: expect.stringMatching(/^[0-9a-f-]{36}$/),
      card: expect.stringMatching(/^\d{6}\*+\d{4}$/),
    })
  })

  it('a FRAUD reply whose sender the network gave without the international form still suspends the card', async () => {
    const national = `0${card.mobile.slice(3)}` // +44 7700 900001 → 07700 900001
    for (const from of [national, card.mobile.slice(1), `00${card.mobile.slice(1)}`]) {
      await lab.purchase({ pan: card.pan, amount: 1300, flow: 'frictionless' })
      const ref = (await alertRef())!
      const r = await srv.services.sms.receive(
        { from, text: `FRAUD ${ref}`, receivedAt: Date.now() },
        'modems',
      )
      expect(r, from).toMatchObject({ outcome: 'matched', ref: authenticationOf(ref) })
      expect(cardStatus()).toBe('suspended')
      const inbox = srv.services.db
        .prepare('SELECT from_number FROM sms_inbox WHERE id = ?')
        .pluck()
        .get(r.id)
      expect(inbox).toBe(card.mobile)
      const [report] = (await api('/api/fraud/reports?status=open')).body as { id: number }[]
      await api(`/api/fraud/reports/${report.id}/release`, {
        method: 'POST',
        json: { note: 'test clean-up' },
      })
      expect(cardStatus()).toBe('active')
    }
    // A number no enrolled mobile ends with stays as it came, and matches nothing.
    const stranger = await srv.services.sms.receive(
      { from: '0123456789', text: 'FRAUD ABCDEF', receivedAt: Date.now() },
      'modems',
    )
    expect(stranger.outcome).toBe('unmatched')
  })

  it('webhook events wait in the outbox across a restart until the issuer host is back', async () => {
    const port = hook.port
    await hook.close()
    await lab.purchase({ pan: card.pan, amount: 900, flow: 'frictionless' })
    const ref = (await alertRef())!
    expect((await reply(lab, card.mobile, `FRAUD ${ref}`)).outcome).toBe('matched')
    await waitFor('a failed attempt', () => {
      const row = lab.srv.services.db
        .prepare(
          "SELECT attempts FROM fraud_webhook_outbox WHERE status = 'pending' ORDER BY id DESC LIMIT 1",
        )
        .pluck()
        .get() as number | undefined
      return row && row >= 1 ? row : undefined
    })
    srv = await restart(srv)
    lab = await labOver(srv)
    hook = await receiver(0, port)
    const got = await waitFor(
      'the webhook after the restart',
      () => hook.received.find((h) => h.body.includes(ref)),
      15_000,
    )
    expect(
      verifyWebhook(
        secret,
        {
          signature: got.headers['x-ims-signature'] as string,
          timestamp: got.headers['x-ims-timestamp'] as string,
        },
        got.body,
      ),
    ).toBe(true)
  })
})

describe('FRAUD reply on a card the issuer already blocked', () => {
  it('records the report but leaves the block as it is', async () => {
    const other = CARDS.mastercardDe
    await lab.purchase({ pan: other.pan, amount: 300, flow: 'frictionless' })
    const ref = await waitFor('the alert', () => alertRef(other.mobile))
    const cardId = lab.srv.services.db
      .prepare('SELECT c.id FROM cards c JOIN cardholders h ON h.id = c.cardholder_id WHERE h.mobile = ?')
      .pluck()
      .get(other.mobile) as number
    lab.srv.services.cardholders.setCardStatus(cardId, 'blocked', 'stolen card', 'test')
    expect((await reply(lab, other.mobile, `FRAUD ${ref}`)).outcome).toBe('matched')
    const reports = (await api('/api/fraud/reports?status=open')).body as {
      reference: string
      cardStatus: string
    }[]
    expect(reports.find((r) => r.reference === ref)).toMatchObject({ cardStatus: 'blocked' })
  })
})
