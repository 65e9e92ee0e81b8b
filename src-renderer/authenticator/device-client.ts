/**
 * The authenticator's side of the protocol (docs/mobile-authenticator.md), on WebCrypto and fetch only, so
 * the same code runs in the installed web app and, as a simulated phone, in the Node integration tests.
 * The private key is created non-extractable: it can sign, and it can be stored in IndexedDB, but its
 * bytes can never be read back by any script.
 */
import {
  activationRecord,
  approvalRecord,
  approvalReference,
  deviceAuthorization,
  requestRecord,
  type Decision,
} from '../../src-server/mobile/canonical'
import type { ApprovalView, DeviceDescription, DeviceView } from '../../src-server/mobile/model'

export type { ApprovalView, Decision, DeviceDescription, DeviceView }

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const

export function base64url(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)
  let binary = ''
  for (const b of view) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export async function sha256(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data
  return base64url(await crypto.subtle.digest('SHA-256', bytes as BufferSource))
}

export function generateDeviceKey(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ALGORITHM, false, ['sign', 'verify'])
}

/** r‖s signature (WebCrypto's own format) over the UTF-8 record, base64url. */
export async function signRecord(key: CryptoKey, record: string): Promise<string> {
  return base64url(await crypto.subtle.sign(SIGNING, key, new TextEncoder().encode(record)))
}

/** The problem document of a refused call, as an error the screens can show in words. */
export class ServerError extends Error {
  override name = 'ServerError'
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
  ) {
    super(detail ? `${title}: ${detail}` : title)
  }
}

export interface StoredDevice {
  deviceId: string
  keys: CryptoKeyPair
}

export class DeviceClient {
  constructor(
    /** '' in the web app (same origin); the server's URL in tests. */
    private readonly base: string,
    public device?: StoredDevice,
    private readonly fetchImpl: typeof fetch = (...args) => fetch(...args),
  ) {}

  private async call<T>(method: string, path: string, body?: unknown, signed = true): Promise<T> {
    const text = body === undefined ? '' : JSON.stringify(body)
    const headers: Record<string, string> = { Accept: 'application/json' }
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    if (signed) headers.Authorization = await this.authorization(method, path, text)
    const res = await this.fetchImpl(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : text,
    })
    if (res.status === 204) return undefined as T
    const answer = (await res.json().catch(() => ({}))) as { title?: string; detail?: string }
    if (!res.ok) throw new ServerError(res.status, answer.title ?? `HTTP ${res.status}`, answer.detail)
    return answer as T
  }

  /** The IMS-Device authorization of one request (exported for tests that tamper with it). */
  async authorization(method: string, path: string, body: string, at = Date.now()): Promise<string> {
    if (!this.device) throw new Error('this authenticator is not activated')
    const record = requestRecord(method, path, at, await sha256(body))
    return deviceAuthorization(
      this.device.deviceId,
      at,
      await signRecord(this.device.keys.privateKey, record),
    )
  }

  /** First factor: a new key, registered with the token from the activation QR code. */
  async activate(
    token: string,
    name: string,
    description: DeviceDescription,
  ): Promise<{ deviceId: string; maskedMobile: string }> {
    const keys = await generateDeviceKey()
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey))
    const proof = await signRecord(keys.privateKey, activationRecord(await sha256(token), await sha256(spki)))
    const answer = await this.call<{ deviceId: string; maskedMobile: string }>(
      'POST',
      '/api/mobile/v1/activations',
      { token, publicKey: base64url(spki), proof, name, description },
      false,
    )
    this.device = { deviceId: answer.deviceId, keys }
    return answer
  }

  /** Second factor: the code the bank texted to the registered number. */
  confirm(code: string): Promise<DeviceView> {
    return this.call('POST', '/api/mobile/v1/device/confirm', { code })
  }

  me(): Promise<DeviceView> {
    return this.call('GET', '/api/mobile/v1/device')
  }

  rename(name: string): Promise<DeviceView> {
    return this.call('PATCH', '/api/mobile/v1/device', { name })
  }

  remove(): Promise<void> {
    return this.call('DELETE', '/api/mobile/v1/device')
  }

  async eventsUrl(description: DeviceDescription): Promise<string> {
    const { ticket } = await this.call<{ ticket: string }>('POST', '/api/mobile/v1/event-tickets', {
      description,
    })
    return `${this.base}/api/mobile/v1/events?ticket=${encodeURIComponent(ticket)}`
  }

  async approvals(): Promise<ApprovalView[]> {
    return (await this.call<{ items: ApprovalView[] }>('GET', '/api/mobile/v1/approvals')).items
  }

  approval(id: string): Promise<ApprovalView> {
    return this.call('GET', `/api/mobile/v1/approvals/${encodeURIComponent(id)}`)
  }

  resolveScreen(token: string): Promise<ApprovalView> {
    return this.call('POST', '/api/mobile/v1/screens/resolve', { token })
  }

  /** The canonical record of a decision on this approval and its signature. */
  async signDecision(
    a: ApprovalView,
    decision: Decision,
    signedAt = Date.now(),
  ): Promise<{ record: string; signature: string }> {
    if (!this.device) throw new Error('this authenticator is not activated')
    const record = approvalRecord({
      decision,
      ...approvalReference(a),
      amount: a.amount,
      exponent: a.exponent,
      currency: a.currency,
      merchant: a.merchant,
      issuedAt: a.issuedAt,
      signedAt,
      nonce: a.nonce,
      deviceId: this.device.deviceId,
      poi: a.poi ?? '-',
    })
    return { record, signature: await signRecord(this.device.keys.privateKey, record) }
  }

  async decide(
    a: ApprovalView,
    decision: Decision,
    poiToken?: string,
  ): Promise<{ status: string; transStatus?: string }> {
    const signedAt = Date.now()
    const { signature } = await this.signDecision(a, decision, signedAt)
    return this.sendDecision(a.id, { decision, signedAt, poiToken, signature })
  }

  sendDecision(
    id: string,
    body: { decision: Decision; signedAt: number; poiToken?: string; signature: string },
  ): Promise<{ status: string; transStatus?: string }> {
    return this.call('POST', `/api/mobile/v1/approvals/${encodeURIComponent(id)}/decision`, body)
  }
}
