import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'
import { createOperator, expectProblem } from './keys-fixtures'

let srv: TestServer
let admin: string
let bench: string
let signingKeyId: number
beforeAll(async () => {
  srv = await startTestServer()
  admin = await srv.login(ADMIN.username, ADMIN.password)
  const b = await createOperator(srv, admin, 'benchie', 'bench')
  bench = await srv.login(b.username, b.password)
  const key = (await (
    await srv.api('/api/keys', {
      method: 'POST',
      token: admin,
      json: { name: 'TMS signing', kind: 'signing', algorithm: 'ecdsa-p256' },
    })
  ).json()) as { id: number }
  signingKeyId = key.id
  await srv.api(`/api/keys/${key.id}/activate`, { method: 'POST', token: admin })
})
afterAll(() => srv.stop())

const PARAMETERS = {
  currencyCode: '978',
  countryCode: '250',
  terminalType: '22',
  terminalCapabilities: 'E0F8C8',
  additionalTerminalCapabilities: 'F000F0A001',
  floorLimit: 5000,
  randomSelection: { threshold: 2000, targetPercent: 20, maxTargetPercent: 50 },
  tacDenial: '0010000000',
  tacOnline: 'DC4004F800',
  tacDefault: 'DC4000A800',
  contactless: { floorLimit: 0, transactionLimit: 5000000, cvmRequiredLimit: 5000 },
}

const PANS = ['4761739001010010', '5413330089020011', '4000000000000002', '4111111111111111']

describe('terminal management', () => {
  it('signed parameters, delta lists and acknowledgements, end to end over the terminal endpoint', async () => {
    const created = await srv.api('/api/terminal-parameter-sets', {
      method: 'POST',
      token: bench,
      json: { name: 'Retail EUR', signingKeyId, parameters: PARAMETERS },
    })
    expect(created.status).toBe(201)
    const set = (await created.json()) as { id: number; version: number }
    expect(set.version).toBe(1)
    const reg = (await (
      await srv.api('/api/terminals', {
        method: 'POST',
        token: bench,
        json: {
          terminalId: 'TERM0001',
          merchantId: 'MERCHANT00001',
          acquirerId: '123456',
          name: 'Shop till 1',
        },
      })
    ).json()) as { terminal: { id: number }; apiKey: string }
    const auth = { authorization: `Terminal TERM0001:${reg.apiKey}` }
    const tms = (path: string, init: RequestInit & { json?: unknown } = {}) =>
      srv.api(path, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } })

    await expectProblem(await tms('/tms/v1/parameters'), 404) // nothing assigned yet
    await srv.api(`/api/terminals/${reg.terminal.id}/parameter-set`, {
      method: 'PUT',
      token: bench,
      json: { parameterSetId: set.id },
    })
    const download = (await (await tms('/tms/v1/parameters')).json()) as {
      payload: string
      signature: string
      publicKey: string
    }
    expect(JSON.parse(download.payload)).toMatchObject({
      format: 'ims-tms-parameters/1',
      name: 'Retail EUR',
      version: 1,
      parameters: { floorLimit: 5000 },
    })

    // Independent check of the signature with the OpenSSL command line, as a terminal vendor would.
    const dir = mkdtempSync(join(tmpdir(), 'tms-sig-'))
    try {
      writeFileSync(join(dir, 'payload'), download.payload)
      writeFileSync(join(dir, 'sig.der'), Buffer.from(download.signature, 'base64'))
      writeFileSync(join(dir, 'pub.pem'), download.publicKey)
      const out = execFileSync(
        'openssl',
        ['dgst', '-sha256', '-verify', 'pub.pem', '-signature', 'sig.der', 'payload'],
        { cwd: dir },
      ).toString()
      expect(out).toMatch(/Verified OK/)
      writeFileSync(join(dir, 'payload'), download.payload.replace('5000', '9000'))
      expect(() =>
        execFileSync(
          'openssl',
          ['dgst', '-sha256', '-verify', 'pub.pem', '-signature', 'sig.der', 'payload'],
          { cwd: dir, stdio: 'pipe' },
        ),
      ).toThrow()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }

    // Exception list v1: three cards; v2: one removed, one added.
    const change = (json: unknown) =>
      srv.api('/api/terminal-lists/exception/changes', { method: 'POST', token: bench, json })
    expect(
      (await change({ add: [{ pan: PANS[0] }, { pan: PANS[1], psn: '01' }, { pan: PANS[2] }] })).status,
    ).toBe(201)
    const full = (await (await tms('/tms/v1/lists/exception')).json()) as {
      version: number
      full: boolean
      add: unknown[]
    }
    expect(full).toMatchObject({ version: 1, full: true })
    expect(full.add).toHaveLength(3)
    expect(full.add).toContainEqual({ pan: PANS[1], psn: '01' })
    await tms('/tms/v1/status', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        parameterSetId: set.id,
        parameterVersion: 1,
        exceptionListVersion: 1,
        allowListVersion: 0,
        status: 'ok',
      }),
    })
    let terminal = (
      (await (await srv.api('/api/terminals', { token: bench })).json()) as {
        outOfDate: boolean
        status: string
      }[]
    )[0]
    expect(terminal).toMatchObject({ outOfDate: false, status: 'ok' })

    expect((await change({ add: [{ pan: PANS[3] }], remove: [{ pan: PANS[0] }] })).status).toBe(201)
    // An add and a removal of a card the terminal never had cancel out in its delta.
    expect((await change({ add: [{ pan: '4000000000000010' }] })).status).toBe(201)
    expect((await change({ remove: [{ pan: '4000000000000010' }] })).status).toBe(201)
    await expectProblem(await change({ remove: [{ pan: '4000000000000010' }] }), 409)
    const delta = (await (await tms('/tms/v1/lists/exception?since=1')).json()) as Record<string, unknown>
    expect(delta).toEqual({
      list: 'exception',
      version: 4,
      since: 1,
      full: false,
      add: [{ pan: PANS[3] }],
      remove: [{ pan: PANS[0] }],
    })
    terminal = ((await (await srv.api('/api/terminals', { token: bench })).json()) as (typeof terminal)[])[0]
    expect(terminal.outOfDate).toBe(true)

    // BIN allow list.
    expect(
      (
        await srv.api('/api/terminal-lists/allow/changes', {
          method: 'POST',
          token: bench,
          json: { add: [{ bin: '476173' }] },
        })
      ).status,
    ).toBe(201)
    expect(await (await tms('/tms/v1/lists/allow?since=0')).json()).toMatchObject({
      version: 1,
      add: [{ bin: '476173' }],
    })

    // The console shows masked PANs only; the database holds them sealed.
    const view = (await (await srv.api('/api/terminal-lists/exception', { token: bench })).json()) as {
      entries: string[]
    }
    expect(view.entries).toContain('541333******0011 (PSN 01)')
    expect(JSON.stringify(view)).not.toContain(PANS[1])
    const stored = srv.services.db
      .prepare('SELECT group_concat(display) FROM card_list_changes')
      .pluck()
      .get() as string
    expect(stored).not.toContain(PANS[1])
  })

  it('refuses unauthenticated terminals and bad input with problem+json', async () => {
    await expectProblem(await srv.api('/tms/v1/parameters'), 401)
    await expectProblem(
      await srv.api('/tms/v1/parameters', {
        headers: { authorization: `Terminal TERM0001:${'A'.repeat(43)}` },
      }),
      401,
    )
    const bad = await srv.api('/api/terminal-parameter-sets', {
      method: 'POST',
      token: bench,
      json: {
        name: 'Bad',
        signingKeyId,
        parameters: {
          ...PARAMETERS,
          randomSelection: { threshold: 9000, targetPercent: 60, maxTargetPercent: 50 },
        },
      },
    })
    await expectProblem(bad, 400)
    await expectProblem(
      await srv.api('/api/terminal-lists/exception/changes', {
        method: 'POST',
        token: bench,
        json: { add: [{ bin: '476173' }] },
      }),
      400,
    )
    await expectProblem(
      await srv.api('/api/terminal-lists/hot/changes', { method: 'POST', token: bench, json: {} }),
      400,
    )
    await expectProblem(
      await srv.api('/api/terminals', { method: 'POST', token: admin, json: { terminalId: 'short' } }),
      400,
    )
  })
})
