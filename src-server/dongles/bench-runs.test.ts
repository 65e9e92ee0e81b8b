import { describe, expect, it } from 'vitest'
import { DongleError } from '../../hardware/dongle/programmer'
import { YubiKeyProgrammer } from '../../hardware/dongle/yubikey/driver'
import { SimulatedUsbBus, SimulatedYubiKey } from '../../hardware/sim/dongle/yubikey-sim'
import type { BenchStep } from './bench-flow'
import { provisionAndStore } from './bench-runs'
import type { SeedRecord } from './import-report'
import type { DongleInventory } from './inventory'

describe('provisionAndStore when the inventory refuses the token', () => {
  /** An inventory that has no seed for the key and cannot store it. */
  const refusing = (stored: SeedRecord[]) =>
    ({
      seedForBench: () => null,
      recordProgrammed: (seed: SeedRecord) => {
        stored.push(seed)
        throw new Error('the database is read-only')
      },
    }) as unknown as DongleInventory

  async function run(eraseFails: boolean) {
    const bus = new SimulatedUsbBus()
    const key = new SimulatedYubiKey({ serial: 7_100_001 })
    bus.plug(key)
    const programmer = new YubiKeyProgrammer({ bus, readTouch: async () => key.touch(1), pollMs: 1 })
    if (eraseFails)
      programmer.erase = () => Promise.reject(new DongleError('the key was pulled out', 'not-found'))
    const steps: (BenchStep | { step: 'stored' })[] = []
    const stored: SeedRecord[] = []
    await expect(
      provisionAndStore(
        programmer,
        { kind: 'hotp', algorithm: 'SHA1', digits: 6, counter: 0 },
        { inventory: refusing(stored), actor: 'test', onStep: (s) => steps.push(s) },
      ),
    ).rejects.toThrow(/read-only/)
    expect(stored[0].secret.every((b) => b === 0)).toBe(true)
    return { key, failed: steps.at(-1) }
  }

  it('erases the key and says so', async () => {
    const { key, failed } = await run(false)
    expect(key.slotState(1).configured).toBe(false)
    expect(failed).toEqual({
      step: 'failed',
      stage: 'store',
      reason: 'not stored: the database is read-only; the token was erased',
    })
  })

  it('reports an erase that failed too instead of claiming the token was erased', async () => {
    const { key, failed } = await run(true)
    expect(key.slotState(1).configured).toBe(true)
    expect(failed).toMatchObject({
      step: 'failed',
      stage: 'store',
      reason: expect.stringMatching(
        /^not stored: the database is read-only; erasing the token failed too \(the key was pulled out\)/,
      ),
    })
  })
})
