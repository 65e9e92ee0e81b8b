import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import { compactDecrypt } from 'jose'
import { deriveCek } from '../acs/app-channel/concat-kdf'
import { importSdkPublicKey, sharedSecret, type EcPublicJwk } from '../acs/app-channel/ecdh'
import { counterIv, directionKey, encryptCompact, type ContentEncryption } from '../acs/app-channel/jwe'
import { verifyAcsSignedContent } from '../acs/app-channel/signed-content'

/**
 * A 3DS SDK emulator: what a merchant app's SDK does on the app channel. It verifies acsSignedContent
 * against the DS root, agrees the key (ECDH P-256 + Concat KDF), encrypts each CReq as a `dir` JWE with a
 * counter IV, and decrypts every CRes with the `jose` library (an implementation independent of the ACS's
 * own JWE code), checking the ACS counter.
 */
export interface SdkCRes {
  httpStatus: number
  contentType: string
  /** The decrypted CRes, or the plain-JSON Erro the ACS answered. */
  message?: Record<string, unknown>
  /** The raw JWE of the CRes (for replay and oracle tests). */
  jwe?: string
}

export class SdkEmulator {
  readonly sdkTransID = randomUUID()
  readonly sdkAppID = randomUUID()
  readonly sdkReferenceNumber = '3DS_LOA_SDK_LAB_000001'
  readonly publicJwk: EcPublicJwk
  private readonly privateKey: KeyObject
  private cek: Buffer | undefined
  private acsPublicKey: KeyObject | undefined
  private acsURL = ''
  private acsTransID = ''
  private threeDSServerTransID = ''
  private messageVersion = '2.2.0'
  private counter = 0
  private expectedAcsCounter = 0
  /** The last CReq JWE sent (a test can replay it). */
  lastCReq = ''

  constructor(readonly enc: ContentEncryption = 'A128CBC-HS256') {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    this.privateKey = pair.privateKey
    const jwk = pair.publicKey.export({ format: 'jwk' })
    this.publicJwk = { kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y! }
  }

  /** Takes the challenge ARes: checks the signature chain and derives the session key. */
  async accept(ares: Record<string, unknown>, trustedRootsPem: string[]): Promise<void> {
    const payload = await verifyAcsSignedContent(String(ares.acsSignedContent), trustedRootsPem)
    if (payload.sdkEphemPubKey.x !== this.publicJwk.x)
      throw new Error('acsSignedContent echoes another SDK key')
    this.acsPublicKey = importSdkPublicKey(payload.acsEphemPubKey)
    const z = sharedSecret(this.privateKey, this.acsPublicKey)
    this.cek = deriveCek(z, this.sdkReferenceNumber)
    this.acsURL = payload.acsURL
    this.acsTransID = String(ares.acsTransID)
    this.threeDSServerTransID = String(ares.threeDSServerTransID)
    this.messageVersion = String(ares.messageVersion)
  }

  /** PEM exports for the independent (Python) oracle. */
  exportPrivatePem(): string {
    return this.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  }

  acsPublicPem(): string {
    if (!this.acsPublicKey) throw new Error('no ARes accepted yet')
    return this.acsPublicKey.export({ format: 'pem', type: 'spki' }).toString()
  }

  /** Sends one CReq with the given action members (none for the first CReq). */
  async send(fields: Record<string, unknown> = {}): Promise<SdkCRes> {
    if (!this.cek) throw new Error('no ARes accepted yet')
    const creq = {
      messageType: 'CReq',
      messageVersion: this.messageVersion,
      threeDSServerTransID: this.threeDSServerTransID,
      acsTransID: this.acsTransID,
      sdkTransID: this.sdkTransID,
      sdkCounterStoA: String(this.counter).padStart(3, '0'),
      ...fields,
    }
    const jwe = encryptCompact(
      { alg: 'dir', enc: this.enc, kid: this.acsTransID },
      directionKey(this.cek, this.enc, 'sdk-to-acs'),
      counterIv(this.enc, 'sdk-to-acs', this.counter),
      Buffer.from(JSON.stringify(creq), 'utf8'),
    )
    this.counter++
    this.lastCReq = jwe
    return this.post(jwe, 'application/jose; charset=utf-8')
  }

  /** Posts a body as is (a replayed CReq, or a plain-JSON Erro). */
  async post(body: string, contentType: string): Promise<SdkCRes> {
    const res = await fetch(this.acsURL, { method: 'POST', headers: { 'content-type': contentType }, body })
    const type = res.headers.get('content-type') ?? ''
    const text = await res.text()
    if (!type.startsWith('application/jose')) {
      return {
        httpStatus: res.status,
        contentType: type,
        ...(text ? { message: JSON.parse(text) as Record<string, unknown> } : {}),
      }
    }
    const { plaintext, protectedHeader } = await compactDecrypt(
      text,
      directionKey(this.cek!, this.enc, 'acs-to-sdk'),
    )
    if (protectedHeader.enc !== this.enc)
      throw new Error(`CRes enc ${protectedHeader.enc} differs from the CReq's`)
    const cres = JSON.parse(Buffer.from(plaintext).toString('utf8')) as Record<string, unknown>
    if (cres.acsCounterAtoS !== String(this.expectedAcsCounter).padStart(3, '0'))
      throw new Error(`acsCounterAtoS ${String(cres.acsCounterAtoS)}, expected ${this.expectedAcsCounter}`)
    this.expectedAcsCounter++
    return { httpStatus: res.status, contentType: type, message: cres, jwe: text }
  }

  /** What an SDK does after failing to process a CRes: a plain-JSON Erro. */
  sendErro(): Promise<SdkCRes> {
    return this.post(
      JSON.stringify({
        messageType: 'Erro',
        messageVersion: this.messageVersion,
        threeDSServerTransID: this.threeDSServerTransID,
        acsTransID: this.acsTransID,
        sdkTransID: this.sdkTransID,
        errorCode: '203',
        errorComponent: 'C',
        errorDescription: 'Format of one or more Data Elements is Invalid according to the Specification',
        errorDetail: 'acsUiType',
        errorMessageType: 'CRes',
      }),
      'application/json; charset=utf-8',
    )
  }
}
