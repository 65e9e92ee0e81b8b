import { createHistogram, type RecordableHistogram } from 'node:perf_hooks'
import type { Context } from 'koa'

/**
 * The ACS endpoints whose server time is kept, by path. The browser challenge endpoint takes both the first
 * CReq and the cardholder's later steps (code, resend, cancel): `label` tells them apart.
 */
const ENDPOINTS = {
  '/acs/v2/areq': 'areq',
  '/acs/v2/challenge': 'browserStep',
  '/acs/v2/app': 'appChallenge',
} as const
type Endpoint = (typeof ENDPOINTS)[keyof typeof ENDPOINTS] | 'browserCReq'

export interface LatencySummary {
  count: number
  /** Milliseconds. */
  p50: number
  p90: number
  p99: number
  max: number
}

const ms = (ns: number) => Math.round(ns / 1e3) / 1e3

/**
 * Server time of each ACS request, from the moment the ACS middleware sees it until its response has been
 * handed to the operating system: body read, processing, the durability barrier's fsync, and for a final
 * challenge step the RReq round trip to the DS. What the DS, the 3DS Server or the cardholder's network add is
 * not in it. Kept in memory since start-up (HDR histograms, a few kB each), for operators and benchmarks.
 */
export class AcsLatency {
  private readonly histograms = new Map<Endpoint, RecordableHistogram>()
  private since = new Date()

  /** Starts timing the request if it is one of the measured endpoints. */
  observe(ctx: Context): void {
    const endpoint = ctx.method === 'POST' ? ENDPOINTS[ctx.path as keyof typeof ENDPOINTS] : undefined
    if (!endpoint) return
    const start = process.hrtime.bigint()
    ctx.res.once('finish', () => {
      const kind = (ctx.state.acsLatency as Endpoint | undefined) ?? endpoint
      let h = this.histograms.get(kind)
      if (!h) this.histograms.set(kind, (h = createHistogram()))
      h.record(Math.max(1, Number(process.hrtime.bigint() - start)))
    })
  }

  /** Files the request under another endpoint name (a browser CReq, not a later challenge step). */
  label(ctx: Context, endpoint: Endpoint): void {
    ctx.state.acsLatency = endpoint
  }

  summary(): { since: string } & Partial<Record<Endpoint, LatencySummary>> {
    const out: { since: string } & Partial<Record<Endpoint, LatencySummary>> = {
      since: this.since.toISOString(),
    }
    for (const [endpoint, h] of this.histograms)
      out[endpoint] = {
        count: h.count,
        p50: ms(h.percentile(50)),
        p90: ms(h.percentile(90)),
        p99: ms(h.percentile(99)),
        max: ms(h.max),
      }
    return out
  }

  reset(): void {
    this.histograms.clear()
    this.since = new Date()
  }
}
