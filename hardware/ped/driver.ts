import type { Duplex } from 'node:stream'
import { openTransport, type Transport } from '../serial/transport'
import { Link, LinkError, type LinkOptions } from './link'
import {
  COMMANDS,
  decodeResponse,
  encodeRequest,
  STATUS,
  STATUS_TEXT,
  type CommandName,
  type DecodedResponse,
  type DeviceState,
  type StatusCode,
  type StatusName,
} from './protocol'

/**
 * Typed async driver for a PED key-injection link. One command at a time; each resolves with the
 * device's answer or rejects with a PedError (device status) or LinkError (framing/timeouts).
 */
export class PedError extends Error {
  constructor(
    readonly status: StatusName,
    readonly command: CommandName,
  ) {
    super(`${command}: ${STATUS_TEXT[STATUS[status] as StatusCode]}`)
    this.name = 'PedError'
  }
}

export interface PedInfo {
  vendor: string
  model: string
  serial: string
  firmware: string
  /** PCI PTS POI version, e.g. "6". Drives the clear-key policy on the station. */
  securityVersion: string
  state: DeviceState
  /** CT-KRD: DER CMS degenerate SignedData with the device certificate chain. */
  credentialToken: Buffer
}

export interface SlotInfo {
  slot: number
  keyUsage: string
  algorithm: string
  modeOfUse: string
  kcv: string
  /** TDES DUKPT KSN or AES DUKPT KSN (current), when the slot holds a DUKPT initial key. */
  ksn?: string
}

export interface PinBlockResult {
  format: 0 | 4
  encryptedPinBlock: Buffer
  /** Present for DUKPT slots: the KSN used for this PIN block. */
  ksn?: Buffer
}

export interface DriverOptions extends Partial<LinkOptions> {
  /** How long to wait for the device's response after the request was acknowledged. */
  responseTimeoutMs?: number
}

const STATUS_BY_CODE = new Map(Object.entries(STATUS).map(([name, code]) => [code, name as StatusName]))

export class PedDriver {
  readonly link: Link
  private seq = 0
  private readonly waiting = new Map<string, (r: DecodedResponse | Error) => void>()
  private readonly responseTimeoutMs: number

  constructor(
    stream: Duplex,
    options: DriverOptions = {},
    private readonly transport?: Transport,
  ) {
    this.link = new Link(stream, { profile: options.profile ?? 'stx', ...options })
    this.responseTimeoutMs = options.responseTimeoutMs ?? 10_000
    this.link.on('message', (payload) => {
      const response = decodeResponse(payload)
      // Late answers to retransmitted requests have no waiter and are dropped.
      if (response) this.waiting.get(response.seq + response.code)?.(response)
    })
    this.link.on('abort', () => {
      for (const settle of [...this.waiting.values()])
        settle(new LinkError('the device aborted the exchange (EOT)'))
    })
  }

  static async open(url: string, options: DriverOptions & { baudRate?: number } = {}): Promise<PedDriver> {
    const transport = await openTransport(url, { baudRate: options.baudRate })
    return new PedDriver(transport.stream, options, transport)
  }

  async close(): Promise<void> {
    this.link.detach()
    await this.transport?.close()
  }

  private async call(command: CommandName, fields: string[] = []): Promise<string[]> {
    const code = COMMANDS[command]
    this.seq = (this.seq + 1) % 100
    const key = this.seq.toString().padStart(2, '0') + code
    const response = new Promise<DecodedResponse>((resolve, reject) => {
      const timer = setTimeout(
        () => settle(new LinkError(`${command}: no response within ${this.responseTimeoutMs} ms`)),
        this.responseTimeoutMs,
      )
      const settle = (r: DecodedResponse | Error) => {
        clearTimeout(timer)
        this.waiting.delete(key)
        if (r instanceof Error) reject(r)
        else resolve(r)
      }
      this.waiting.set(key, settle)
    })
    // Sending and waiting overlap: the answer may arrive before our request's ACK (if that ACK was lost).
    const sent = this.link.send(encodeRequest(this.seq, code, fields))
    sent.catch((err: Error) => this.waiting.get(key)?.(err))
    const r = await response
    if (r.status === STATUS.ok) return r.fields
    throw new PedError(STATUS_BY_CODE.get(r.status as StatusCode) ?? 'format', command)
  }

  async getInfo(): Promise<PedInfo> {
    const [vendor, model, serial, firmware, securityVersion, state, token] = await this.call('getInfo')
    return {
      vendor,
      model,
      serial,
      firmware,
      securityVersion,
      state: state as DeviceState,
      credentialToken: Buffer.from(token ?? '', 'hex'),
    }
  }

  /** RT-KRD: a fresh random nonce for the next TR-34 key token. */
  async getNonce(): Promise<Buffer> {
    const [nonce] = await this.call('getNonce')
    return Buffer.from(nonce, 'hex')
  }

  /** TR-34 bind: hand the device the KDH credential token (KDH certificate and the CA's CRL). */
  async bind(kdhCredentialToken: Buffer): Promise<void> {
    await this.call('bind', [kdhCredentialToken.toString('hex').toUpperCase()])
  }

  /** One operator login towards key-loading mode; the second distinct operator opens it. */
  async authenticate(operator: string, password: string): Promise<DeviceState> {
    const [state] = await this.call('authenticate', [operator, password])
    return state as DeviceState
  }

  async loadTr34(slot: number, keyToken: Buffer): Promise<SlotInfo> {
    return parseSlot(await this.call('loadTr34', [String(slot), keyToken.toString('hex').toUpperCase()]))
  }

  async loadTr31(slot: number, kbpkSlot: number, keyBlock: string): Promise<SlotInfo> {
    return parseSlot(await this.call('loadTr31', [String(slot), String(kbpkSlot), keyBlock]))
  }

  /** A DUKPT initial key as a TR-31 B1 block carrying a KS (TDES) or IK (AES) optional block. */
  async loadDukptInitialKey(slot: number, kbpkSlot: number, keyBlock: string): Promise<SlotInfo> {
    return parseSlot(await this.call('loadDukptInitialKey', [String(slot), String(kbpkSlot), keyBlock]))
  }

  async getKcv(slot: number): Promise<SlotInfo> {
    return parseSlot(await this.call('getKcv', [String(slot)]))
  }

  /** Functional self-test: the device encrypts a PIN block the host can verify with the key it injected. */
  async encryptPin(slot: number, pin: string, pan: string): Promise<PinBlockResult> {
    const [format, epb, ksn] = await this.call('encryptPin', [String(slot), pin, pan])
    return {
      format: Number(format) as 0 | 4,
      encryptedPinBlock: Buffer.from(epb, 'hex'),
      ...(ksn ? { ksn: Buffer.from(ksn, 'hex') } : {}),
    }
  }

  async endKeyLoading(): Promise<DeviceState> {
    const [state] = await this.call('endKeyLoading')
    return state as DeviceState
  }

  async zeroize(): Promise<DeviceState> {
    const [state] = await this.call('zeroize')
    return state as DeviceState
  }
}

function parseSlot(fields: string[]): SlotInfo {
  const [slot, keyUsage, algorithm, modeOfUse, kcv, ksn] = fields
  return { slot: Number(slot), keyUsage, algorithm, modeOfUse, kcv, ...(ksn ? { ksn } : {}) }
}
