import { Agent, request } from 'node:http'

/**
 * An open-loop load at a steady rate: request n is due at start + n / rate, whatever the answers before it
 * did, and its latency counts from that due time (so a server that falls behind is charged for the queue it
 * built, as wrk2 does). Requests go over at most `connections` keep-alive connections.
 *
 * Why not autocannon's `overallRate`: it gives each connection a budget per second and lets it spend it at
 * full speed, so "half load" was full load for half of every second, and its latencies those of full load.
 */
export async function pacedLoad(
  url: string,
  bodies: string[],
  rate: number,
  durationS: number,
  connections: number,
): Promise<{ latencies: number[]; errors: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections })
  const total = Math.floor(rate * durationS)
  const interval = 1000 / rate
  const latencies: number[] = []
  let errors = 0
  let sent = 0
  let settled = 0
  const start = performance.now()
  await new Promise<void>((resolve) => {
    const send = (due: number, body: string) => {
      const req = request(url, {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      })
      const done = (ok: boolean) => {
        if (ok) latencies.push(performance.now() - due)
        else errors++
        if (++settled === total) resolve()
      }
      req.on('response', (res) => {
        res.resume()
        res.on('end', () => done(res.statusCode === 200))
      })
      req.on('error', () => done(false))
      req.end(body)
    }
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1)
      for (; sent < due; sent++) send(start + sent * interval, bodies[sent % bodies.length])
      if (sent < total) setTimeout(tick, 1)
    }
    tick()
  })
  agent.destroy()
  return { latencies, errors }
}
