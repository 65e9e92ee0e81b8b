import { createHistogram, type RecordableHistogram } from 'node:perf_hooks'
import type { ServerResponse } from 'node:http'

/**
 * The ACS endpoints whose server time is kept, by path. The browser challenge endpoint takes both the first
 * CReq and the cardholder's later steps (code, resend, cancel): `label` tells them apart.
 */
const ENDPOINTS = {
  '/acs/v2/areq': 'areq',
  '/acs/v2/challenge': 'browserStep',
  '/acs/v2/app': 'appChallenge',
} as const
type Endpoint = (typeof ENDPOINTS)[keyof typeof ENDPOINTS] | 'browserCReq' | 'browserChallenge'

/** Browser challenges still open are forgotten after this long (the longest challenge lasts 10 minutes). */
const OPEN_CHALLENGE_MS = 15 * 60_000
const MAX_OPEN_CHALLENGES = 50_000

export interface LatencySummary {
  count: number
  /** Milliseconds. */
  p50: number
  p90: number
  p99: number
  max: number
}

/** What a handler learns about its request while answering it (Koa's `ctx.state`, or a plain object). */
export interface LatencyLabels {
  acsLatency?: Endpoint
  acsChallenge?: { acsTransID: string; first: boolean; final: boolean }
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
  /**
   * Server time so far of each browser challenge in progress, by acsTransID, least recently touched first:
   * a whole challenge's time (AReq + CReq + every step, the RReq round trip included) is filed as
   * `browserChallenge` when its final page goes out.
   */
  private readonly openChallenges = new Map<string, { ns: number; at: number }>()
  private since = new Date()

  /**
   * Starts timing the request if it is one of the measured endpoints; `labels` is where the handler says what
   * it turned out to be (`label`, `browserChallenge`) before the answer goes out.
   */
  observe(method: string, path: string, res: ServerResponse, labels: LatencyLabels): void {
    const endpoint = method === 'POST' ? ENDPOINTS[path as keyof typeof ENDPOINTS] : undefined
    if (!endpoint) return
    const start = process.hrtime.bigint()
    res.once('finish', () => {
      const ns = Math.max(1, Number(process.hrtime.bigint() - start))
      this.record(labels.acsLatency ?? endpoint, ns)
      if (labels.acsChallenge) this.challengeTime(labels.acsChallenge, ns)
    })
  }

  /**
   * Counts this request's time towards its browser challenge: `first` for the AReq that opened it, `final`
   * for the answer carrying the final CRes page.
   */
  browserChallenge(
    labels: LatencyLabels,
    acsTransID: string,
    step: { first?: boolean; final?: boolean },
  ): void {
    labels.acsChallenge = { acsTransID, first: step.first ?? false, final: step.final ?? false }
  }

  private record(kind: Endpoint, ns: number): void {
    let h = this.histograms.get(kind)
    if (!h) this.histograms.set(kind, (h = createHistogram()))
    h.record(ns)
  }

  private challengeTime(step: { acsTransID: string; first: boolean; final: boolean }, ns: number): void {
    const open = this.openChallenges.get(step.acsTransID)
    // Only challenges seen from their AReq on count (not one begun before a restart or a reset, nor a final
    // page shown again).
    if (!open && !step.first) return
    const total = (open?.ns ?? 0) + ns
    this.openChallenges.delete(step.acsTransID)
    if (step.final) return this.record('browserChallenge', total)
    const now = Date.now()
    this.openChallenges.set(step.acsTransID, { ns: total, at: now })
    for (const [id, c] of this.openChallenges) {
      if (c.at > now - OPEN_CHALLENGE_MS && this.openChallenges.size <= MAX_OPEN_CHALLENGES) break
      this.openChallenges.delete(id)
    }
  }

  /** Files the request under another endpoint name (a browser CReq, not a later challenge step). */
  label(labels: LatencyLabels, endpoint: Endpoint): void {
    labels.acsLatency = endpoint
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
    this.openChallenges.clear()
    this.since = new Date()
  }
}
