import type { Duplex } from 'node:stream'
import { hotp as otplibHotp, totp as otplibTotp } from 'otplib'
import { HashAlgorithms, KeyEncodings } from 'otplib/core'
import {
  CAPABILITY,
  CMD,
  EVENT,
  FrameDecoder,
  HASH,
  KIND,
  REPLY_FLAG,
  STATUS,
  TAG,
  TOKEN_STATE,
  decodeTlv,
  encodeFrame,
  encodeTlv,
  readUint,
  type Frame,
  type TlvValue,
} from '../../dongle/serial/protocol'

/** A blank or programmed token that can sit in the simulated programmer's cradle. */
export interface SimToken {
  serial: string
  model?: string
  capabilities?: number
  config?: {
    seed: Uint8Array
    kind: 'hotp' | 'totp'
    hash: keyof typeof HASH
    digits: number
    counter: number
    period: number
  }
}

export interface SerialProgrammerSimOptions {
  model?: string
  firmware?: string
  serial?: string
  /** Clock for TOTP tokens (ms). */
  now?: () => number
}

export const FULL_CAPABILITIES =
  CAPABILITY.HOTP | CAPABILITY.TOTP | CAPABILITY.SHA256 | CAPABILITY.SHA512 | CAPABILITY.DIGITS8

const OTPLIB_HASH = {
  SHA1: HashAlgorithms.SHA1,
  SHA256: HashAlgorithms.SHA256,
  SHA512: HashAlgorithms.SHA512,
}

/**
 * The programmer's side of the serial protocol, over any byte stream (a pty in tests and in `ims dongle
 * simulate`). It validates every request the way firmware would, keeps the last reply so a retried SEQ is
 * answered without running the command twice, announces token insertion and removal, and computes the token's
 * codes with otplib (a second implementation next to our OATH engine).
 */
export class SerialProgrammerSim {
  private readonly decoder = new FrameDecoder()
  private token: SimToken | null = null
  private lastReply: { seq: number; cmd: number; bytes: Uint8Array } | null = null
  /** Called after a token was ejected, e.g. to feed the next one. */
  onEject: ((token: SimToken) => void) | null = null
  private readonly onData = (chunk: Buffer) => {
    for (const frame of this.decoder.push(chunk)) this.handle(frame)
  }

  constructor(
    private readonly stream: Duplex,
    private readonly options: SerialProgrammerSimOptions = {},
  ) {
    stream.on('data', this.onData)
  }

  get tokenInCradle(): SimToken | null {
    return this.token
  }

  insert(token: SimToken): void {
    if (this.token) this.remove()
    this.token = token
    this.lastReply = null // a reply about the previous cradle must not answer a new request (see handle)
    this.send(0, CMD.EVENT, encodeTlv([[TAG.EVENT_TYPE, EVENT.TOKEN_INSERTED], ...this.tokenFields()]))
  }

  remove(): SimToken | null {
    const token = this.token
    if (!token) return null
    this.token = null
    this.lastReply = null
    this.send(
      0,
      CMD.EVENT,
      encodeTlv([
        [TAG.EVENT_TYPE, EVENT.TOKEN_REMOVED],
        [TAG.TOKEN_SERIAL, token.serial],
      ]),
    )
    return token
  }

  detach(): void {
    this.stream.off('data', this.onData)
  }

  /**
   * The reply cache answers a resent request (same SEQ and CMD) without running it twice. It is dropped when the
   * cradle changes: a new host session may reuse the SEQ of the last request (INFO), and must then learn about
   * the token inserted since, not get the old "no token".
   */
  private handle(frame: Frame): void {
    if (frame.seq === 0) return // events only flow from us
    if (this.lastReply && this.lastReply.seq === frame.seq && this.lastReply.cmd === frame.cmd) {
      this.stream.write(this.lastReply.bytes)
      return
    }
    const [status, fields] = this.execute(frame)
    const payload = new Uint8Array([status, ...encodeTlv(fields)])
    const bytes = encodeFrame({ seq: frame.seq, cmd: frame.cmd | REPLY_FLAG, payload })
    this.lastReply = { seq: frame.seq, cmd: frame.cmd, bytes }
    this.stream.write(bytes)
  }

  private execute(frame: Frame): [number, [number, TlvValue][]] {
    const fail = (status: number, message: string): [number, [number, TlvValue][]] => [
      status,
      [[TAG.MESSAGE, message]],
    ]
    let fields: Map<number, Uint8Array>
    try {
      fields = decodeTlv(frame.payload)
    } catch (err) {
      return fail(STATUS.BAD_PARAMETER, (err as Error).message)
    }
    switch (frame.cmd) {
      case CMD.INFO:
        return [STATUS.OK, this.tokenFields()]
      case CMD.PROGRAM:
        return this.program(fields, fail)
      case CMD.READ_CODE: {
        if (!this.token) return fail(STATUS.NO_TOKEN, 'cradle empty')
        if (!this.token.config) return fail(STATUS.NOT_PROGRAMMED, 'token blank')
        return [STATUS.OK, [[TAG.CODE, this.nextCode(this.token.config)]]]
      }
      case CMD.ERASE:
        if (!this.token) return fail(STATUS.NO_TOKEN, 'cradle empty')
        this.token.config = undefined
        return [STATUS.OK, []]
      case CMD.EJECT: {
        if (!this.token) return fail(STATUS.NO_TOKEN, 'cradle empty')
        // Reply first, then the removal event, as a cradle that releases after acknowledging would.
        const token = this.token
        setImmediate(() => {
          if (this.token !== token) return
          this.remove()
          this.onEject?.(token)
        })
        return [STATUS.OK, []]
      }
      default:
        return fail(STATUS.UNKNOWN_COMMAND, `command 0x${frame.cmd.toString(16)}`)
    }
  }

  private program(
    fields: Map<number, Uint8Array>,
    fail: (status: number, message: string) => [number, [number, TlvValue][]],
  ): [number, [number, TlvValue][]] {
    const token = this.token
    if (!token) return fail(STATUS.NO_TOKEN, 'cradle empty')
    if (token.config) return fail(STATUS.ALREADY_PROGRAMMED, 'erase first')
    const caps = token.capabilities ?? FULL_CAPABILITIES
    const kind =
      readUint(fields.get(TAG.KIND)) === KIND.totp
        ? 'totp'
        : readUint(fields.get(TAG.KIND)) === KIND.hotp
          ? 'hotp'
          : null
    const hashCode = readUint(fields.get(TAG.HASH))
    const hash = (Object.keys(HASH) as (keyof typeof HASH)[]).find((h) => HASH[h] === hashCode)
    const digits = readUint(fields.get(TAG.DIGITS))
    const seed = fields.get(TAG.SEED)
    if (!kind || !(caps & (kind === 'hotp' ? CAPABILITY.HOTP : CAPABILITY.TOTP)))
      return fail(STATUS.BAD_PARAMETER, 'kind')
    if (
      !hash ||
      (hash === 'SHA256' && !(caps & CAPABILITY.SHA256)) ||
      (hash === 'SHA512' && !(caps & CAPABILITY.SHA512))
    ) {
      return fail(STATUS.BAD_PARAMETER, 'hash')
    }
    if (digits !== 6 && !(digits === 8 && caps & CAPABILITY.DIGITS8))
      return fail(STATUS.BAD_PARAMETER, 'digits')
    if (!seed || seed.length < 16 || seed.length > 64) return fail(STATUS.BAD_PARAMETER, 'seed length')
    const counter = kind === 'hotp' ? readUint(fields.get(TAG.COUNTER)) : 0
    const period = kind === 'totp' ? readUint(fields.get(TAG.PERIOD)) : 30
    if (counter === undefined || !period)
      return fail(STATUS.BAD_PARAMETER, kind === 'hotp' ? 'counter' : 'period')
    token.config = { seed: Uint8Array.from(seed), kind, hash, digits, counter, period }
    return [STATUS.OK, []]
  }

  private nextCode(config: NonNullable<SimToken['config']>): string {
    const common = { encoding: KeyEncodings.HEX, algorithm: OTPLIB_HASH[config.hash], digits: config.digits }
    const secret = Buffer.from(config.seed).toString('hex')
    if (config.kind === 'hotp') return otplibHotp.clone(common).generate(secret, config.counter++)
    const epoch = this.options.now?.() ?? Date.now()
    return otplibTotp.clone({ ...common, step: config.period, epoch }).generate(secret)
  }

  private tokenFields(): [number, TlvValue][] {
    const fields: [number, TlvValue][] = [
      [TAG.PROGRAMMER_MODEL, this.options.model ?? 'SimProg TP-1'],
      [TAG.PROGRAMMER_FIRMWARE, this.options.firmware ?? '1.0.0'],
      [TAG.PROGRAMMER_SERIAL, this.options.serial ?? 'TP1-0001'],
      [TAG.TOKEN_PRESENT, this.token ? 1 : 0],
    ]
    if (this.token) {
      fields.push(
        [TAG.TOKEN_SERIAL, this.token.serial],
        [TAG.TOKEN_MODEL, this.token.model ?? 'OATH display token'],
        [TAG.TOKEN_STATE, this.token.config ? TOKEN_STATE.PROGRAMMED : TOKEN_STATE.BLANK],
        [TAG.TOKEN_CAPABILITIES, this.token.capabilities ?? FULL_CAPABILITIES],
      )
    }
    return fields
  }

  private send(seq: number, cmd: number, payload: Uint8Array): void {
    this.stream.write(encodeFrame({ seq, cmd, payload }))
  }
}
