import { createConnection, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { SerialPort } from 'serialport'

/**
 * A byte stream to a device: a serial port (`/dev/ttyUSB0`, `/dev/serial/by-id/...`, a pty) or a
 * serial-over-IP bank (`tcp://host:port`). Every driver (GSM, dongle programmer, PED) speaks through one.
 */
export interface Transport {
  readonly url: string
  readonly stream: Duplex
  /** The I/O error that ended the link (a device unplugged: EIO, a bank dropping the socket), if one did. */
  readonly failure: Error | undefined
  close(): Promise<void>
}

export interface OpenOptions {
  baudRate?: number
  /** Abort the open after this many milliseconds. */
  timeoutMs?: number
}

export class TransportError extends Error {
  constructor(
    message: string,
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'TransportError'
  }
}

export async function openTransport(url: string, options: OpenOptions = {}): Promise<Transport> {
  const timeoutMs = options.timeoutMs ?? 5000
  const opened = url.startsWith('tcp://')
    ? await openTcp(url, timeoutMs)
    : await openSerial(url, options.baudRate ?? 115_200, timeoutMs)
  return withFailureHandling(opened)
}

/**
 * A device pulled out mid-write makes its stream emit 'error' (EIO on a serial port); a stream error nobody
 * listens to would crash the whole server. Every transport therefore records the failure and destroys the
 * stream, so drivers learn of it the one way they all watch for: 'close'.
 */
function withFailureHandling(opened: Omit<Transport, 'failure'>): Transport {
  let failure: Error | undefined
  opened.stream.on('error', (err: Error) => {
    failure ??= err
    opened.stream.destroy()
  })
  return {
    url: opened.url,
    stream: opened.stream,
    get failure() {
      return failure
    },
    close: opened.close,
  }
}

function openTcp(url: string, timeoutMs: number): Promise<Omit<Transport, 'failure'>> {
  const parsed = new URL(url)
  const port = Number(parsed.port)
  if (!parsed.hostname || !Number.isInteger(port) || port <= 0) {
    return Promise.reject(new TransportError(`not a tcp://host:port address: ${url}`, url))
  }
  return new Promise((resolve, reject) => {
    const socket: Socket = createConnection({ host: parsed.hostname.replace(/^\[|\]$/g, ''), port })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new TransportError(`timed out connecting to ${url}`, url))
    }, timeoutMs)
    socket.once('error', (err) => {
      clearTimeout(timer)
      reject(new TransportError(`cannot connect to ${url}: ${err.message}`, url, { cause: err }))
    })
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.setNoDelay(true)
      resolve({
        url,
        stream: socket,
        close: () =>
          new Promise<void>((done) => {
            if (socket.destroyed) return done()
            socket.once('close', () => done())
            socket.end()
            socket.destroySoon?.()
            setTimeout(() => socket.destroy(), 500).unref()
          }),
      })
    })
  })
}

function openSerial(path: string, baudRate: number, timeoutMs: number): Promise<Omit<Transport, 'failure'>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new TransportError(`timed out opening ${path}`, path)), timeoutMs)
    // hupcl/rtscts off: ptys reject modem-control ioctls, and real modems do not need them to talk AT.
    const port = new SerialPort({ path, baudRate, autoOpen: false, hupcl: false, rtscts: false })
    port.open((err) => {
      clearTimeout(timer)
      if (err) return reject(new TransportError(`cannot open ${path}: ${err.message}`, path, { cause: err }))
      resolve({
        url: path,
        stream: port,
        close: () =>
          new Promise<void>((done) => {
            if (!port.isOpen) return done()
            port.close(() => done())
          }),
      })
    })
  })
}
