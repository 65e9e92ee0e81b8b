import { randomInt } from 'node:crypto'
import type { Transport } from '../../serial/transport'
import {
  DongleError,
  assertSupported,
  type DongleDevice,
  type DongleEvent,
  type DongleProgrammer,
  type OathHash,
  type OathSlotParams,
} from '../programmer'
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
  TlvError,
  decodeTlv,
  encodeFrame,
  encodeTlv,
  readText,
  readUint,
  uintBytes,
  type Frame,
} from './protocol'

export interface SerialProgrammerOptions {
  /** Per attempt; a frame lost on the line is resent with the same SEQ, which the programmer answers once. */
  timeoutMs?: number
  retries?: number
}

interface Pending {
  seq: number
  cmd: number
  resolve: (fields: Map<number, Uint8Array>) => void
  reject: (err: Error) => void
}

const STATUS_ERRORS: Record<number, [DongleError['code'], string]> = {
  [STATUS.UNKNOWN_COMMAND]: ['protocol', 'the programmer does not know this command'],
  [STATUS.BAD_PARAMETER]: ['unsupported', 'the programmer refused the parameters'],
  [STATUS.NO_TOKEN]: ['no-token', 'no token in the programmer'],
  [STATUS.ALREADY_PROGRAMMED]: ['already-programmed', 'the token is already programmed: erase it first'],
  [STATUS.NOT_PROGRAMMED]: ['not-programmed', 'the token is not programmed'],
  [STATUS.WRITE_FAILED]: ['rejected', 'the token write failed'],
  [STATUS.BUSY]: ['busy', 'the programmer is busy'],
}

/** Drives a bench token programmer (one token cradle) over a serial transport. */
export class SerialProgrammer implements DongleProgrammer {
  readonly driver = 'serial'
  private readonly decoder = new FrameDecoder()
  private readonly listeners = new Set<(event: DongleEvent) => void>()
  private pending: Pending | null = null
  private queue: Promise<unknown> = Promise.resolve()
  /**
   * The SEQ before the first request. Random, not 0: the programmer answers a request with the SEQ and CMD of
   * its last one from its reply cache, and every session opens with INFO, so two sessions starting at SEQ 1
   * would get the previous session's answer.
   */
  private seq = randomInt(255)
  private current: DongleDevice | null = null
  private closed = false
  private readonly onData = (chunk: Buffer) => this.receive(chunk)

  constructor(
    private readonly transport: Transport,
    private readonly options: SerialProgrammerOptions = {},
  ) {
    transport.stream.on('data', this.onData)
  }

  async devices(): Promise<DongleDevice[]> {
    const fields = await this.request(CMD.INFO)
    this.current = fields.get(TAG.TOKEN_PRESENT)?.[0] ? deviceFrom(fields) : null
    return this.current ? [this.current] : []
  }

  watch(listener: (event: DongleEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async info(id: string): Promise<DongleDevice> {
    return this.present(id)
  }

  async program(id: string, seed: Uint8Array, params: OathSlotParams): Promise<void> {
    assertSupported(await this.present(id), seed, params)
    const moving: [number, Uint8Array][] =
      params.kind === 'hotp'
        ? [[TAG.COUNTER, uintBytes(params.counter, 8)]]
        : [[TAG.PERIOD, uintBytes(params.period, 2)]]
    const payload = encodeTlv([
      [TAG.KIND, KIND[params.kind]],
      [TAG.HASH, HASH[params.algorithm]],
      [TAG.DIGITS, params.digits],
      ...moving,
      [TAG.SEED, seed],
    ])
    try {
      await this.request(CMD.PROGRAM, payload)
    } finally {
      payload.fill(0)
    }
  }

  async readCode(id: string): Promise<string> {
    await this.present(id)
    const code = readText((await this.request(CMD.READ_CODE)).get(TAG.CODE))
    if (!code || !/^\d{6,8}$/.test(code))
      throw new DongleError('the programmer returned no valid code', 'protocol')
    return code
  }

  async erase(id: string): Promise<void> {
    await this.present(id)
    await this.request(CMD.ERASE)
  }

  /** Asks the programmer to release the token; a removal event follows. */
  async eject(id: string): Promise<void> {
    await this.present(id)
    await this.request(CMD.EJECT).catch((err: unknown) => {
      // An EJECT resent after its reply was lost finds the cradle empty (the token, and the programmer's reply
      // cache with it, are gone): the token was released all the same.
      if (!(err instanceof DongleError && err.code === 'no-token')) throw err
    })
  }

  async close(): Promise<void> {
    this.closed = true
    this.pending?.reject(new DongleError('programmer closed', 'timeout'))
    this.pending = null
    this.transport.stream.off('data', this.onData)
    await this.transport.close()
  }

  private async present(id: string): Promise<DongleDevice> {
    const [device] = await this.devices()
    if (!device || device.id !== id)
      throw new DongleError(`token ${id} is not in the programmer`, 'not-found')
    return device
  }

  /** One request at a time: the programmer has a single cradle and answers in order. */
  private request(cmd: number, payload: Uint8Array = new Uint8Array(0)): Promise<Map<number, Uint8Array>> {
    const run = () => this.exchange(cmd, payload)
    const result = this.queue.then(run, run)
    this.queue = result.catch(() => undefined)
    return result
  }

  private async exchange(cmd: number, payload: Uint8Array): Promise<Map<number, Uint8Array>> {
    if (this.closed) throw new DongleError('programmer closed', 'timeout')
    this.seq = (this.seq % 255) + 1 // 1..255: 0 is for events
    const frame = encodeFrame({ seq: this.seq, cmd, payload })
    const attempts = (this.options.retries ?? 2) + 1
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.attempt(this.seq, cmd, frame)
        } catch (err) {
          if (!(err instanceof DongleError && err.code === 'timeout') || attempt >= attempts || this.closed)
            throw err
          // Silence may mean noise posing as a frame start is holding the decoder: discard it before resending.
          this.handleFrames(this.decoder.skipStalled())
        }
      }
    } finally {
      frame.fill(0) // a PROGRAM frame holds the seed
    }
  }

  private attempt(seq: number, cmd: number, frame: Uint8Array): Promise<Map<number, Uint8Array>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = null
        reject(new DongleError('the programmer did not answer in time', 'timeout'))
      }, this.options.timeoutMs ?? 1000)
      this.pending = {
        seq,
        cmd,
        resolve: (fields) => {
          clearTimeout(timer)
          resolve(fields)
        },
        reject: (err) => {
          clearTimeout(timer)
          reject(err)
        },
      }
      this.transport.stream.write(frame)
    })
  }

  private receive(chunk: Buffer): void {
    this.handleFrames(this.decoder.push(chunk))
  }

  private handleFrames(frames: Frame[]): void {
    for (const frame of frames) {
      if (frame.seq === 0 && frame.cmd === CMD.EVENT) this.onEvent(frame)
      else this.onReply(frame)
    }
  }

  private onReply(frame: Frame): void {
    const p = this.pending
    // A late reply to an attempt that already timed out, or noise that passed the CRC: not ours.
    if (!p || frame.seq !== p.seq || frame.cmd !== (p.cmd | REPLY_FLAG)) return
    this.pending = null
    const status = frame.payload[0]
    let fields: Map<number, Uint8Array>
    try {
      fields = decodeTlv(frame.payload.subarray(1))
    } catch (err) {
      return p.reject(new DongleError(`malformed reply: ${(err as TlvError).message}`, 'protocol'))
    }
    if (status === STATUS.OK) return p.resolve(fields)
    const [code, message] = STATUS_ERRORS[status] ?? ['protocol', `unknown status ${status}`]
    const detail = readText(fields.get(TAG.MESSAGE))
    p.reject(new DongleError(detail ? `${message} (${detail})` : message, code))
  }

  private onEvent(frame: Frame): void {
    let fields: Map<number, Uint8Array>
    try {
      fields = decodeTlv(frame.payload)
    } catch {
      return
    }
    const type = fields.get(TAG.EVENT_TYPE)?.[0]
    if (type === EVENT.TOKEN_INSERTED) {
      this.current = deviceFrom(fields)
      this.emit({ type: 'attached', device: this.current })
    } else if (type === EVENT.TOKEN_REMOVED) {
      const serial = readText(fields.get(TAG.TOKEN_SERIAL))
      this.current = null
      if (serial) this.emit({ type: 'detached', id: deviceId(serial) })
    }
  }

  private emit(event: DongleEvent): void {
    for (const l of this.listeners) l(event)
  }
}

function deviceId(serial: string): string {
  return `token-${serial}`
}

function deviceFrom(fields: Map<number, Uint8Array>): DongleDevice {
  const serial = readText(fields.get(TAG.TOKEN_SERIAL)) ?? ''
  const caps = readUint(fields.get(TAG.TOKEN_CAPABILITIES)) ?? CAPABILITY.HOTP
  const algorithms: OathHash[] = ['SHA1']
  if (caps & CAPABILITY.SHA256) algorithms.push('SHA256')
  if (caps & CAPABILITY.SHA512) algorithms.push('SHA512')
  return {
    id: deviceId(serial),
    serial,
    model: readText(fields.get(TAG.TOKEN_MODEL)) ?? 'OATH token',
    firmware: readText(fields.get(TAG.PROGRAMMER_FIRMWARE)) ?? '',
    supports: {
      kinds: [
        ...(caps & CAPABILITY.HOTP ? ['hotp' as const] : []),
        ...(caps & CAPABILITY.TOTP ? ['totp' as const] : []),
      ],
      algorithms,
      digits: caps & CAPABILITY.DIGITS8 ? [6, 8] : [6],
    },
  }
}
