import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request, type Server } from 'node:https'
import { X509Certificate } from 'node:crypto'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeAReq } from '../../src-server/acs/fixtures/areq'
import { generateTestTlsPki } from '../../src-server/lab/pki'
import { ADMIN, startTestServer } from '../helpers/server'
import { browserCReq } from '../../src-server/lab/three-ds-server'
import { CARDS, ChallengeBrowser, labOver, type Lab } from './acs-lab'

/**
 * The directory servers' listener with mutual TLS (brief: "a second listener with mutual TLS for a real
 * directory server") and the RReq's client certificate, over real TLS on loopback: Node's TLS as the DS,
 * and OpenSSL's s_client as an independent one.
 */
interface Link {
  caPem: string
  dsCertPem: string
  dsKeyPem: string
}

let lab: Lab
let link: Link
const files = mkdtempSync(join(tmpdir(), 'ims-mtls-'))

beforeAll(async () => {
  lab = await labOver(await startTestServer({ env: { IMS_ACS_TLS_PORT: '0' } }))
})
afterAll(async () => {
  await lab.srv.stop()
  rmSync(files, { recursive: true, force: true })
})

function areq(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    ...makeAReq('2.2.0', 'BRW', 'PA'),
    acctNumber: CARDS.visaEn.pan,
    dsURL: `${lab.srv.url}/lab/ds/rreq`,
    threeDSServerTransID: crypto.randomUUID(),
    ...overrides,
  })
}

/** A request over TLS with whatever client certificate (or none) the DS presents. */
function post(
  url: string,
  body: string,
  tls: { ca: string; cert?: string; key?: string; servername?: string },
  path = '/acs/v2/areq',
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, url),
      {
        method: 'POST',
        servername: 'localhost',
        ...tls,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = ''
        res.on('data', (c: Buffer) => (text += c.toString()))
        res.on('end', () => resolve({ status: res.statusCode!, text }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

async function detail(acsTransID: string): Promise<{ dsCertificate?: unknown }> {
  const res = await lab.srv.api(`/api/transactions/${acsTransID}`, { token: lab.token })
  expect(res.status).toBe(200)
  return ((await res.json()) as { transaction: { dsCertificate?: unknown } }).transaction
}

describe('mutual-TLS listener', () => {
  it('waits for an identity, with an alarm, then listens once one is imported', async () => {
    expect(lab.srv.acsTls?.url).toBeUndefined()
    const alarms = (await (await lab.srv.api('/api/alarms', { token: lab.token })).json()) as {
      kind: string
    }[]
    expect(alarms.map((a) => a.kind)).toContain('acs-tls-missing')

    const res = await lab.srv.api('/api/acs/tls/visa/test-pki', {
      method: 'POST',
      token: lab.token,
      json: { hosts: ['localhost', '127.0.0.1'] },
    })
    expect(res.status).toBe(201)
    const created = (await res.json()) as Link & { identity: { names: string; subject: string } }
    expect(created.identity.names).toContain('DNS:localhost')
    expect(created.dsKeyPem).toContain('PRIVATE KEY')
    link = created
    expect(lab.srv.acsTls?.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const open = (await (await lab.srv.api('/api/alarms', { token: lab.token })).json()) as { kind: string }[]
    expect(open.map((a) => a.kind)).not.toContain('acs-tls-missing')
    const listed = (await (await lab.srv.api('/api/acs/tls', { token: lab.token })).json()) as {
      brand: string
      dsCas: string[]
    }[]
    expect(listed).toEqual([
      expect.objectContaining({ brand: 'visa', dsCas: [expect.stringContaining('TLS CA')] }),
    ])
    // The private key never leaves in a listing.
    expect(JSON.stringify(listed)).not.toContain('PRIVATE KEY')
  })

  it('answers an AReq from a DS presenting a certificate of the DS CA, and records which certificate', async () => {
    const res = await post(lab.srv.acsTls!.url!, areq(), {
      ca: link.caPem,
      cert: link.dsCertPem,
      key: link.dsKeyPem,
    })
    expect(res.status).toBe(200)
    const ares = JSON.parse(res.text) as { messageType: string; acsTransID: string }
    expect(ares).toMatchObject({ messageType: 'ARes', acsTransID: expect.any(String) })
    const ds = new X509Certificate(link.dsCertPem)
    expect((await detail(ares.acsTransID)).dsCertificate).toEqual({
      subject: ds.subject.replaceAll('\n', ', '),
      sha256: ds.fingerprint256,
    })

    // An AReq on the main listener (the lab's loopback DS) came with no certificate to record.
    const plain = await lab.srv.api('/acs/v2/areq', { method: 'POST', json: JSON.parse(areq()) })
    const { acsTransID } = (await plain.json()) as { acsTransID: string }
    expect((await detail(acsTransID)).dsCertificate).toBeUndefined()
  })

  it('refuses a DS without a certificate, and one whose certificate another CA issued', async () => {
    await expect(post(lab.srv.acsTls!.url!, areq(), { ca: link.caPem })).rejects.toThrow()
    const stranger = generateTestTlsPki({ name: 'Stranger' })
    await expect(
      post(lab.srv.acsTls!.url!, areq(), {
        ca: link.caPem,
        cert: stranger.dsCertPem,
        key: stranger.dsKeyPem,
      }),
    ).rejects.toThrow()
  })

  it("lets a DS speak only for the schemes whose CA certified it (Erro 303 for another scheme's card)", async () => {
    const res = await lab.srv.api('/api/acs/tls/mastercard/test-pki', {
      method: 'POST',
      token: lab.token,
      json: { hosts: ['mc.localhost'] },
    })
    const mc = (await res.json()) as Link
    // SNI picks the Mastercard certificate for its host name; the Visa DS still gets the Visa one.
    const asMastercardDs = { ca: mc.caPem, cert: mc.dsCertPem, key: mc.dsKeyPem, servername: 'mc.localhost' }
    const visaCard = JSON.parse((await post(lab.srv.acsTls!.url!, areq(), asMastercardDs)).text) as Record<
      string,
      string
    >
    expect(visaCard).toMatchObject({ messageType: 'Erro', errorCode: '303', errorComponent: 'A' })
    expect(visaCard.errorDetail).toMatch(/visa card .* certified for mastercard/)
    const mcCard = await post(
      lab.srv.acsTls!.url!,
      areq({ acctNumber: CARDS.mastercardDe.pan }),
      asMastercardDs,
    )
    expect(JSON.parse(mcCard.text)).toMatchObject({ messageType: 'ARes' })
    const visa = await post(lab.srv.acsTls!.url!, areq(), {
      ca: link.caPem,
      cert: link.dsCertPem,
      key: link.dsKeyPem,
    })
    expect(JSON.parse(visa.text)).toMatchObject({ messageType: 'ARes' })
  })

  it('serves the DS endpoint only: the console API is not on this listener', async () => {
    const tls = { ca: link.caPem, cert: link.dsCertPem, key: link.dsKeyPem }
    const res = await post(lab.srv.acsTls!.url!, '{"username":"admin","password":"x"}', tls, '/api/session')
    expect(res.status).toBe(404)
    expect(JSON.parse(res.text)).toMatchObject({ status: 404 })
  })

  it('refuses an identity that does not hold together, and keeps the stored one', async () => {
    const other = generateTestTlsPki({ name: 'Other' })
    const put = (body: Record<string, string>) =>
      lab.srv.api('/api/acs/tls/visa', { method: 'PUT', token: lab.token, json: body })
    const cases: [Record<string, string>, RegExp][] = [
      [{ chainPem: other.acsCertPem, privateKeyPem: link.dsKeyPem, dsCaPem: other.caPem }, /does not belong/],
      [{ chainPem: other.acsCertPem, privateKeyPem: other.acsKeyPem, dsCaPem: other.dsCertPem }, /not a CA/],
      [{ chainPem: 'not a certificate', privateKeyPem: other.acsKeyPem, dsCaPem: other.caPem }, /no PEM/],
      [{ chainPem: other.acsCertPem, privateKeyPem: 'garbage', dsCaPem: other.caPem }, /private key/],
    ]
    for (const [body, detail] of cases) {
      const res = await put(body)
      expect(res.status).toBe(422)
      expect(((await res.json()) as { detail: string }).detail).toMatch(detail)
    }
    const listed = (await (await lab.srv.api('/api/acs/tls', { token: lab.token })).json()) as {
      brand: string
      subject: string
    }[]
    const stored = listed.find((i) => i.brand === 'visa')!
    expect(stored.subject).toContain('Lab visa DS ACS')
  })

  it('shows a mutual-TLS certificate ending within 30 days on the dashboard, and takes its renewal live', async () => {
    const short = generateTestTlsPki({ name: 'Short', validDays: 10 })
    const put = (chainPem: string, privateKeyPem: string, dsCaPem: string) =>
      lab.srv.api('/api/acs/tls/visa', {
        method: 'PUT',
        token: lab.token,
        json: { chainPem, privateKeyPem, dsCaPem },
      })
    expect((await put(short.acsCertPem, short.acsKeyPem, short.caPem)).status).toBe(200)
    const dashboard = (await (await lab.srv.api('/api/console/dashboard', { token: lab.token })).json()) as {
      alarms: { items: { ref: string; kind: string; message: string }[] }
    }
    expect(dashboard.alarms.items).toContainEqual(
      expect.objectContaining({
        ref: 'tls:visa',
        kind: 'certificate-expiring',
        message: expect.stringMatching(/in (9|10) days/),
      }),
    )
    // The listener now trusts the new DS CA only: the old DS certificate is refused, the new one answers.
    await expect(
      post(lab.srv.acsTls!.url!, areq(), { ca: short.caPem, cert: link.dsCertPem, key: link.dsKeyPem }),
    ).rejects.toThrow()
    const res = await post(lab.srv.acsTls!.url!, areq(), {
      ca: short.caPem,
      cert: short.dsCertPem,
      key: short.dsKeyPem,
    })
    expect(res.status).toBe(200)
    // Back to the year-long link for the tests that follow.
    const restore = (
      await lab.srv.api('/api/acs/tls/visa/test-pki', { method: 'POST', token: lab.token, json: {} })
    ).json()
    link = (await restore) as Link
  })

  it.skipIf(spawnSync('openssl', ['version']).status !== 0)(
    'OpenSSL s_client, as the DS, verifies the ACS certificate and gets an ARes',
    async () => {
      writeFileSync(join(files, 'ca.pem'), link.caPem)
      writeFileSync(join(files, 'ds.pem'), link.dsCertPem)
      writeFileSync(join(files, 'ds.key'), link.dsKeyPem)
      const body = areq()
      const http = `POST /acs/v2/areq HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
      const { port } = new URL(lab.srv.acsTls!.url!)
      // Asynchronous: the server under test runs in this process and must go on answering.
      const sClient = async (withCert: boolean) => {
        const child = spawn(
          'openssl',
          [
            's_client',
            '-connect',
            `127.0.0.1:${port}`,
            '-servername',
            'localhost',
            '-verify_hostname',
            'localhost',
            '-CAfile',
            join(files, 'ca.pem'),
            '-verify_return_error',
            '-ign_eof',
            ...(withCert ? ['-cert', join(files, 'ds.pem'), '-key', join(files, 'ds.key')] : []),
          ],
          { stdio: ['pipe', 'pipe', 'pipe'] },
        )
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
        child.stdin.end(http)
        // The server closes the connection after its answer (or its refusal); never leave a stuck client.
        const stuck = setTimeout(() => child.kill(), 15_000)
        await once(child, 'close')
        clearTimeout(stuck)
        return { stdout, stderr }
      }
      const ok = await sClient(true)
      expect(ok.stdout).toContain('Verify return code: 0 (ok)')
      expect(ok.stdout).toContain('HTTP/1.1 200')
      expect(ok.stdout).toMatch(/"messageType":"ARes"/)
      const refused = await sClient(false)
      expect(refused.stdout).not.toContain('HTTP/1.1 200')
      expect(refused.stdout + refused.stderr).toMatch(/alert|certificate required|handshake failure/i)
    },
  )
})

describe('a listener that cannot start', () => {
  it('is an alarm, and the main listener goes on serving the console', async () => {
    const taken = createNetServer().listen(0, '127.0.0.1')
    await once(taken, 'listening')
    const srv = await startTestServer({
      env: { IMS_ACS_TLS_PORT: String((taken.address() as AddressInfo).port) },
    })
    try {
      const token = await srv.login(ADMIN.username, ADMIN.password)
      const res = await srv.api('/api/acs/tls/visa/test-pki', { method: 'POST', token, json: {} })
      expect(res.status).toBe(201)
      expect(srv.acsTls?.url).toBeUndefined()
      const alarms = (await (await srv.api('/api/alarms', { token })).json()) as {
        kind: string
        message: string
      }[]
      expect(alarms).toContainEqual(
        expect.objectContaining({ kind: 'acs-tls-listener', message: expect.stringContaining('EADDRINUSE') }),
      )
    } finally {
      await srv.stop()
      taken.close()
    }
  })
})

describe('RReq over mutual TLS', () => {
  let ds: Server
  const received: { subject: string | undefined; body: Record<string, unknown> }[] = []
  beforeAll(async () => {
    // A directory server that asks for a client certificate of the same scheme CA.
    ds = createServer(
      {
        ca: link.caPem,
        cert: link.dsCertPem,
        key: link.dsKeyPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        let raw = ''
        req.on('data', (c: Buffer) => (raw += c.toString()))
        req.on('end', () => {
          const rreq = JSON.parse(raw) as Record<string, unknown>
          const peer = (req.socket as TLSSocket).getPeerCertificate()
          received.push({ subject: String(peer.subject?.CN), body: rreq })
          res.setHeader('content-type', 'application/json')
          res.end(
            JSON.stringify({
              messageType: 'RRes',
              messageVersion: rreq.messageVersion,
              threeDSServerTransID: rreq.threeDSServerTransID,
              acsTransID: rreq.acsTransID,
              dsTransID: rreq.dsTransID,
              resultsStatus: '01',
            }),
          )
        })
      },
    )
    ds.listen(0, '127.0.0.1')
    await once(ds, 'listening')
  })
  afterAll(() => new Promise<void>((r) => ds.close(() => r())))

  it("presents the brand's ACS certificate to the DS and records its RRes", async () => {
    const dsURL = `https://localhost:${(ds.address() as AddressInfo).port}/rreq`
    const res = await lab.srv.api('/acs/v2/areq', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: areq({ dsURL, threeDSRequestorChallengeInd: '04' }),
    })
    const ares = (await res.json()) as Record<string, string>
    expect(ares.transStatus).toBe('C')
    const creq = browserCReq(ares, '05')
    const browser = new ChallengeBrowser(ares.acsURL)
    await browser.open(creq)
    await browser.act('cancel')
    expect(received).toHaveLength(1)
    expect(received[0].subject).toBe('Lab visa DS ACS')
    expect(received[0].body).toMatchObject({
      messageType: 'RReq',
      acsTransID: ares.acsTransID,
      challengeCancel: '01',
    })
    const trace = (await (
      await lab.srv.api(`/api/transactions/${ares.acsTransID}`, { token: lab.token })
    ).json()) as { messages: { messageType: string }[]; rreq: { status: string; resultsStatus: string } }
    expect(trace.messages.map((m) => m.messageType)).toContain('RRes')
    expect(trace.rreq).toMatchObject({ status: 'delivered', resultsStatus: '01' })
  })
})
