import { buildErro, isErroMessage, type Erro, type ErrorCodeValue } from '../protocol/erro'
import { parseAppCReq, type AppCReq } from '../protocol/creq'
import type { CRes } from '../protocol/cres'
import { serializeMessage } from '../protocol/serialize'
import { parseJsonStrict } from '../protocol/strict-json'
import type { MessageVersion } from '../protocol/versions'
import { deriveCek } from './concat-kdf'
import { generateEphemeralKeyPair, importSdkPublicKey, sharedSecret, type EcPublicJwk } from './ecdh'
import {
  counterIv,
  decryptParsed,
  directionKey,
  encryptCompact,
  JweError,
  parseCompact,
  type ContentEncryption,
} from './jwe'

/**
 * The app-channel secure session of one transaction: key agreement at AReq time, then CReq decryption
 * with counter checks and CRes encryption. Functions are pure over an explicit state the caller stores.
 */
export interface AppChannelSetup {
  /** Goes into acsSignedContent. */
  acsEphemPubKey: EcPublicJwk
  /** 32 bytes; store encrypted at rest against the acsTransID. */
  cek: Buffer
}

/** Per-transaction key agreement: fresh ACS key pair, ECDH with the SDK key, Concat KDF. */
export function establishAppChannel(
  sdkEphemPubKey: EcPublicJwk,
  sdkReferenceNumber: string,
): AppChannelSetup {
  const sdkKey = importSdkPublicKey(sdkEphemPubKey)
  const acs = generateEphemeralKeyPair()
  return {
    acsEphemPubKey: acs.publicJwk,
    cek: deriveCek(sharedSecret(acs.privateKey, sdkKey), sdkReferenceNumber),
  }
}

export interface AppChannelState {
  /** sdkCounterStoA expected in the next CReq. */
  nextSdkCounter: number
  /** acsCounterAtoS for the next CRes. */
  nextAcsCounter: number
  /** Fixed by the first CReq; the ACS answers with the enc the SDK used. */
  enc?: ContentEncryption
}

export const INITIAL_APP_CHANNEL_STATE: AppChannelState = { nextSdkCounter: 0, nextAcsCounter: 0 }

export interface AppTransaction {
  acsTransID: string
  threeDSServerTransID: string
  sdkTransID: string
  messageVersion: MessageVersion
  cek: Uint8Array
  state: AppChannelState
}

export type OpenCReqResult =
  | { kind: 'creq'; creq: AppCReq; state: AppChannelState }
  /** The SDK sent a plain-JSON Erro: end the transaction (RReq challengeCancel 06). */
  | { kind: 'sdk-erro'; erro: Erro }
  /** Answer with this plain-JSON Erro. */
  | { kind: 'erro'; erro: Erro }

/** Reads the `kid` (acsTransID) of a CReq JWE so the caller can load the transaction. */
export function creqKid(body: string): string | undefined {
  try {
    const kid = parseCompact(body).header.kid
    return typeof kid === 'string' ? kid : undefined
  } catch {
    return undefined
  }
}

export function openCReq(body: string, tx: AppTransaction): OpenCReqResult {
  const erro = (code: ErrorCodeValue, detail: string): OpenCReqResult => ({
    kind: 'erro',
    erro: buildErro({ code, detail, messageType: 'CReq', messageVersion: tx.messageVersion, ids: tx }),
  })
  const text = body.trim()
  if (text.startsWith('{')) {
    const parsed = parseJsonStrict(text)
    if (parsed.ok && isErroMessage(parsed.value)) return { kind: 'sdk-erro', erro: parsed.value }
    return erro('101', 'CReq must be a JWE')
  }
  let plaintext: Buffer
  let enc: ContentEncryption
  let ivCounter: number
  try {
    const jwe = parseCompact(text)
    enc = jwe.header.enc
    if (tx.state.enc && enc !== tx.state.enc) return erro('302', 'enc changed during the transaction')
    if (jwe.header.kid !== undefined && jwe.header.kid !== tx.acsTransID) return erro('301', 'kid')
    plaintext = decryptParsed(jwe, directionKey(tx.cek, enc, 'sdk-to-acs'))
    ivCounter = ivCounterValue(jwe.iv, enc)
  } catch (e) {
    if (e instanceof JweError) return erro('302', 'CReq JWE')
    throw e
  }
  const parsed = parseAppCReq(plaintext.toString('utf8'), [tx.messageVersion])
  if (!parsed.ok) return { kind: 'erro', erro: parsed.erro }
  const creq = parsed.creq
  if (creq.acsTransID !== tx.acsTransID) return erro('301', 'acsTransID')
  if (creq.threeDSServerTransID !== tx.threeDSServerTransID) return erro('301', 'threeDSServerTransID')
  if (creq.sdkTransID !== tx.sdkTransID) return erro('301', 'sdkTransID')
  const counter = Number(creq.sdkCounterStoA)
  // A replayed or skipped counter (in the message or in the IV) is a decryption failure per the spec.
  if (counter !== tx.state.nextSdkCounter || ivCounter !== counter) return erro('302', 'sdkCounterStoA')
  return { kind: 'creq', creq, state: { ...tx.state, enc, nextSdkCounter: counter + 1 } }
}

/** The counter carried by a counter IV, or -1 when the IV does not follow the SDK→ACS scheme. */
function ivCounterValue(iv: Buffer, enc: ContentEncryption): number {
  const expectedLength = enc === 'A128GCM' ? 12 : 16
  if (iv.length !== expectedLength) return -1
  for (let i = 0; i < iv.length - 1; i++) if (iv[i] !== 0) return -1
  return iv[iv.length - 1]
}

/**
 * Encrypts a CRes built with `acsCounterAtoS = state.nextAcsCounter`. Returns the JWE and the state after
 * sending it.
 */
export function sealCRes(cres: CRes, tx: AppTransaction): { jwe: string; state: AppChannelState } {
  const enc = tx.state.enc
  if (!enc) throw new Error('no CReq received yet: the CRes encryption is not negotiated')
  const counter = Number(cres.acsCounterAtoS)
  if (counter !== tx.state.nextAcsCounter)
    throw new Error(`CRes counter ${cres.acsCounterAtoS} out of sequence`)
  const jwe = encryptCompact(
    { alg: 'dir', enc, kid: tx.acsTransID },
    directionKey(tx.cek, enc, 'acs-to-sdk'),
    counterIv(enc, 'acs-to-sdk', counter),
    Buffer.from(serializeMessage(cres), 'utf8'),
  )
  return { jwe, state: { ...tx.state, nextAcsCounter: counter + 1 } }
}
