import { randomBytes, timingSafeEqual, type X509Certificate } from 'node:crypto'
import { desEncrypt } from '../../../src-server/crypto/block'
import { toHex } from '../../../src-server/keys/crypto/bytes'
import {
  deriveAesDerivationKey,
  deriveAesWorkingKey,
  formatAesKsn,
  nextAesCounter,
} from '../../../src-server/keys/crypto/dukpt-aes'
import {
  deriveTdesTransactionKey,
  formatTdesKsn,
  nextTdesCounter,
  tdesWorkingKey,
} from '../../../src-server/keys/crypto/dukpt-tdes'
import { keyCheckValue } from '../../../src-server/keys/crypto/kcv'
import { encipherFormat4, encodePinBlock } from '../../../src-server/keys/crypto/pinblock'
import { validatePartyCertificate, type Crl } from '../../../src-server/keys/crypto/pki'
import {
  createCredentialToken,
  openKeyToken,
  parseCredentialToken,
  Tr34Error,
} from '../../../src-server/keys/crypto/tr34'
import { parseTr31Header, Tr31Error, unwrapTr31 } from '../../../src-server/keys/crypto/tr31'
import { COMMANDS, STATUS, type DeviceState, type StatusCode } from '../../ped/protocol'
import type { PedIdentity } from './identity'

/**
 * The PED's security model, independent of the wire: state machine, key slots, TR-34 binding and loading,
 * TR-31 loading, DUKPT, self-test PIN encryption and tamper response.
 *
 *   FACTORY --bind--> BOUND --2 operator logins--> KEY_LOADING --end / idle / absolute timeout--> OPERATIONAL
 *   any --tamper--> TAMPERED (keys erased; only GET_INFO answers)
 */
interface DukptState {
  kind: 'tdes' | 'aes'
  /** TDES: the initial KSN (10 bytes); AES: the Initial Key ID (8 bytes). */
  id: Buffer
  counter: number
}

interface Slot {
  keyUsage: string
  algorithm: string
  modeOfUse: string
  key: Buffer
  dukpt?: DukptState
}

export interface DeviceOptions {
  identity: PedIdentity
  /** Operator ID → password, as set up on the device's keypad. */
  operators: Record<string, string>
  idleTimeoutMs?: number
  absoluteTimeoutMs?: number
  maxKeyLoads?: number
  now?: () => number
  random?: (n: number) => Buffer
}

export interface DeviceReply {
  status: StatusCode
  fields: string[]
}

class Refusal extends Error {
  constructor(readonly status: StatusCode) {
    super(status)
  }
}

const refuse = (status: StatusCode): never => {
  throw new Refusal(status)
}

const KEY_LOADING_KEYS = new Set(['K0', 'K1'])
const TR31_LOADABLE = new Set(['K0', 'K1', 'P0', 'M3', 'M6', 'D0'])

export class PedDevice {
  state: DeviceState = 'FACTORY'
  private kdhCertificate: X509Certificate | undefined
  /** The CA's CRL the KDH credential token carried at bind (the KDH was checked against it), if any. */
  bindCrl: Crl | undefined
  private readonly slots = new Map<number, Slot>()
  private nonce: Buffer | undefined
  private readonly loggedIn = new Set<string>()
  private sessionStart = 0
  private lastActivity = 0
  private keyLoads = 0
  /** CT-KRD: the device certificate and its CA, built once. */
  private credentialToken: string | undefined
  private readonly now: () => number
  private readonly random: (n: number) => Buffer

  constructor(private readonly o: DeviceOptions) {
    this.now = o.now ?? Date.now
    this.random = o.random ?? randomBytes
  }

  get identity(): PedIdentity {
    return this.o.identity
  }

  /** Physical tamper: erase every secret and refuse all further work. */
  tamper(): void {
    this.eraseKeys()
    this.state = 'TAMPERED'
  }

  handle(code: string, fields: string[]): DeviceReply {
    this.expireKeyLoading()
    try {
      if (this.state === 'TAMPERED' && code !== COMMANDS.getInfo) refuse(STATUS.tampered)
      const out = this.dispatch(code, fields)
      if (this.state === 'KEY_LOADING') this.lastActivity = this.now()
      return { status: STATUS.ok, fields: out }
    } catch (err) {
      if (err instanceof Refusal) return { status: err.status, fields: [] }
      throw err
    }
  }

  private dispatch(code: string, f: string[]): string[] {
    switch (code) {
      case COMMANDS.getInfo: {
        const id = this.o.identity
        this.credentialToken ??= toHex(createCredentialToken([id.certificate, id.trustedCa]))
        return [
          id.vendor,
          id.model,
          id.serial,
          id.firmware,
          id.securityVersion,
          this.state,
          this.credentialToken,
        ]
      }
      case COMMANDS.getNonce:
        this.requireState('BOUND', 'KEY_LOADING', 'OPERATIONAL')
        this.nonce = this.random(16)
        return [toHex(this.nonce)]
      case COMMANDS.bind:
        return this.bind(field(f, 0))
      case COMMANDS.authenticate:
        return this.authenticate(field(f, 0), field(f, 1))
      case COMMANDS.loadTr34:
        return this.loadTr34(slotNumber(f, 0), hexField(f, 1))
      case COMMANDS.loadTr31:
        return this.loadTr31(slotNumber(f, 0), slotNumber(f, 1), field(f, 2), false)
      case COMMANDS.loadDukptInitialKey:
        return this.loadTr31(slotNumber(f, 0), slotNumber(f, 1), field(f, 2), true)
      case COMMANDS.getKcv:
        return this.describeSlot(slotNumber(f, 0))
      case COMMANDS.encryptPin:
        return this.encryptPin(slotNumber(f, 0), field(f, 1), field(f, 2))
      case COMMANDS.endKeyLoading:
        this.requireState('KEY_LOADING')
        this.leaveKeyLoading()
        return [this.state]
      case COMMANDS.zeroize:
        this.eraseKeys()
        this.state = this.kdhCertificate ? 'BOUND' : 'FACTORY'
        return [this.state]
      default:
        return refuse(STATUS.unknownCommand)
    }
  }

  private requireState(...allowed: DeviceState[]): void {
    if (!allowed.includes(this.state)) refuse(STATUS.wrongState)
  }

  private requireKeyLoading(): void {
    if (this.state !== 'KEY_LOADING') refuse(STATUS.notAuthenticated)
    if (this.keyLoads >= (this.o.maxKeyLoads ?? 1000)) refuse(STATUS.loadCountExceeded)
  }

  private bind(tokenHex: string): string[] {
    this.requireState('FACTORY')
    let kdh: X509Certificate
    let crl: Crl | undefined
    try {
      const { certificates, crls } = parseCredentialToken(Buffer.from(tokenHex, 'hex'))
      kdh = certificates[0]
      crl = crls[0]
      validatePartyCertificate(kdh, { ca: this.o.identity.trustedCa, crl, role: 'KDH' })
    } catch (err) {
      return refuse(err instanceof Tr34Error ? STATUS.format : STATUS.certificateRejected)
    }
    this.kdhCertificate = kdh
    this.bindCrl = crl
    this.state = 'BOUND'
    return [this.state]
  }

  private authenticate(operator: string, password: string): string[] {
    this.requireState('BOUND', 'OPERATIONAL', 'KEY_LOADING')
    const expected = this.o.operators[operator]
    const given = Buffer.from(password)
    const ok =
      expected !== undefined &&
      Buffer.byteLength(expected) === given.length &&
      timingSafeEqual(Buffer.from(expected), given)
    if (!ok) refuse(STATUS.notAuthenticated)
    this.loggedIn.add(operator)
    if (this.state !== 'KEY_LOADING' && this.loggedIn.size >= 2) {
      this.state = 'KEY_LOADING'
      this.sessionStart = this.now()
      this.lastActivity = this.sessionStart
    }
    return [this.state]
  }

  /** Idle (60 s) and absolute (15 min) limits of key-loading mode, as in the Uniform PP791 manual. */
  private expireKeyLoading(): void {
    if (this.state !== 'KEY_LOADING') return
    const t = this.now()
    if (
      t - this.lastActivity > (this.o.idleTimeoutMs ?? 60_000) ||
      t - this.sessionStart > (this.o.absoluteTimeoutMs ?? 15 * 60_000)
    ) {
      this.leaveKeyLoading()
    }
  }

  private leaveKeyLoading(): void {
    this.loggedIn.clear()
    this.state = this.slots.size > 0 ? 'OPERATIONAL' : 'BOUND'
  }

  private loadTr34(slot: number, token: Buffer): string[] {
    this.requireKeyLoading()
    const nonce = this.nonce
    this.nonce = undefined // single use, whatever the outcome
    if (!this.kdhCertificate) return refuse(STATUS.unknownKdh)
    if (!nonce) return refuse(STATUS.nonceMismatch)
    try {
      const opened = openKeyToken(token, {
        kdhCertificate: this.kdhCertificate,
        krdCertificate: this.o.identity.certificate,
        krdPrivateKey: this.o.identity.privateKey,
        expectedNonce: nonce,
      })
      const header = parseTr31Header(opened.header)
      return this.store(slot, {
        keyUsage: header.keyUsage,
        algorithm: header.algorithm,
        modeOfUse: header.modeOfUse,
        key: opened.keyBlock.key,
      })
    } catch (err) {
      if (err instanceof Tr34Error) {
        const byReason = {
          signature: STATUS.badSignature,
          nonce: STATUS.nonceMismatch,
          'unknown-kdh': STATUS.unknownKdh,
        }
        return refuse(byReason[err.reason as keyof typeof byReason] ?? STATUS.format)
      }
      if (err instanceof Tr31Error) return refuse(STATUS.tr31Format)
      throw err
    }
  }

  private loadTr31(slot: number, kbpkSlot: number, block: string, dukpt: boolean): string[] {
    this.requireKeyLoading()
    const kbpk = this.slots.get(kbpkSlot)
    if (!kbpk || !KEY_LOADING_KEYS.has(kbpk.keyUsage)) return refuse(STATUS.keyLoadingKeyMissing)
    let result: ReturnType<typeof unwrapTr31>
    try {
      result = unwrapTr31(kbpk.key, block)
    } catch (err) {
      if (err instanceof Tr31Error) {
        const byCode = { mac: STATUS.macFailure, insecure: STATUS.insecureKeyInjection }
        return refuse(byCode[err.code as keyof typeof byCode] ?? STATUS.tr31Format)
      }
      throw err
    }
    const { header, key, optional } = result
    const slotData: Slot = {
      keyUsage: header.keyUsage,
      algorithm: header.algorithm,
      modeOfUse: header.modeOfUse,
      key,
    }
    if (dukpt) {
      if (header.keyUsage !== 'B1') return refuse(STATUS.tr31Format)
      if (header.algorithm === 'T' && /^[0-9A-F]{20}$/.test(optional.KS ?? '') && key.length === 16) {
        slotData.dukpt = { kind: 'tdes', id: formatTdesKsn(Buffer.from(optional.KS, 'hex'), 0), counter: 0 }
      } else if (header.algorithm === 'A' && /^[0-9A-F]{16}$/.test(optional.IK ?? '')) {
        slotData.dukpt = { kind: 'aes', id: Buffer.from(optional.IK, 'hex'), counter: 0 }
      } else {
        return refuse(STATUS.tr31Format)
      }
    } else if (!TR31_LOADABLE.has(header.keyUsage)) {
      return refuse(STATUS.tr31Format)
    }
    return this.store(slot, slotData)
  }

  private store(slot: number, data: Slot): string[] {
    this.slots.set(slot, data)
    this.keyLoads++
    return this.describeSlot(slot)
  }

  private describeSlot(slot: number): string[] {
    const s = this.slots.get(slot) ?? refuse(STATUS.emptySlot)
    const family = s.algorithm === 'A' ? 'aes' : 'tdes'
    const fields = [String(slot), s.keyUsage, s.algorithm, s.modeOfUse, toHex(keyCheckValue(family, s.key))]
    if (s.dukpt) fields.push(toHex(this.currentKsn(s.dukpt)))
    return fields
  }

  private currentKsn(d: DukptState): Buffer {
    return d.kind === 'tdes' ? formatTdesKsn(d.id, d.counter) : formatAesKsn(d.id, d.counter)
  }

  private encryptPin(slot: number, pin: string, pan: string): string[] {
    this.requireState('KEY_LOADING', 'OPERATIONAL')
    const s = this.slots.get(slot) ?? refuse(STATUS.emptySlot)
    try {
      if (s.dukpt) {
        const d = s.dukpt
        d.counter = d.kind === 'tdes' ? nextTdesCounter(d.counter) : nextAesCounter(d.counter)
        const ksn = this.currentKsn(d)
        if (d.kind === 'tdes') {
          const pinKey = tdesWorkingKey(deriveTdesTransactionKey(s.key, ksn), 'pin')
          return ['0', toHex(desEncrypt(pinKey, encodePinBlock(0, pin, pan, this.random))), toHex(ksn)]
        }
        const type = ({ 16: 'aes128', 24: 'aes192', 32: 'aes256' } as const)[s.key.length as 16 | 24 | 32]
        const pinKey = deriveAesWorkingKey(deriveAesDerivationKey(s.key, ksn), ksn, 'pinEncryption', type)
        return ['4', toHex(encipherFormat4(pinKey, pin, pan, this.random).block), toHex(ksn)]
      }
      if (s.keyUsage !== 'P0') return refuse(STATUS.format)
      if (s.algorithm === 'A') return ['4', toHex(encipherFormat4(s.key, pin, pan, this.random).block)]
      return ['0', toHex(desEncrypt(s.key, encodePinBlock(0, pin, pan, this.random)))]
    } catch (err) {
      if (err instanceof Refusal) throw err
      return refuse(STATUS.format)
    }
  }

  private eraseKeys(): void {
    for (const s of this.slots.values()) s.key.fill(0)
    this.slots.clear()
    this.nonce = undefined
    this.loggedIn.clear()
  }
}

function field(f: string[], i: number): string {
  return f[i] ?? refuse(STATUS.format)
}

function slotNumber(f: string[], i: number): number {
  const v = field(f, i)
  return /^\d{1,2}$/.test(v) ? Number(v) : refuse(STATUS.format)
}

function hexField(f: string[], i: number): Buffer {
  const v = field(f, i)
  return /^([0-9A-F]{2})+$/.test(v) ? Buffer.from(v, 'hex') : refuse(STATUS.format)
}
