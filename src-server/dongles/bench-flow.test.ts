import { randomBytes } from 'node:crypto'
import { Duplex } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { DongleError, type DongleProgrammer } from '../../hardware/dongle/programmer'
import { SerialProgrammer } from '../../hardware/dongle/serial/driver'
import { CMD, REPLY_FLAG } from '../../hardware/dongle/serial/protocol'
import { YubiKeyProgrammer } from '../../hardware/dongle/yubikey/driver'
import { openTransport, type Transport } from '../../hardware/serial/transport'
import { SerialProgrammerSim } from '../../hardware/sim/dongle/serial-programmer-sim'
import { SimulatedUsbBus, SimulatedYubiKey } from '../../hardware/sim/dongle/yubikey-sim'
import { openPtyPair, type PtyPair } from '../../test/helpers/pty'
import { hotp } from '../otp/oath'
import { verifyCode } from '../otp/token'
import { runBenchFlow, type BenchStep } from './bench-flow'

const stepsOf = (events: BenchStep[]) => events.map((e) => e.step)

/** A programmer that keeps the seeds it was given (to see them zeroed) and counts erases; `erase` may fail. */
function watched(programmer: DongleProgrammer, options: { eraseFails?: boolean } = {}) {
  const seen = { seeds: [] as Uint8Array[], erases: 0 }
  const wrapped: DongleProgrammer = {
    driver: programmer.driver,
    devices: () => programmer.devices(),
    watch: (listener) => programmer.watch(listener),
    info: (id) => programmer.info(id),
    program: (id, seed, params) => {
      seen.seeds.push(seed)
      return programmer.program(id, seed, params)
    },
    readCode: (id) => programmer.readCode(id),
    erase: (id) => {
      seen.erases++
      return options.eraseFails
        ? Promise.reject(new DongleError('the key did not answer', 'timeout'))
        : programmer.erase(id)
    },
    close: () => programmer.close(),
  }
  return { programmer: wrapped, seen }
}

const zeroed = (seed: Uint8Array) => seed.every((b) => b === 0)

describe('bench flow against the simulated YubiKey', () => {
  it('waits for the plug-in, programs a generated seed, verifies the first touch and prints a label', async () => {
    const bus = new SimulatedUsbBus()
    const key = new SimulatedYubiKey({ serial: 7_000_123 })
    const programmer = new YubiKeyProgrammer({ bus, readTouch: async () => key.touch(1), pollMs: 1 })
    const events: BenchStep[] = []
    const flow = runBenchFlow(
      { kind: 'hotp', algorithm: 'SHA1', digits: 6, counter: 0 },
      { programmer, onStep: (e) => events.push(e), timeoutMs: 5000 },
    )
    setTimeout(() => bus.plug(key), 20)
    const result = await flow
    expect(stepsOf(events)).toEqual(['waiting', 'detected', 'seed', 'programmed', 'verified', 'labelled'])
    expect(result.device.serial).toBe('7000123')
    expect(result.seed).toMatchObject({ serial: '7000123', kind: 'hotp', digits: 6, counter: 1 })
    expect(result.seed.secret).toHaveLength(20)
    expect(result.label.subarray(0, 5).toString()).toBe('%PDF-')
    // The stored state continues where the device is: its next touch verifies, the first does not again.
    const token = { kind: 'hotp' as const, secret: result.seed.secret, algorithm: 'SHA1' as const, digits: 6 }
    expect(verifyCode(token, result.state, key.touch(1).trim(), Date.now()).accepted).toBe(true)
    expect(JSON.stringify(events)).not.toContain(result.seed.secret.toString('hex'))
  })

  it('erases the key and reports the verify step when the first code is wrong', async () => {
    const bus = new SimulatedUsbBus()
    const key = new SimulatedYubiKey({ serial: 7_000_124 })
    bus.plug(key)
    const programmer = new YubiKeyProgrammer({ bus, readTouch: async () => '000000\r', pollMs: 1 })
    const events: BenchStep[] = []
    const seed = randomBytes(20)
    // Make sure "000000" is not by chance the right code.
    if (hotp(seed, 0, { algorithm: 'SHA1', digits: 6 }) === '000000') seed[0] ^= 1
    const inventory = {
      serial: '7000124',
      kind: 'hotp' as const,
      secret: seed,
      algorithm: 'SHA1' as const,
      digits: 6,
      counter: 0,
      period: 30,
    }
    await expect(
      runBenchFlow(
        { kind: 'hotp', algorithm: 'SHA1', digits: 6, counter: 0 },
        { programmer, onStep: (e) => events.push(e), inventorySeed: async () => inventory },
      ),
    ).rejects.toMatchObject({ stage: 'verify' })
    expect(events.at(-1)).toMatchObject({ step: 'failed', stage: 'verify' })
    expect(events.find((e) => e.step === 'seed')).toEqual({ step: 'seed', source: 'inventory' })
    expect(key.slotState(1).configured).toBe(false)
    expect(inventory.secret.equals(seed)).toBe(true) // the inventory's record is untouched
  })

  it('erases the key and zeroes the seed when the label cannot be made after a good verification', async () => {
    const bus = new SimulatedUsbBus()
    const key = new SimulatedYubiKey({ serial: 7_000_125 })
    bus.plug(key)
    const { programmer, seen } = watched(
      new YubiKeyProgrammer({ bus, readTouch: async () => key.touch(1), pollMs: 1 }),
    )
    const events: BenchStep[] = []
    await expect(
      runBenchFlow(
        { kind: 'hotp', algorithm: 'SHA1', digits: 6, counter: 0 },
        {
          programmer,
          onStep: (e) => events.push(e),
          renderLabel: () => Promise.reject(new Error('the label printer is out of paper')),
        },
      ),
    ).rejects.toMatchObject({
      stage: 'label',
      message: expect.stringMatching(/out of paper; the token was erased/),
    })
    expect(stepsOf(events)).toEqual(['waiting', 'detected', 'seed', 'programmed', 'verified', 'failed'])
    expect(key.slotState(1).configured).toBe(false)
    expect(seen.seeds).toHaveLength(1)
    expect(zeroed(seen.seeds[0])).toBe(true)
  })

  it('reports an erase that failed too, so the operator keeps the token on the bench', async () => {
    const bus = new SimulatedUsbBus()
    const key = new SimulatedYubiKey({ serial: 7_000_126 })
    bus.plug(key)
    const { programmer, seen } = watched(
      new YubiKeyProgrammer({ bus, readTouch: async () => key.touch(1), pollMs: 1 }),
      { eraseFails: true },
    )
    const events: BenchStep[] = []
    await expect(
      runBenchFlow(
        { kind: 'hotp', algorithm: 'SHA1', digits: 6, counter: 0 },
        {
          programmer,
          onStep: (e) => events.push(e),
          renderLabel: () => Promise.reject(new Error('no paper')),
        },
      ),
    ).rejects.toMatchObject({ stage: 'label' })
    expect(seen.erases).toBe(1)
    expect(events.at(-1)).toMatchObject({
      step: 'failed',
      stage: 'label',
      reason: expect.stringMatching(/^no paper; erasing the token failed too \(the key did not answer\)/),
    })
    expect(zeroed(seen.seeds[0])).toBe(true)
  })

  it('does not erase a key that refused the parameters before anything was written', async () => {
    const bus = new SimulatedUsbBus()
    bus.plug(new SimulatedYubiKey({ serial: 7_000_127 }))
    const { programmer, seen } = watched(new YubiKeyProgrammer({ bus, pollMs: 1 }))
    await expect(
      runBenchFlow({ kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 }, { programmer }),
    ).rejects.toMatchObject({ stage: 'program' })
    expect(seen.erases).toBe(0)
    expect(zeroed(seen.seeds[0])).toBe(true)
  })

  it('gives up waiting with a detect failure', async () => {
    const programmer = new YubiKeyProgrammer({ bus: new SimulatedUsbBus() })
    const events: BenchStep[] = []
    await expect(
      runBenchFlow(
        { kind: 'hotp', algorithm: 'SHA1', digits: 6, counter: 0 },
        { programmer, timeoutMs: 50, onStep: (e) => events.push(e) },
      ),
    ).rejects.toMatchObject({ stage: 'detect' })
    expect(stepsOf(events)).toEqual(['waiting', 'failed'])
  })
})

describe('bench flow against the serial programmer simulator over a pty', () => {
  let pty: PtyPair
  let simSide: Transport
  let programmer: SerialProgrammer
  let sim: SerialProgrammerSim

  afterEach(async () => {
    sim?.detach()
    await programmer?.close()
    await simSide?.close()
    await pty?.close()
  })

  it('provisions an inserted TOTP token from an inventory seed and verifies its first code', async () => {
    pty = await openPtyPair()
    simSide = await openTransport(pty.b)
    const now = 1_700_000_123_000
    sim = new SerialProgrammerSim(simSide.stream, { now: () => now })
    programmer = new SerialProgrammer(await openTransport(pty.a))
    const secret = randomBytes(32)
    const events: BenchStep[] = []
    const flow = runBenchFlow(
      { kind: 'hotp', algorithm: 'SHA1', digits: 6, counter: 0 },
      {
        programmer,
        now: () => now,
        onStep: (e) => events.push(e),
        inventorySeed: async (device) => ({
          serial: device.serial,
          kind: 'totp',
          secret,
          algorithm: 'SHA256',
          digits: 8,
          counter: 0,
          period: 30,
          manufacturer: 'Acme',
        }),
      },
    )
    setTimeout(() => sim.insert({ serial: 'TP-000777', model: 'Acme c200' }), 50)
    const result = await flow
    expect(stepsOf(events)).toEqual(['waiting', 'detected', 'seed', 'programmed', 'verified', 'labelled'])
    expect(result.seed).toMatchObject({ serial: 'TP-000777', kind: 'totp', algorithm: 'SHA256', digits: 8 })
    expect(result.state.lastTimeStep).toBe(Math.floor(now / 1000 / 30))
    expect(sim.tokenInCradle?.config?.hash).toBe('SHA256')
  })

  it('erases a token whose serial cannot go on a label (label step), leaving it blank', async () => {
    pty = await openPtyPair()
    simSide = await openTransport(pty.b)
    sim = new SerialProgrammerSim(simSide.stream)
    sim.insert({ serial: 'X'.repeat(65) }) // renderTokenLabel takes 1 to 64 characters
    programmer = new SerialProgrammer(await openTransport(pty.a))
    const events: BenchStep[] = []
    await expect(
      runBenchFlow(
        { kind: 'hotp', algorithm: 'SHA1', digits: 6, counter: 0 },
        { programmer, onStep: (e) => events.push(e) },
      ),
    ).rejects.toMatchObject({ stage: 'label' })
    expect(stepsOf(events)).toEqual(['waiting', 'detected', 'seed', 'programmed', 'verified', 'failed'])
    expect(sim.tokenInCradle?.config).toBeUndefined()
  })

  it('leaves alone a token that already holds a seed (nothing written, nothing erased)', async () => {
    pty = await openPtyPair()
    simSide = await openTransport(pty.b)
    sim = new SerialProgrammerSim(simSide.stream)
    const theirs = {
      seed: new Uint8Array(20).fill(7),
      kind: 'hotp',
      hash: 'SHA1',
      digits: 6,
      counter: 3,
    } as const
    sim.insert({ serial: 'TP-000779', config: { ...theirs, period: 30 } })
    programmer = new SerialProgrammer(await openTransport(pty.a))
    await expect(
      runBenchFlow({ kind: 'hotp', algorithm: 'SHA1', digits: 6, counter: 0 }, { programmer }),
    ).rejects.toMatchObject({ stage: 'program' })
    expect(sim.tokenInCradle?.config?.seed).toEqual(theirs.seed)
  })

  it('programs a generated HOTP seed into a token already in the cradle', async () => {
    pty = await openPtyPair()
    simSide = await openTransport(pty.b)
    sim = new SerialProgrammerSim(simSide.stream)
    sim.insert({ serial: 'TP-000778' })
    programmer = new SerialProgrammer(await openTransport(pty.a))
    const result = await runBenchFlow(
      { kind: 'hotp', algorithm: 'SHA512', digits: 8, counter: 100 },
      { programmer },
    )
    expect(result.seed).toMatchObject({ kind: 'hotp', algorithm: 'SHA512', counter: 101 })
    expect(result.seed.secret).toHaveLength(64)
    expect(sim.tokenInCradle?.config?.counter).toBe(101)
  })
})

describe('bench flow when the reply to PROGRAM is lost', () => {
  it('erases the token, which may hold the seed, and zeroes the seed', async () => {
    // An in-memory cable that loses every PROGRAM reply: the programmer wrote the seed, the host never hears so.
    const host: Duplex = new Duplex({
      read() {},
      write(chunk: Uint8Array, _enc, done) {
        device.push(chunk)
        done()
      },
    })
    const device: Duplex = new Duplex({
      read() {},
      write(chunk: Uint8Array, _enc, done) {
        if (chunk[3] !== (CMD.PROGRAM | REPLY_FLAG)) host.push(chunk)
        done()
      },
    })
    const sim = new SerialProgrammerSim(device)
    sim.insert({ serial: 'LOST01' })
    const { programmer, seen } = watched(
      new SerialProgrammer(
        { url: 'mem', stream: host, failure: undefined, close: async () => undefined },
        { timeoutMs: 50 },
      ),
    )
    const events: BenchStep[] = []
    await expect(
      runBenchFlow(
        { kind: 'hotp', algorithm: 'SHA1', digits: 6, counter: 0 },
        { programmer, onStep: (e) => events.push(e) },
      ),
    ).rejects.toMatchObject({ stage: 'program', message: expect.stringMatching(/the token was erased$/) })
    expect(events.at(-1)).toMatchObject({ step: 'failed', stage: 'program' })
    expect(sim.tokenInCradle?.config).toBeUndefined()
    expect(zeroed(seen.seeds[0])).toBe(true)
    sim.detach()
    await programmer.close()
  })
})
