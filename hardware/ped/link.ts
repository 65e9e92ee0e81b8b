import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import { ACK, encodeFrame, EOT, FrameDecoder, NAK, type FramingProfile } from './framing'

/**
 * The acknowledged link layer shared by the driver and the simulator: every frame is answered with ACK
 * (good check) or NAK (bad check); the sender retransmits on NAK or silence, and after `retries` failed
 * retransmissions sends EOT and gives up. One frame is outstanding at a time.
 */
export class LinkError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'LinkError'
  }
}

export interface LinkOptions {
  profile: FramingProfile
  /** How long to wait for ACK/NAK after sending a frame. */
  ackTimeoutMs?: number
  /** Retransmissions after the first attempt. */
  retries?: number
}

/** Test and simulator hooks: damage outgoing frames or withhold ACKs. */
export interface LinkFaults {
  /** Corrupt one byte of each of the next N outgoing frames. */
  corruptFrames: number
  /** Do not acknowledge the next N good incoming frames. */
  dropAcks: number
}

export interface LinkStats {
  bytesSent: number
  bytesReceived: number
  retransmissions: number
}

interface PendingSend {
  resolve(): void
  reject(err: Error): void
  onControl(byte: number): void
}

export class Link extends EventEmitter<{ message: [Buffer]; error: [Error]; abort: [] }> {
  readonly faults: LinkFaults = { corruptFrames: 0, dropAcks: 0 }
  readonly stats: LinkStats = { bytesSent: 0, bytesReceived: 0, retransmissions: 0 }
  private readonly decoder: FrameDecoder
  private readonly ackTimeoutMs: number
  private readonly retries: number
  private pending: PendingSend | undefined
  private queue: Promise<void> = Promise.resolve()
  private closed = false
  private readonly onData = (chunk: Buffer) => this.receive(chunk)

  constructor(
    private readonly stream: Duplex,
    private readonly options: LinkOptions,
  ) {
    super()
    this.decoder = new FrameDecoder(options.profile)
    this.ackTimeoutMs = options.ackTimeoutMs ?? 1000
    this.retries = options.retries ?? 3
    stream.on('data', this.onData)
  }

  /** Send one payload reliably; resolves once the peer has acknowledged it. */
  send(payload: Buffer): Promise<void> {
    const attempt = this.queue.then(() => this.sendNow(payload))
    this.queue = attempt.catch(() => undefined)
    return attempt
  }

  detach(): void {
    this.closed = true
    this.stream.off('data', this.onData)
    this.pending?.reject(new LinkError('the link was closed'))
  }

  private write(bytes: Buffer): void {
    if (this.closed) return
    this.stats.bytesSent += bytes.length
    this.stream.write(bytes)
  }

  private sendNow(payload: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new LinkError('the link is closed'))
    const frame = encodeFrame(this.options.profile, payload)
    return new Promise<void>((resolve, reject) => {
      let attempts = 0
      let timer: NodeJS.Timeout | undefined
      const transmit = () => {
        if (attempts > this.retries) {
          this.write(Buffer.from([EOT]))
          return finish(new LinkError(`no acknowledgement after ${this.retries} retransmissions`))
        }
        if (attempts > 0) this.stats.retransmissions++
        attempts++
        let out = frame
        if (this.faults.corruptFrames > 0) {
          this.faults.corruptFrames--
          out = Buffer.from(frame)
          out[Math.max(1, out.length >> 1)] ^= 0x01
        }
        this.write(out)
        clearTimeout(timer)
        timer = setTimeout(transmit, this.ackTimeoutMs)
      }
      const finish = (err?: Error) => {
        clearTimeout(timer)
        this.pending = undefined
        if (err) reject(err)
        else resolve()
      }
      this.pending = {
        resolve: () => finish(),
        reject: (err) => finish(err),
        onControl: (byte) => {
          if (byte === ACK) finish()
          else if (byte === NAK) transmit()
          else if (byte === EOT) finish(new LinkError('the peer aborted the exchange (EOT)'))
        },
      }
      transmit()
    })
  }

  private receive(chunk: Buffer): void {
    this.stats.bytesReceived += chunk.length
    for (const event of this.decoder.push(chunk)) {
      if (event.type === 'control') {
        if (this.pending) this.pending.onControl(event.byte)
        else if (event.byte === EOT) this.emit('abort')
        continue
      }
      if (!event.valid) {
        this.write(Buffer.from([NAK]))
        continue
      }
      if (this.faults.dropAcks > 0) this.faults.dropAcks--
      else this.write(Buffer.from([ACK]))
      this.emit('message', event.payload)
    }
  }
}
