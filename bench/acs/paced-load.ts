import { connect, type Socket } from 'node:net'

/**
 * An open-loop load at a steady rate: request n is due at start + n / rate, whatever the answers before it
 * did, and its latency counts from that due time (so a server that falls behind is charged for the queue it
 * built, as wrk2 does). Requests go over `connections` keep-alive connections, one in flight on each.
 *
 * Why not autocannon's `overallRate`: it gives each connection a budget per second and lets it spend it at
 * full speed, so "half load" was full load for half of every second, and its latencies those of full load.
 *
 * Why raw sockets and not `http.request`: the client shares this machine's two cores with the server it
 * measures. Node's HTTP client (agent, request and response objects, header parsing) spent about as much CPU
 * per request as the bare endpoint it measured, and whatever the client spends the server waits for. Here a
 * request is one prebuilt buffer and an answer is found by its status line and `Content-Length`. For the same
 * reason `npm run bench` runs this process with one V8 worker thread per core beyond the first, as the servers
 * (docs/architecture.md, "Background threads").
 */
export async function pacedLoad(
  url: string,
  bodies: string[],
  rate: number,
  durationS: number,
  connections: number,
  warmUp: { seconds: number; then?: () => void } = { seconds: 0 },
): Promise<{ latencies: number[]; errors: number }> {
  const target = new URL(url)
  const requests = bodies.map((body) =>
    Buffer.from(
      `POST ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    ),
  )
  // The warm-up is the first part of the same schedule on the same connections: the measured requests follow
  // it without a pause or new connections (a DS's traffic does not stop and reconnect), and only they count.
  const warmUpRequests = Math.floor(rate * warmUp.seconds)
  const total = warmUpRequests + Math.floor(rate * durationS)
  const interval = 1000 / rate
  const latencies: number[] = []
  let errors = 0
  let settled = 0
  let sent = 0
  const waiting: { due: number; request: Buffer }[] = []
  const idle: Connection[] = []

  const sockets = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const s = connect(Number(target.port), target.hostname, () => resolve(s))
          s.once('error', reject)
        }),
    ),
  )
  // The schedule starts once the connections are up (a DS keeps its connections open): counted from before
  // the handshakes, the first requests were charged for them, and the burst they made up for it.
  const start = performance.now()
  const measuredFrom = start + warmUpRequests * interval
  if (warmUp.then) setTimeout(warmUp.then, measuredFrom - performance.now())
  await new Promise<void>((resolve, reject) => {
    const settle = (ok: boolean, due: number) => {
      if (!ok) errors++
      else if (due >= measuredFrom) latencies.push(performance.now() - due)
      if (++settled === total) resolve()
    }
    for (const socket of sockets) {
      const c = new Connection(socket, (ok, due) => {
        settle(ok, due)
        const next = waiting.shift()
        if (next) c.send(next.due, next.request)
        else idle.push(c)
      })
      socket.on('error', reject)
      socket.on('close', () => settled < total && reject(new Error(`${url}: the server closed a connection`)))
      idle.push(c)
    }
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1)
      for (; sent < due; sent++) {
        const item = { due: start + sent * interval, request: requests[sent % requests.length] }
        const c = idle.pop()
        if (c) c.send(item.due, item.request)
        else waiting.push(item)
      }
      if (sent < total) setTimeout(tick, 1)
    }
    tick()
  })
  for (const s of sockets) s.destroy()
  return { latencies, errors }
}

/** One keep-alive connection with at most one request in flight; answers need a `Content-Length`. */
class Connection {
  private due = 0
  private received: Buffer = Buffer.alloc(0)

  constructor(
    private readonly socket: Socket,
    private readonly answered: (ok: boolean, due: number) => void,
  ) {
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.read(chunk))
  }

  send(due: number, request: Buffer): void {
    this.due = due
    this.socket.write(request)
  }

  private read(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk])
    const headEnd = this.received.indexOf('\r\n\r\n')
    if (headEnd < 0) return
    const head = this.received.toString('latin1', 0, headEnd)
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)
    if (!length) throw new Error(`an answer without Content-Length: ${head.split('\r\n')[0]}`)
    const end = headEnd + 4 + Number(length[1])
    if (this.received.length < end) return
    this.received = this.received.subarray(end)
    this.answered(head.startsWith('HTTP/1.1 200'), this.due)
  }
}
