/**
 * Live updates for the console as server-sent events: outbox and inbox changes, modem status, gateway
 * switches. The browser's EventSource cannot send an Authorization header, so the console first trades its
 * bearer token for a **ticket** (`POST /api/sms/events/ticket`): 32 random bytes, valid 30 seconds, good
 * for one connection, kept only in this process's memory. A ticket in a URL may end up in a proxy log;
 * being short-lived and single-use, it is worthless by the time anyone reads it, unlike the token itself.
 */
import { randomBytes } from 'node:crypto'
import { PassThrough } from 'node:stream'
import type { Context } from 'koa'

const TICKET_TTL_MS = 30_000

export class EventTickets {
  private readonly tickets = new Map<string, { token: string; expiresAt: number }>()

  issue(token: string, now = Date.now()): { ticket: string; expiresAt: number } {
    for (const [t, v] of this.tickets) if (v.expiresAt <= now) this.tickets.delete(t)
    const ticket = randomBytes(32).toString('base64url')
    const expiresAt = now + TICKET_TTL_MS
    this.tickets.set(ticket, { token, expiresAt })
    return { ticket, expiresAt }
  }

  /** The session token the ticket stands for, once: a second use, or a late one, gets nothing. */
  redeem(ticket: string, now = Date.now()): string | undefined {
    const entry = this.tickets.get(ticket)
    this.tickets.delete(ticket)
    return entry && entry.expiresAt > now ? entry.token : undefined
  }
}

export interface EventSourceLike {
  on(event: string, listener: (payload: unknown) => void): unknown
  off(event: string, listener: (payload: unknown) => void): unknown
}

export interface StreamOptions {
  /** Which emitter events to forward, and under which SSE event name. */
  sources: { emitter: EventSourceLike; event: string; as: string }[]
  /** Checked on every heartbeat: false ends the stream (the session was ended or expired). */
  stillAllowed(): boolean
  heartbeatMs?: number
}

/**
 * Turns the request into an event stream. Events are coalesced per name over 100 ms (a burst of 500 sends is
 * a handful of messages, the console refetches what it shows). The stream ends when the client goes, when
 * the session no longer allows it, or when the server stops listening (so a graceful shutdown is not held
 * up by open streams).
 */
export function openEventStream(ctx: Context, options: StreamOptions): void {
  const stream = new PassThrough()
  ctx.req.socket.setTimeout(0)
  ctx.req.socket.setNoDelay(true)
  ctx.status = 200
  ctx.set('Content-Type', 'text/event-stream; charset=utf-8')
  ctx.set('Cache-Control', 'no-cache, no-store')
  ctx.set('X-Accel-Buffering', 'no')
  ctx.body = stream

  const pending = new Map<string, unknown>()
  let flushTimer: NodeJS.Timeout | undefined
  const flush = () => {
    flushTimer = undefined
    for (const [name, data] of pending)
      stream.write(`event: ${name}\ndata: ${JSON.stringify(data ?? {})}\n\n`)
    pending.clear()
  }
  const listeners = options.sources.map(({ emitter, event, as }) => {
    const listener = (payload: unknown) => {
      pending.set(as, payload)
      flushTimer ??= setTimeout(flush, 100)
    }
    emitter.on(event, listener)
    return () => emitter.off(event, listener)
  })
  stream.write(`retry: 3000\nevent: ready\ndata: {}\n\n`)

  const server = (ctx.req.socket as unknown as { server?: { listening: boolean } }).server
  const heartbeatMs = options.heartbeatMs ?? 15_000
  let sinceBeat = 0
  const watch = setInterval(() => {
    if (server && !server.listening) return end()
    sinceBeat += 500
    if (sinceBeat < heartbeatMs) return
    sinceBeat = 0
    if (!options.stillAllowed()) return end()
    stream.write(': keep-alive\n\n')
  }, 500)
  let ended = false
  function end() {
    if (ended) return
    ended = true
    clearInterval(watch)
    clearTimeout(flushTimer)
    for (const off of listeners) off()
    stream.end()
  }
  ctx.req.on('close', end)
  stream.on('error', end)
}
