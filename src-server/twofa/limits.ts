import { z } from 'zod'

/**
 * Durations and rate limits in the Infobip string forms the 2FA API is modelled on: `15m`, `3s`, `500ms`
 * for durations and `3/1d`, `1/3s`, `10000/1d` for "n events per window".
 */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const DURATION = /^(\d{1,9})(ms|s|m|h|d)$/
const RATE = /^(\d{1,9})\/(\d{1,9})?(ms|s|m|h|d)$/

export interface RateLimit {
  count: number
  windowMs: number
}

/** `15m` → 900000; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim())
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : undefined
}

/** `3/1d` → {count: 3, windowMs: 86400000}; `5/h` is `5/1h`. Undefined when malformed. */
export function parseRateLimit(text: string): RateLimit | undefined {
  const m = RATE.exec(text.trim())
  if (!m) return undefined
  return { count: Number(m[1]), windowMs: Number(m[2] ?? '1') * UNIT_MS[m[3] as keyof typeof UNIT_MS] }
}

const MAX_WINDOW_MS = 31 * UNIT_MS.d

/** A duration string between `min` and `max` milliseconds, kept as the caller wrote it. */
export const DurationText = (minMs: number, maxMs: number) =>
  z
    .string()
    .trim()
    .refine(
      (s) => {
        const ms = parseDuration(s)
        return ms !== undefined && ms >= minMs && ms <= maxMs
      },
      `a duration such as 15m or 30s ({n}{ms|s|m|h|d}) between ${minMs / 1000} s and ${maxMs / 1000} s`,
    )

/** A rate-limit string: at least one event in a window of one second to 31 days. */
export const RateLimitText = z
  .string()
  .trim()
  .refine((s) => {
    const r = parseRateLimit(s)
    return r !== undefined && r.count >= 1 && r.windowMs >= 1000 && r.windowMs <= MAX_WINDOW_MS
  }, 'a limit such as 3/1d or 1/3s ({count}/{n}{s|m|h|d}, window from 1 s to 31 d)')
