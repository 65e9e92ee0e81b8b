import { randomBytes } from 'node:crypto'
import { PassThrough } from 'node:stream'
import type { Context } from 'koa'
import type { BenchRunView, DetectedDevice, ImportJob } from './model'

/** What the console's Dongles page hears over server-sent events. Never a seed, a code or a password. */
export type DongleEvent =
  | { type: 'device'; programmerId: string; change: 'attached'; device: DetectedDevice }
  | { type: 'device'; programmerId: string; change: 'detached'; deviceId: string }
  | { type: 'programmers' }
  | { type: 'bench'; run: BenchRunView }
  | { type: 'import'; job: ImportJob }

/** A tiny publish/subscribe hub: hot-plug, bench steps and import progress, fanned out to every stream. */
export class DongleEvents {
  private readonly listeners = new Set<(event: DongleEvent) => void>()

  subscribe(listener: (event: DongleEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  publish(event: DongleEvent): void {
    for (const l of this.listeners) l(event)
  }
}

const TICKET_TTL_MS = 60_000
/** A stream ends after this long; the console reconnects with a fresh ticket, which needs a live session. */
export const STREAM_MAX_MS = 10 * 60_000
const HEARTBEAT_MS = 15_000
const SHUTDOWN_CHECK_MS = 1000

/**
 * Short-lived, single-use tickets for the event stream. `EventSource` cannot send an Authorization header, so
 * the console exchanges its bearer session for a ticket (POST, with the header) and opens
 * `/api/dongles/events?ticket=…`. The ticket is useless after one use or a minute, so a URL that ends up in a
 * log or the browser history gives nothing away.
 */
export class StreamTickets {
  private readonly tickets = new Map<string, { operator: string; expires: number }>()

  issue(operator: string, nowMs = Date.now()): { ticket: string; expiresAt: string } {
    for (const [t, v] of this.tickets) if (v.expires <= nowMs) this.tickets.delete(t)
    const ticket = randomBytes(24).toString('base64url')
    this.tickets.set(ticket, { operator, expires: nowMs + TICKET_TTL_MS })
    return { ticket, expiresAt: new Date(nowMs + TICKET_TTL_MS).toISOString() }
  }

  /** The operator the ticket was issued to, once; undefined for an unknown, used or expired ticket. */
  redeem(ticket: string, nowMs = Date.now()): string | undefined {
    const found = this.tickets.get(ticket)
    this.tickets.delete(ticket)
    return found && found.expires > nowMs ? found.operator : undefined
  }
}

/**
 * Turns the request into a `text/event-stream` of hub events. It ends when the client goes, after
 * STREAM_MAX_MS, or when the HTTP server stops listening (a graceful stop waits for open responses, and an
 * event stream would otherwise hold it up).
 */
export function openEventStream(ctx: Context, events: DongleEvents): PassThrough {
  const stream = new PassThrough()
  const send = (name: string, data: unknown) =>
    stream.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`)
  const unsubscribe = events.subscribe((e) => send(e.type, e))
  const started = Date.now()
  let lastWrite = started
  const server = (ctx.req.socket as unknown as { server?: { listening: boolean } }).server
  const timer = setInterval(() => {
    const now = Date.now()
    if (now - started > STREAM_MAX_MS || server?.listening === false) return stream.end()
    if (now - lastWrite >= HEARTBEAT_MS) {
      lastWrite = now
      stream.write(': keep-alive\n\n')
    }
  }, SHUTDOWN_CHECK_MS)
  const stop = () => {
    clearInterval(timer)
    unsubscribe()
  }
  stream.on('close', stop)
  stream.on('finish', stop)
  ctx.req.on('close', () => stream.end())
  ctx.req.socket.setTimeout(0)
  ctx.req.socket.setNoDelay(true)
  ctx.status = 200
  ctx.type = 'text/event-stream'
  ctx.set('Cache-Control', 'no-cache, no-store')
  ctx.set('X-Accel-Buffering', 'no')
  // Tell EventSource to wait before reconnecting on its own: the console fetches a new ticket first.
  stream.write('retry: 3000\n\n')
  send('hello', { at: new Date(started).toISOString() })
  return stream
}
