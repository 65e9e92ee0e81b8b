import { createHash, randomBytes } from 'node:crypto'
import { PassThrough } from 'node:stream'
import type { Context } from 'koa'
import type { EventEmitter } from 'node:events'
import { HttpProblem } from '../http/problem'

const TICKET_TTL_MS = 30_000

/**
 * Short-lived, single-use tickets for server-sent event streams. EventSource cannot send an Authorization
 * header, so the console trades its bearer token for a ticket (POST, authenticated) and opens
 * `GET …/events?ticket=…`. A ticket lives 30 s, works once, and only its hash is kept.
 */
export class EventTickets {
  private readonly tickets = new Map<string, { username: string; expires: number }>()

  issue(username: string, now = Date.now()): { ticket: string; expiresAt: string } {
    for (const [k, v] of this.tickets) if (v.expires <= now) this.tickets.delete(k)
    const ticket = randomBytes(24).toString('base64url')
    this.tickets.set(hash(ticket), { username, expires: now + TICKET_TTL_MS })
    return { ticket, expiresAt: new Date(now + TICKET_TTL_MS).toISOString() }
  }

  /** The ticket's operator, once; throws 401 for an unknown, used or expired ticket. */
  redeem(ticket: unknown, now = Date.now()): string {
    const key = typeof ticket === 'string' && /^[A-Za-z0-9_-]{32}$/.test(ticket) ? hash(ticket) : undefined
    const entry = key ? this.tickets.get(key) : undefined
    if (key) this.tickets.delete(key)
    if (!entry || entry.expires <= now) {
      throw new HttpProblem(
        401,
        'Invalid event ticket',
        'Ask for a new ticket (POST …/event-tickets) and reconnect',
      )
    }
    return entry.username
  }
}

const hash = (t: string) => createHash('sha256').update(t).digest('hex')

/** Streams `eventName` events from `source` as text/event-stream until the client goes away. */
export function streamEvents(ctx: Context, source: EventEmitter, eventName: string): void {
  ctx.req.socket.setTimeout(0)
  ctx.req.socket.setNoDelay(true)
  ctx.status = 200
  ctx.type = 'text/event-stream'
  ctx.set('Cache-Control', 'no-store')
  const stream = new PassThrough()
  const send = (data: unknown) => stream.write(`event: ${eventName}\ndata: ${JSON.stringify(data)}\n\n`)
  const heartbeat = setInterval(() => stream.write(': keep-alive\n\n'), 15_000)
  source.on(eventName, send)
  const stop = () => {
    clearInterval(heartbeat)
    source.off(eventName, send)
    stream.end()
  }
  ctx.req.once('close', stop)
  stream.write('retry: 3000\n: connected\n\n')
  ctx.body = stream
}
