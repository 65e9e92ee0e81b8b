import { PassThrough } from 'node:stream'
import type { Context } from 'koa'

const HEARTBEAT_MS = 15_000

/**
 * Open server-sent-event streams of authenticators, by device. An approval request reaches every open
 * authenticator of the card at once; a device without an open stream is woken by SMS instead.
 */
export class DeviceHub {
  private readonly streams = new Map<string, Set<PassThrough>>()

  connected(deviceId: string): boolean {
    return (this.streams.get(deviceId)?.size ?? 0) > 0
  }

  /** Sends one event to every open stream of these devices; returns how many devices had one. */
  publish(deviceIds: readonly string[], event: string, data: unknown): number {
    let reached = 0
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
    for (const id of deviceIds) {
      const set = this.streams.get(id)
      if (!set?.size) continue
      reached++
      for (const s of set) s.write(frame)
    }
    return reached
  }

  /** Closes a device's streams (after revocation), telling it why first. */
  disconnect(deviceId: string, event: string): void {
    const set = this.streams.get(deviceId)
    if (!set) return
    for (const s of set) s.end(`event: ${event}\ndata: {}\n\n`)
    this.streams.delete(deviceId)
  }

  /** Turns the response into this device's event stream until the client goes away. */
  attach(ctx: Context, deviceId: string): void {
    ctx.req.socket.setTimeout(0)
    ctx.req.socket.setNoDelay(true)
    ctx.status = 200
    ctx.type = 'text/event-stream'
    ctx.set('Cache-Control', 'no-store')
    const stream = new PassThrough()
    let set = this.streams.get(deviceId)
    if (!set) this.streams.set(deviceId, (set = new Set()))
    set.add(stream)
    const heartbeat = setInterval(() => stream.write(': keep-alive\n\n'), HEARTBEAT_MS)
    const stop = () => {
      clearInterval(heartbeat)
      const current = this.streams.get(deviceId)
      current?.delete(stream)
      if (current && current.size === 0) this.streams.delete(deviceId)
      stream.end()
    }
    ctx.req.once('close', stop)
    stream.write('retry: 2000\nevent: ready\ndata: {}\n\n')
    ctx.body = stream
  }

  closeAll(): void {
    for (const set of this.streams.values()) for (const s of set) s.end()
    this.streams.clear()
  }
}
