import { Duplex } from 'node:stream'

/**
 * An in-memory serial cable: two Duplex ends where bytes written to one are read from the other. With a
 * baud rate, each direction delivers bytes no faster than the line would (10 bits per byte: start, 8 data,
 * stop), so benchmarks see realistic wire time without hardware.
 */
export interface Wire {
  a: Duplex
  b: Duplex
  /** Bytes carried in both directions so far. */
  bytes(): number
  destroy(): void
}

export function createWire(baudRate?: number): Wire {
  let total = 0
  const ends: Duplex[] = []
  const lineFreeAt = [0, 0]
  const make = (index: number) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        total += chunk.length
        const peer = ends[1 - index]
        if (!baudRate) {
          peer.push(chunk)
          return callback()
        }
        const start = Math.max(performance.now(), lineFreeAt[index])
        lineFreeAt[index] = start + (chunk.length * 10 * 1000) / baudRate
        setTimeout(() => peer.push(chunk), lineFreeAt[index] - performance.now())
        callback()
      },
    })
  ends.push(make(0), make(1))
  return {
    a: ends[0],
    b: ends[1],
    bytes: () => total,
    destroy: () => ends.forEach((e) => e.destroy()),
  }
}
