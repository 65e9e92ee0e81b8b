import { describe, expect, it } from 'vitest'
import { DurationText, parseDuration, parseRateLimit, RateLimitText } from './limits'

describe('2FA duration and rate-limit strings', () => {
  it('parses the Infobip forms', () => {
    expect(parseDuration('15m')).toBe(900_000)
    expect(parseDuration('500ms')).toBe(500)
    expect(parseDuration('2h')).toBe(7_200_000)
    expect(parseRateLimit('3/1d')).toEqual({ count: 3, windowMs: 86_400_000 })
    expect(parseRateLimit('1/3s')).toEqual({ count: 1, windowMs: 3000 })
    expect(parseRateLimit('10000/1d')).toEqual({ count: 10_000, windowMs: 86_400_000 })
    expect(parseRateLimit('5/h')).toEqual({ count: 5, windowMs: 3_600_000 })
  })

  it('rejects anything else', () => {
    for (const bad of ['', '15', 'm', '15 min', '-1s', '1.5s', '1e3s'])
      expect(parseDuration(bad), bad).toBeUndefined()
    for (const bad of ['3', '3/', '/1d', '3/1w', '3:1d', 'three/1d'])
      expect(parseRateLimit(bad), bad).toBeUndefined()
  })

  it('bounds what a configuration may hold', () => {
    const ttl = DurationText(1000, 86_400_000)
    expect(ttl.safeParse('15m').success).toBe(true)
    expect(ttl.safeParse('500ms').success).toBe(false)
    expect(ttl.safeParse('2d').success).toBe(false)
    expect(RateLimitText.safeParse('1/3s').success).toBe(true)
    expect(RateLimitText.safeParse('0/1d').success).toBe(false)
    expect(RateLimitText.safeParse('1/100ms').success).toBe(false)
    expect(RateLimitText.safeParse('1/60d').success).toBe(false)
  })
})
