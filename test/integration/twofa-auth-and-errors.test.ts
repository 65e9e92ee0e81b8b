import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { json, twofaLab, type TwofaLab } from './twofa-helpers'

const TO = '+447946011111'

describe('2FA PIN API: API keys, application management and bad input', () => {
  let lab: TwofaLab
  let app: { applicationId: string; apiKey: string }
  let messageId: string
  const sendBody = () => ({ applicationId: app.applicationId, messageId, to: TO })

  beforeAll(async () => {
    lab = await twofaLab()
    app = await lab.createApp({ sendPinPerPhoneNumberLimit: '100/1d' })
    messageId = await lab.createMessage(app.applicationId)
  })
  afterAll(() => lab.stop())

  it('shows the API key once: never in a listing or a read', async () => {
    const list = (await json(
      await lab.srv.api('/api/2fa/applications', { token: lab.token }),
    )) as unknown as Record<string, unknown>[]
    expect(list.find((a) => a.applicationId === app.applicationId)).toMatchObject({
      name: 'Test shop',
      enabled: true,
      keyPrefix: app.apiKey.slice(0, 13),
    })
    expect(JSON.stringify(list)).not.toContain(app.apiKey)
    const one = await json(
      await lab.srv.api(`/api/2fa/applications/${app.applicationId}`, { token: lab.token }),
    )
    expect(one).not.toHaveProperty('apiKey')
  })

  it('answers 401 JSON problems for a missing, malformed or unknown key', async () => {
    for (const authorization of [
      undefined,
      'Bearer abcdefghijklmnopqrstuvwxyz',
      'App short',
      'App ' + 'x'.repeat(43),
    ]) {
      const headers: Record<string, string> = authorization ? { authorization } : {}
      const res = await lab.srv.api('/2fa/v1/pin', { method: 'POST', headers, json: sendBody() })
      expect(res.status, String(authorization)).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe('App realm="2fa"')
      expect(res.headers.get('content-type')).toContain('application/problem+json')
      const problem = await json(res)
      expect(problem).toMatchObject({ status: 401, title: 'Unauthorized' })
      expect(problem.detail).toMatch(/App <apiKey>|not valid/)
    }
  })

  it('authenticates before it validates: no body is read for a stranger', async () => {
    const res = await lab.pinApi('/2fa/v1/pin', undefined, { nonsense: true })
    expect(res.status).toBe(401)
  })

  it('rotates keys: the old key stops working at once', async () => {
    const rotating = await lab.createApp({}, 'Rotating')
    const m = await lab.createMessage(rotating.applicationId)
    const res = await lab.srv.api(`/api/2fa/applications/${rotating.applicationId}/rotate-key`, {
      method: 'POST',
      token: lab.token,
    })
    const { apiKey } = (await json(res)) as { apiKey: string }
    expect(apiKey).not.toBe(rotating.apiKey)
    const body = { applicationId: rotating.applicationId, messageId: m, to: TO }
    expect((await lab.pinApi('/2fa/v1/pin', rotating.apiKey, body)).status).toBe(401)
    expect((await lab.pinApi('/2fa/v1/pin', apiKey, body)).status).toBe(200)
  })

  it('disables and re-enables an application; updates only what is named', async () => {
    const toggled = await lab.createApp({ pinAttempts: 4 }, 'Toggled')
    const m = await lab.createMessage(toggled.applicationId)
    const body = { applicationId: toggled.applicationId, messageId: m, to: TO }
    const patch = (json: unknown) =>
      lab.srv.api(`/api/2fa/applications/${toggled.applicationId}`, {
        method: 'PATCH',
        token: lab.token,
        json,
      })
    expect(await json(await patch({ enabled: false }))).toMatchObject({ enabled: false })
    const refused = await lab.pinApi('/2fa/v1/pin', toggled.apiKey, body)
    expect(refused.status).toBe(403)
    expect((await json(refused)).detail).toMatch(/disabled/)
    const updated = await json(await patch({ enabled: true, configuration: { pinTimeToLive: '5m' } }))
    expect(updated).toMatchObject({
      enabled: true,
      name: 'Toggled',
      configuration: { pinAttempts: 4, pinTimeToLive: '5m', verifyPinLimit: '1/3s' },
    })
    expect((await lab.pinApi('/2fa/v1/pin', toggled.apiKey, body)).status).toBe(200)
    const bad = await patch({ configuration: { pinTimeToLive: 'forever' } })
    expect(bad.status).toBe(400)
    expect((await json(bad)).errors).toEqual([
      { path: 'configuration.pinTimeToLive', message: expect.any(String) },
    ])
  })

  it("keeps applications apart: a key cannot use another application's id, message or PIN", async () => {
    const other = await lab.createApp({}, 'Other')
    const otherMessage = await lab.createMessage(other.applicationId)
    const crossApp = await lab.pinApi('/2fa/v1/pin', app.apiKey, {
      ...sendBody(),
      applicationId: other.applicationId,
    })
    expect(crossApp.status).toBe(403)
    const crossMessage = await lab.pinApi('/2fa/v1/pin', app.apiKey, {
      ...sendBody(),
      messageId: otherMessage,
    })
    expect(crossMessage.status).toBe(404)
    const { pinId } = (await json(
      await lab.pinApi('/2fa/v1/pin', other.apiKey, {
        applicationId: other.applicationId,
        messageId: otherMessage,
        to: TO,
      }),
    )) as { pinId: string }
    for (const path of [`/2fa/v1/pin/${pinId}/verify`, `/2fa/v1/pin/${pinId}/resend`]) {
      const res = await lab.pinApi(path, app.apiKey, { pin: '123456' })
      expect(res.status, path).toBe(404)
    }
  })

  it('answers bad input with clear JSON errors, never a 5xx', async () => {
    const raw = (body: string, contentType = 'application/json') =>
      lab.srv.api('/2fa/v1/pin', {
        method: 'POST',
        headers: { authorization: `App ${app.apiKey}`, 'content-type': contentType },
        body,
      })
    expect((await json(await raw('{"to":'))).title).toBe('Malformed JSON')
    expect((await raw('to=1', 'application/x-www-form-urlencoded')).status).toBe(415)
    expect((await raw('')).status).toBe(400)
    expect((await raw('[]')).status).toBe(400)
    expect((await raw('x'.repeat(2_000_000))).status).toBe(413)

    const badTo = await json(await lab.pinApi('/2fa/v1/pin', app.apiKey, { ...sendBody(), to: 'call me' }))
    expect(badTo).toMatchObject({ status: 400, errors: [{ path: 'to', message: expect.any(String) }] })
    const extra = await json(await lab.pinApi('/2fa/v1/pin', app.apiKey, { ...sendBody(), pinCode: '1' }))
    expect(extra.status).toBe(400)
    const unknownMessage = await lab.pinApi('/2fa/v1/pin', app.apiKey, {
      ...sendBody(),
      messageId: '0'.repeat(32),
    })
    expect(unknownMessage.status).toBe(404)
    const badPinId = await json(await lab.pinApi('/2fa/v1/pin/not-a-pin/verify', app.apiKey, { pin: '1' }))
    expect(badPinId).toMatchObject({
      status: 400,
      errors: [{ path: 'path.pinId', message: expect.any(String) }],
    })
    const unknownPin = await lab.pinApi(`/2fa/v1/pin/${'A'.repeat(32)}/verify`, app.apiKey, { pin: '1' })
    expect(unknownPin.status).toBe(404)
    const numericPin = await json(
      await lab.pinApi(`/2fa/v1/pin/${'A'.repeat(32)}/verify`, app.apiKey, { pin: 123456 }),
    )
    expect(numericPin.status).toBe(400)
    const noRoute = await json(await lab.pinApi('/2fa/v1/nothing-here', app.apiKey, {}))
    expect(noRoute.status).toBe(404)
    const wrongMethod = await json(await lab.pinApi('/2fa/v1/pin', app.apiKey, undefined, 'GET'))
    expect(wrongMethod.status).toBe(405)
  })

  it('refuses templates without {{pin}} or with impossible PIN shapes', async () => {
    const post = (body: unknown) =>
      lab.srv.api(`/api/2fa/applications/${app.applicationId}/messages`, {
        method: 'POST',
        token: lab.token,
        json: body,
      })
    for (const body of [
      { messageText: 'No code here', pinLength: 6, pinType: 'NUMERIC' },
      { messageText: '{{pin}}', pinLength: 3, pinType: 'NUMERIC' },
      { messageText: '{{pin}}', pinLength: 6, pinType: 'BASE64' },
    ]) {
      const res = await post(body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect((await json(res)).errors).toHaveLength(1)
    }
  })

  it('needs the twofa.manage permission for the console API', async () => {
    await lab.srv.services.operators.create(
      { username: 'agent1', displayName: 'Agent', role: 'agent', password: 'agent-password-long-1' },
      'test',
    )
    const agent = await lab.srv.login('agent1', 'agent-password-long-1')
    const res = await lab.srv.api('/api/2fa/applications', { token: agent })
    expect(res.status).toBe(403)
  })

  it('documents the PIN API in the OpenAPI document with the App key scheme', async () => {
    const doc = (await json(await lab.srv.api('/api/openapi.json'))) as {
      paths: Record<string, Record<string, { security: unknown[] }>>
    }
    expect(doc.paths['/2fa/v1/pin'].post.security).toEqual([{ appKey: [] }])
    expect(doc.paths['/2fa/v1/pin/{pinId}/verify'].post).toBeDefined()
    expect(doc.paths['/api/2fa/applications/{applicationId}/messages'].post).toBeDefined()
  })
})
