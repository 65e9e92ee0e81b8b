import { describe, expect, it } from 'vitest'
import { CrashRestartPolicy } from './restart-policy.std'

describe('CrashRestartPolicy', () => {
  it('restarts with a growing delay, then gives up on a crash loop', () => {
    const policy = new CrashRestartPolicy(3, 60_000, 500)
    expect(policy.onCrash(0)).toBe(500)
    expect(policy.onCrash(1_000)).toBe(1_000)
    expect(policy.onCrash(2_000)).toBe(2_000)
    expect(policy.onCrash(3_000)).toBeNull()
  })

  it('forgets crashes older than the window', () => {
    const policy = new CrashRestartPolicy(3, 60_000, 500)
    policy.onCrash(0)
    policy.onCrash(1_000)
    policy.onCrash(2_000)
    expect(policy.onCrash(70_000)).toBe(500)
  })
})
