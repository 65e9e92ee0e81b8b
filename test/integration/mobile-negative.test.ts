import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  base64url,
  DeviceClient,
  generateDeviceKey,
  ServerError,
  sha256,
  signRecord,
} from '../../src-renderer/authenticator/device-client'
import { activationRecord } from '../../src-server/mobile/canonical'
import { startLab, type Lab } from './acs-lab'
import {
  activatedPhone,
  activationToken,
  approvalOf,
  browserChallenge,
  enrol,
  lastSmsCode,
  PHONE,
} from './mobile-lab'

/**
 * What must not approve a payment: every refusal leaves the challenge open (no RReq), and the right
 * decision afterwards still works where it should.
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
const settings = (patch: Record<string, unknown>) =>
  lab.srv.api('/api/mobile/settings', { method: 'PUT', token: lab.token, json: patch })
const noRReq = async (id: string) => expect(await lab.rreqs(id, 300)).toHaveLength(0)
/** The server's warnings (pino level 40) carrying all these fields. */
const warnings = (fields: Record<string, unknown>) =>
  lab.srv
    .logText()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((l) => l.level === 40 && Object.entries(fields).every(([k, v]) => l[k] === v))
/** A refused decision or scan is logged once, naming the device, the approval and why. */
const refusalLogged = (deviceId: string, approvalId: string, reference: string, reason: string) =>
  expect(warnings({ device: deviceId, approval: approvalId, reason })).toEqual([
    expect.objectContaining({ reference }),
  ])

describe('signatures', () => {
  it('a tampered record or signature is refused; the genuine one then approves', async () => {
    const holder = await enrol(lab, 201)
    const phone = await activatedPhone(lab, holder)
    const { purchase } = await browserChallenge(lab, holder, 5000)
    const approval = await approvalOf(phone, purchase.acsTransID!)
    // The phone signs a smaller amount than the server's copy: dynamic linking fails.
    const signedAt = Date.now()
    const cheaper = await phone.signDecision({ ...approval, amount: '500' }, 'approve', signedAt)
    const e1 = await refused(
      phone.sendDecision(approval.id, { decision: 'approve', signedAt, signature: cheaper.signature }),
    )
    expect([e1.status, e1.title]).toEqual([401, 'Invalid signature'])
    // A flipped bit in a genuine signature.
    const genuine = await phone.signDecision(approval, 'approve', signedAt)
    const bytes = Buffer.from(genuine.signature, 'base64url')
    bytes[10] ^= 0x01
    const e2 = await refused(
      phone.sendDecision(approval.id, {
        decision: 'approve',
        signedAt,
        signature: bytes.toString('base64url'),
      }),
    )
    expect(e2.status).toBe(401)
    expect(
      warnings({ device: phone.device!.deviceId, approval: approval.id, reason: 'bad signature' }),
    ).toHaveLength(2)
    // A signature over "decline" does not approve.
    const decline = await phone.signDecision(approval, 'decline', signedAt)
    expect(
      (
        await refused(
          phone.sendDecision(approval.id, { decision: 'approve', signedAt, signature: decline.signature }),
        )
      ).status,
    ).toBe(401)
    await noRReq(purchase.id)
    expect(
      await phone.sendDecision(approval.id, { decision: 'approve', signedAt, signature: genuine.signature }),
    ).toMatchObject({ transStatus: 'Y' })
  })

  it('a request signed by one device is not accepted under another device’s id', async () => {
    const holder = await enrol(lab, 202)
    const phone = await activatedPhone(lab, holder)
    const other = await activatedPhone(lab, await enrol(lab, 203))
    const header = await other.authorization('GET', '/api/mobile/v1/approvals', '')
    const forged = header.replace(other.device!.deviceId, phone.device!.deviceId)
    const res = await fetch(`${lab.srv.url}/api/mobile/v1/approvals`, { headers: { authorization: forged } })
    expect(res.status).toBe(401)
  })
})

/** P-256's group order n: (r, s) and (r, n−s) are both valid ECDSA signatures of the same message. */
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551')

/** The same IMS-Device authorization with the other of the signature's two valid forms. */
function malleated(authorization: string): string {
  const cut = authorization.lastIndexOf('.') + 1
  const sig = Buffer.from(authorization.slice(cut), 'base64url')
  const s = BigInt(`0x${sig.subarray(32).toString('hex')}`)
  const twin = Buffer.concat([
    sig.subarray(0, 32),
    Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex'),
  ])
  return authorization.slice(0, cut) + twin.toString('base64url')
}

describe('replays and expiry', () => {
  it('a replayed decision is refused: the same request, and the same record in a new request', async () => {
    const holder = await enrol(lab, 211)
    const phone = await activatedPhone(lab, holder)
    const { purchase } = await browserChallenge(lab, holder)
    const approval = await approvalOf(phone, purchase.acsTransID!)
    const signedAt = Date.now()
    const { signature } = await phone.signDecision(approval, 'approve', signedAt)
    const body = JSON.stringify({ decision: 'approve', signedAt, signature })
    const path = `/api/mobile/v1/approvals/${approval.id}/decision`
    const authorization = await phone.authorization('POST', path, body)
    const send = () =>
      fetch(lab.srv.url + path, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body,
      })
    expect((await send()).status).toBe(200)
    const again = await send()
    expect(again.status).toBe(401)
    expect(((await again.json()) as { detail: string }).detail).toMatch(/already used/)
    // The signature's twin (r, n−s) verifies the same record: still the same request, still refused.
    const twin = await fetch(lab.srv.url + path, {
      method: 'POST',
      headers: { authorization: malleated(authorization), 'content-type': 'application/json' },
      body,
    })
    expect(twin.status).toBe(401)
    expect(((await twin.json()) as { detail: string }).detail).toMatch(/already used/)
    const fresh = await refused(phone.sendDecision(approval.id, { decision: 'approve', signedAt, signature }))
    expect([fresh.status, fresh.title]).toEqual([409, 'Already decided'])
    expect(await lab.rreqs(purchase.id)).toHaveLength(1)
  })

  it('an expired approval request cannot be approved', async () => {
    const holder = await enrol(lab, 212)
    const phone = await activatedPhone(lab, holder)
    expect((await settings({ approvalTtlSeconds: 1 })).status).toBe(200)
    try {
      const { purchase } = await browserChallenge(lab, holder)
      const approval = await approvalOf(phone, purchase.acsTransID!)
      await new Promise((r) => setTimeout(r, 1100))
      const e = await refused(phone.decide(approval, 'approve'))
      expect([e.status, e.title]).toEqual([410, 'Request expired'])
      expect(await phone.approvals()).toEqual([])
      await noRReq(purchase.id)
    } finally {
      await settings({ approvalTtlSeconds: 300 })
    }
  })

  it('a decision signed with a clock far from the server’s is refused', async () => {
    const holder = await enrol(lab, 213)
    const phone = await activatedPhone(lab, holder)
    const { purchase } = await browserChallenge(lab, holder)
    const approval = await approvalOf(phone, purchase.acsTransID!)
    const signedAt = Date.now() - 3_600_000
    const { signature } = await phone.signDecision(approval, 'approve', signedAt)
    const e = await refused(phone.sendDecision(approval.id, { decision: 'approve', signedAt, signature }))
    expect(e.title).toBe('Clock out of range')
    refusalLogged(phone.device!.deviceId, approval.id, purchase.acsTransID!, 'clock out of range')
  })
})

describe('devices', () => {
  it('refused activations are logged, and the pending device revoked after three wrong codes is audited', async () => {
    const holder = await enrol(lab, 224)
    const token = await activationToken(lab, holder.cardholderId)
    // A proof signed with the new key, but over another token: not proof of this activation.
    const keys = await generateDeviceKey()
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey))
    const thumbprint = await sha256(spki)
    const proof = await signRecord(keys.privateKey, activationRecord(await sha256('other'), thumbprint))
    const res = await lab.srv.api('/api/mobile/v1/activations', {
      method: 'POST',
      json: { token, publicKey: base64url(spki), proof, name: 'x', description: PHONE },
    })
    expect([res.status, ((await res.json()) as { title: string }).title]).toEqual([400, 'Invalid proof'])
    expect(warnings({ thumbprint, reason: 'invalid proof' })).toHaveLength(1)
    // An unknown token, then the right one used twice.
    const guess = await refused(new DeviceClient(lab.srv.url).activate('A'.repeat(32), 'x', PHONE))
    expect(guess.status).toBe(410)
    expect(warnings({ reason: 'unknown activation token' })).toHaveLength(1)
    const phone = new DeviceClient(lab.srv.url)
    await phone.activate(token, 'Guessed', PHONE)
    expect((await refused(new DeviceClient(lab.srv.url).activate(token, 'x', PHONE))).status).toBe(410)
    expect(
      warnings({ cardholder: holder.cardholderId, reason: 'activation token already used' }),
    ).toHaveLength(1)

    // Three wrong SMS codes: each logged, the last one revokes the pending device, by the system.
    const deviceId = phone.device!.deviceId
    const code = await lastSmsCode(lab, holder.mobile)
    const wrong = ['1', '2', '3'].map((d) => (code === d.repeat(6) ? '9' : d).repeat(6))
    expect((await refused(phone.confirm(wrong[0]))).title).toBe('Wrong code')
    expect((await refused(phone.confirm(wrong[1]))).title).toBe('Wrong code')
    expect((await refused(phone.confirm(wrong[2]))).title).toBe('Activation failed')
    expect(warnings({ device: deviceId, reason: 'wrong code' })).toHaveLength(2)
    expect(warnings({ device: deviceId, reason: 'activation failed: NO_MORE_ATTEMPTS' })).toHaveLength(1)
    const audit = (await (
      await lab.srv.api('/api/audit?action=mobile.device.revoke', { token: lab.token })
    ).json()) as { items: { actor: string; target: string; details: unknown }[] }
    expect(audit.items.filter((r) => r.target === `device:${deviceId}`)).toEqual([
      expect.objectContaining({
        actor: 'system',
        details: { reason: 'activation failed: NO_MORE_ATTEMPTS' },
      }),
    ])
    const listed = await lab.srv.api(`/api/mobile/cardholders/${holder.cardholderId}/devices`, {
      token: lab.token,
    })
    expect(((await listed.json()) as { items: unknown[] }).items).toContainEqual(
      expect.objectContaining({ id: deviceId, status: 'revoked', revokedBy: 'system' }),
    )
    // Neither the token, the codes tried nor the code sent reach the logs.
    for (const secret of [token, code, ...wrong]) expect(lab.srv.logText()).not.toContain(secret)
  })

  it('a device revoked from the console can no longer approve', async () => {
    const holder = await enrol(lab, 221)
    const phone = await activatedPhone(lab, holder)
    const { purchase } = await browserChallenge(lab, holder)
    const approval = await approvalOf(phone, purchase.acsTransID!)
    const res = await lab.srv.api(`/api/mobile/devices/${phone.device!.deviceId}/revoke`, {
      method: 'POST',
      token: lab.token,
      json: { reason: 'phone reported lost' },
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { status: string }).status).toBe('revoked')
    const e = await refused(phone.decide(approval, 'approve'))
    expect([e.status, e.title]).toEqual([403, 'Device not active'])
    await noRReq(purchase.id)
  })

  it('a device bound to another card cannot see or decide this card’s approval', async () => {
    const victim = await enrol(lab, 222)
    await activatedPhone(lab, victim)
    const intruder = await activatedPhone(lab, await enrol(lab, 223))
    const { purchase } = await browserChallenge(lab, victim)
    expect(await intruder.approvals()).toEqual([])
    const row = lab.srv.services.db
      .prepare('SELECT id, nonce, created_at FROM mobile_approvals WHERE subject_ref = ?')
      .get(purchase.acsTransID) as { id: string; nonce: string; created_at: number }
    // Even knowing everything the server would send the right device, the intruder's signature is refused.
    const e = await refused(
      intruder.decide(
        {
          id: row.id,
          acsTransID: purchase.acsTransID!,
          mode: 'browser',
          merchant: 'Lab Merchant',
          amount: '4999',
          exponent: '2',
          currency: '978',
          panMasked: '',
          issuedAt: row.created_at,
          expiresAt: 0,
          nonce: row.nonce,
          presence: 'tap',
        },
        'approve',
      ),
    )
    expect([e.status, e.title]).toEqual([403, 'Not your card'])
    refusalLogged(intruder.device!.deviceId, row.id, purchase.acsTransID!, 'not your card')
    await noRReq(purchase.id)
  })
})

describe('rotating QR codes', () => {
  const screenOf = async (acsTransID: string) => {
    const res = await lab.srv.api('/api/mobile/screens', {
      method: 'POST',
      token: lab.token,
      json: { acsTransID },
    })
    expect(res.status).toBe(201)
    return (await res.json()) as { poiId: string; url: string }
  }
  const qrToken = async (poiId: string) => {
    const res = await fetch(`${lab.srv.url}/poi/${poiId}/state`)
    const s = (await res.json()) as { status: string; qr: { link: string; image: string } }
    expect(s.status).toBe('pending')
    expect(s.qr.image).toMatch(/^data:image\/svg\+xml;base64,/)
    return new URL(s.qr.link).hash.replace(/^#poi=/, '')
  }

  it('once a screen is opened, approving needs its current QR code: a remote tap is refused', async () => {
    const holder = await enrol(lab, 231)
    const phone = await activatedPhone(lab, holder)
    const { purchase } = await browserChallenge(lab, holder)
    const { poiId, url } = await screenOf(purchase.acsTransID!)
    expect(new URL(url).pathname).toBe(`/poi/${poiId}`)
    const remote = await approvalOf(phone, purchase.acsTransID!)
    expect(remote.presence).toBe('scan')
    expect((await refused(phone.decide(remote, 'approve'))).title).toBe('Scan required')
    refusalLogged(phone.device!.deviceId, remote.id, purchase.acsTransID!, 'scan required')
    const token = await qrToken(poiId)
    // The token names the screen only: no card data, no transaction id.
    expect(token).not.toContain(holder.pan.slice(-4))
    expect(token).not.toContain(purchase.acsTransID!)
    const scanned = await phone.resolveScreen(token)
    expect(scanned.poi).toBe(poiId)
    expect(await phone.decide(scanned, 'approve', token)).toMatchObject({ transStatus: 'Y' })
    const after = (await (await fetch(`${lab.srv.url}/poi/${poiId}/state`)).json()) as { status: string }
    expect(after.status).toBe('approved')
  })

  it('a stale or forged QR token is refused', async () => {
    const holder = await enrol(lab, 232)
    const phone = await activatedPhone(lab, holder)
    const { purchase } = await browserChallenge(lab, holder)
    const { poiId } = await screenOf(purchase.acsTransID!)
    expect((await settings({ qrPeriodSeconds: 1 })).status).toBe(200)
    try {
      const token = await qrToken(poiId)
      const forged = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA')
      expect((await refused(phone.resolveScreen(forged))).status).toBe(400)
      const scanned = await phone.resolveScreen(token)
      await new Promise((r) => setTimeout(r, 2100))
      const e = await refused(phone.decide(scanned, 'approve', token))
      expect([e.status, e.title]).toEqual([410, 'QR code expired'])
      expect((await refused(phone.resolveScreen(token))).status).toBe(410)
      await noRReq(purchase.id)
    } finally {
      await settings({ qrPeriodSeconds: 30 })
    }
  })

  it('the QR code of another payment’s screen does not approve this one', async () => {
    const holder = await enrol(lab, 233)
    const phone = await activatedPhone(lab, holder)
    const first = await browserChallenge(lab, holder)
    const second = await browserChallenge(lab, holder)
    const otherScreen = await screenOf(second.purchase.acsTransID!)
    await screenOf(first.purchase.acsTransID!)
    const approval = await approvalOf(phone, first.purchase.acsTransID!)
    const e = await refused(phone.decide(approval, 'approve', await qrToken(otherScreen.poiId)))
    expect([e.status, e.title]).toEqual([403, 'Wrong screen'])
    refusalLogged(phone.device!.deviceId, approval.id, first.purchase.acsTransID!, 'wrong screen')
  })
})
