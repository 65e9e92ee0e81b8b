import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SimulatedUsbBus, SimulatedYubiKey } from '../../sim/dongle/yubikey-sim'
import { crc16X25 } from '../crc16'
import type { DongleEvent } from '../programmer'
import { YubiKeyProgrammer } from './driver'
import {
  SLOT_WRITE_FLAG,
  buildFrame,
  buildHotpConfig,
  frameReports,
  hasValidCrc,
  readHotpConfig,
  slotPayload,
} from './protocol'
import { systemUsbBus, type ControlSetup, type HidUsbDevice } from './usb-device'

const oathtoolHotp = (seed: Uint8Array, counter: number, digits: number) =>
  execFileSync(
    'oathtool',
    ['--hotp', '-d', String(digits), '-c', String(counter), Buffer.from(seed).toString('hex')],
    {
      encoding: 'utf8',
    },
  ).trim()

function rig(serial = 4_711_001) {
  const bus = new SimulatedUsbBus()
  const key = new SimulatedYubiKey({ serial })
  const programmer = new YubiKeyProgrammer({ bus, readTouch: async () => key.touch(1), pollMs: 1 })
  return { bus, key, programmer }
}

describe('YubiKey personalisation protocol', () => {
  it('uses the ISO 13239 CRC (X.25 check value 0x906e for "123456789")', () => {
    expect(crc16X25(Buffer.from('123456789'))).toBe(0x906e)
  })

  it('builds an OATH-HOTP config whose CRC leaves the residual and reads back the same settings', () => {
    const seed = randomBytes(20)
    const cfg = buildHotpConfig({ seed, digits: 8, counter: 32 })
    expect(cfg).toHaveLength(52)
    expect(hasValidCrc(cfg)).toBe(true)
    cfg[3] ^= 1
    expect(hasValidCrc(cfg)).toBe(false)
    cfg[3] ^= 1
    expect(readHotpConfig(cfg)).toMatchObject({ digits: 8, counter: 32, appendCr: true })
    expect(Buffer.from(readHotpConfig(cfg)!.seed)).toEqual(seed)
    expect(() => buildHotpConfig({ seed, digits: 6, counter: 5 })).toThrow(/multiple of 16/)
    expect(() => buildHotpConfig({ seed: randomBytes(16), digits: 6, counter: 0 })).toThrow(/20 bytes/)
  })

  it('splits a 70-byte frame into 7-byte chunks with the write flag and sequence, skipping zero chunks', () => {
    const reports = frameReports(
      buildFrame(1, slotPayload(buildHotpConfig({ seed: randomBytes(20), digits: 6, counter: 0 }))),
    )
    const seqs = reports.map((r) => r[7] & 0x1f)
    expect(reports.every((r) => r.length === 8 && (r[7] & SLOT_WRITE_FLAG) !== 0)).toBe(true)
    expect(seqs[0]).toBe(0)
    expect(seqs.at(-1)).toBe(9)
    const empty = frameReports(buildFrame(0x10, new Uint8Array(0)))
    expect(empty.map((r) => r[7] & 0x1f)).toEqual([0, 9])
  })
})

describe('YubiKey driver against the simulated key (below the usb package interface)', () => {
  it('detects the key and reads its serial and firmware', async () => {
    const { bus, key, programmer } = rig(1_234_567)
    bus.plug(key)
    const [device] = await programmer.devices()
    expect(device).toMatchObject({
      id: 'yubikey-1234567',
      serial: '1234567',
      firmware: '5.4.3',
      model: key.productName,
    })
    expect(key.opened).toBe(false)
  })

  it('programs an OATH-HOTP slot; touches then type the codes oathtool computes', async () => {
    const { bus, key, programmer } = rig()
    bus.plug(key)
    const [device] = await programmer.devices()
    for (const digits of [6, 8]) {
      const seed = randomBytes(20)
      await programmer.program(device.id, seed, { kind: 'hotp', algorithm: 'SHA1', digits, counter: 48 })
      expect(key.slotState(1)).toEqual({ configured: true, counter: 48 })
      expect(await programmer.readCode(device.id)).toBe(oathtoolHotp(seed, 48, digits))
      expect(await programmer.readCode(device.id)).toBe(oathtoolHotp(seed, 49, digits))
    }
  })

  it('announces hot-plug and removal', async () => {
    const { bus, key, programmer } = rig(99)
    const events: DongleEvent[] = []
    const stop = programmer.watch((e) => events.push(e))
    bus.plug(key)
    await new Promise((r) => setTimeout(r, 20))
    bus.unplug(key)
    stop()
    expect(events.map((e) => e.type)).toEqual(['attached', 'detached'])
    expect(events[0].type === 'attached' && events[0].device.serial).toBe('99')
  })

  it('erases the slot', async () => {
    const { bus, key, programmer } = rig()
    bus.plug(key)
    const [device] = await programmer.devices()
    await programmer.program(device.id, randomBytes(20), {
      kind: 'hotp',
      algorithm: 'SHA1',
      digits: 6,
      counter: 0,
    })
    await programmer.erase(device.id)
    expect(key.slotState(1).configured).toBe(false)
  })

  it('reports a configuration the key ignored (corrupted on the wire) as rejected', async () => {
    const bus = new SimulatedUsbBus()
    const key = new SimulatedYubiKey({ serial: 5 })
    let corrupt = false
    // A wire that flips one bit in the fifth chunk (seed bytes) of config frames: the key's frame CRC check drops the frame.
    const flaky: HidUsbDevice = {
      vendorId: key.vendorId,
      productId: key.productId,
      get opened() {
        return key.opened
      },
      open: () => key.open(),
      close: () => key.close(),
      claimInterface: (n) => key.claimInterface(n),
      releaseInterface: () => key.releaseInterface(),
      detachKernelDriver: () => key.detachKernelDriver(),
      attachKernelDriver: () => key.attachKernelDriver(),
      controlTransferIn: (setup, length) => key.controlTransferIn(setup, length),
      controlTransferOut: (setup: ControlSetup, data?: Uint8Array) => {
        const copy = data && Uint8Array.from(data)
        if (corrupt && copy && (copy[7] & 0x1f) === 4) copy[0] ^= 1
        return key.controlTransferOut(setup, copy)
      },
    }
    bus.plug(flaky)
    const programmer = new YubiKeyProgrammer({ bus, pollMs: 1 })
    const [device] = await programmer.devices()
    corrupt = true
    await expect(
      programmer.program(device.id, randomBytes(20), {
        kind: 'hotp',
        algorithm: 'SHA1',
        digits: 6,
        counter: 0,
      }),
    ).rejects.toMatchObject({ code: 'rejected' })
    expect(key.slotState(1).configured).toBe(false)
  })

  it('refuses what a YubiKey OTP slot cannot do before touching the key', async () => {
    const { bus, key, programmer } = rig()
    bus.plug(key)
    const [device] = await programmer.devices()
    const seed = randomBytes(20)
    await expect(
      programmer.program(device.id, seed, { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 }),
    ).rejects.toMatchObject({ code: 'unsupported' })
    await expect(
      programmer.program(device.id, seed, { kind: 'hotp', algorithm: 'SHA256', digits: 6, counter: 0 }),
    ).rejects.toMatchObject({ code: 'unsupported' })
    await expect(
      programmer.program(device.id, seed, { kind: 'hotp', algorithm: 'SHA1', digits: 6, counter: 7 }),
    ).rejects.toMatchObject({ code: 'unsupported' })
    await expect(
      programmer.program('yubikey-0', seed, { kind: 'hotp', algorithm: 'SHA1', digits: 6, counter: 0 }),
    ).rejects.toMatchObject({ code: 'not-found' })
    expect(key.log.filter((l) => l.command !== 0x10)).toEqual([]) // nothing but serial-number reads
  })
})

describe('the real usb package', () => {
  it('loads as the bus and lists keys, or reports the bus as unavailable (no /sys/bus/usb in containers)', async () => {
    const programmer = new YubiKeyProgrammer({ bus: await systemUsbBus() })
    const outcome = await programmer.devices().then(
      (devices) => ({ devices }),
      (err: unknown) => ({ err }),
    )
    if ('devices' in outcome) expect(Array.isArray(outcome.devices)).toBe(true)
    else expect(outcome.err).toMatchObject({ name: 'DongleError', code: 'transport' })
  })
})
