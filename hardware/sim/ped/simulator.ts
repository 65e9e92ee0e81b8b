import type { Duplex } from 'node:stream'
import { Link } from '../../ped/link'
import { decodeRequest, encodeResponse, STATUS } from '../../ped/protocol'
import type { FramingProfile } from '../../ped/framing'
import { PedDevice, type DeviceOptions } from './device'

/**
 * A PED on the wire: the shared link layer, the message codec and a PedDevice, plus fault injection.
 * Retransmitted requests (same sequence number and bytes) are answered from a one-entry cache so a lost
 * ACK never runs a command twice.
 */
export type PedFault =
  /** Corrupt a byte in each of the next `count` frames the device sends (the host NAKs, the device resends). */
  | { type: 'corrupt-byte'; count?: number }
  /** Withhold the ACK for the next `count` requests (the host retransmits; the device answers from cache). */
  | { type: 'lost-ack'; count?: number }
  /** Wait `delayMs` before every response. */
  | { type: 'slow'; delayMs: number }
  /** Flip a bit in the next key block or key token before verifying it, as if altered in transit. */
  | { type: 'wrong-mac' }
  /** Tamper after `afterCommands` more commands (0 = now): keys are erased mid-session. */
  | { type: 'tamper'; afterCommands?: number }

export interface SimulatorOptions extends DeviceOptions {
  profile?: FramingProfile
  ackTimeoutMs?: number
}

const KEY_CARRYING = new Set(['T4', 'T1', 'D0'])

export class PedSimulator {
  readonly device: PedDevice
  readonly link: Link
  private delayMs = 0
  private corruptNextKeyBlock = false
  private tamperCountdown: number | undefined
  private last: { request: Buffer; response: Buffer } | undefined
  private work: Promise<void> = Promise.resolve()

  constructor(stream: Duplex, options: SimulatorOptions) {
    this.device = new PedDevice(options)
    this.link = new Link(stream, { profile: options.profile ?? 'stx', ackTimeoutMs: options.ackTimeoutMs })
    this.link.on('message', (payload) => {
      this.work = this.work.then(() => this.serve(payload)).catch(() => undefined)
    })
  }

  injectFault(fault: PedFault): void {
    switch (fault.type) {
      case 'corrupt-byte':
        this.link.faults.corruptFrames += fault.count ?? 1
        break
      case 'lost-ack':
        this.link.faults.dropAcks += fault.count ?? 1
        break
      case 'slow':
        this.delayMs = fault.delayMs
        break
      case 'wrong-mac':
        this.corruptNextKeyBlock = true
        break
      case 'tamper':
        if (!fault.afterCommands) this.device.tamper()
        else this.tamperCountdown = fault.afterCommands
        break
    }
  }

  stop(): void {
    this.link.detach()
  }

  private async serve(payload: Buffer): Promise<void> {
    if (this.last?.request.equals(payload)) return this.link.send(this.last.response)
    const request = decodeRequest(payload)
    let response: Buffer
    if (!request) {
      response = encodeResponse('00', '00', STATUS.format)
    } else {
      if (this.tamperCountdown !== undefined && --this.tamperCountdown <= 0) {
        this.tamperCountdown = undefined
        this.device.tamper()
      }
      const fields = [...request.fields]
      if (this.corruptNextKeyBlock && KEY_CARRYING.has(request.code)) {
        this.corruptNextKeyBlock = false
        fields[fields.length - 1] = flipHexDigit(fields[fields.length - 1])
      }
      const reply = this.device.handle(request.code, fields)
      response = encodeResponse(request.seq, request.code, reply.status, reply.fields)
    }
    this.last = { request: payload, response }
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs))
    await this.link.send(response).catch(() => undefined)
  }
}

/** Change one hex digit near the end of the field (inside the MAC or signature, never the header). */
function flipHexDigit(field: string | undefined): string {
  if (!field) return ''
  const i = field.length - 3
  const c = field[i] === '0' ? '1' : '0'
  return field.slice(0, i) + c + field.slice(i + 1)
}
