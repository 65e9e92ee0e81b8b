import {
  DongleError,
  assertSupported,
  type DongleDevice,
  type DongleEvent,
  type DongleProgrammer,
  type OathSlotParams,
} from '../programmer'
import {
  DUMMY_REPORT_WRITE,
  FEATURE_REPORT_SIZE,
  HID_GET_REPORT,
  HID_SET_REPORT,
  REPORT_TYPE_FEATURE,
  RESP_PENDING_FLAG,
  RESP_SEQUENCE_MASK,
  SLOT_CONFIG,
  SLOT_CONFIG2,
  SLOT_DEVICE_SERIAL,
  SLOT_WRITE_FLAG,
  YUBICO_VENDOR_ID,
  YUBIKEY_OTP_PRODUCT_IDS,
  buildFrame,
  buildHotpConfig,
  frameReports,
  hasValidCrc,
  parseStatus,
  slotPayload,
  type KeyStatus,
} from './protocol'
import type { ControlSetup, HidUsbDevice, UsbBus, UsbConnectionEventLike } from './usb-device'

export interface YubiKeyProgrammerOptions {
  bus: UsbBus
  /** Which OTP slot to program: 1 (short touch) or 2 (long touch). */
  slot?: 1 | 2
  /**
   * A YubiKey types its OATH code as a USB keyboard when touched; it cannot be read over HID. This returns what
   * the key typed (from the bench console's input field, or the simulator).
   */
  readTouch?: (device: DongleDevice) => Promise<string>
  /** The access code protecting the slot now, if any (needed to overwrite or erase it). */
  accessCode?: Uint8Array
  /** How long to wait for the key to finish a write or produce a response. */
  timeoutMs?: number
  pollMs?: number
}

const OTP_INTERFACE = 0
const SUPPORTS: DongleDevice['supports'] = { kinds: ['hotp'], algorithms: ['SHA1'], digits: [6, 8] }

/** Programs OATH-HOTP into a YubiKey's OTP slot over USB HID feature reports. */
export class YubiKeyProgrammer implements DongleProgrammer {
  readonly driver = 'yubikey'
  private readonly attached = new Map<HidUsbDevice, DongleDevice>()
  private readonly digitsById = new Map<string, number>()
  private queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly options: YubiKeyProgrammerOptions) {}

  async devices(): Promise<DongleDevice[]> {
    const found: DongleDevice[] = []
    let all: HidUsbDevice[]
    try {
      all = await this.options.bus.getDevices()
    } catch (err) {
      throw new DongleError(`cannot list USB devices: ${(err as Error).message}`, 'transport', { cause: err })
    }
    for (const usb of all) {
      if (isYubiKeyOtp(usb)) found.push(await this.identify(usb))
    }
    return found
  }

  watch(listener: (event: DongleEvent) => void): () => void {
    const onConnect = ({ device }: UsbConnectionEventLike) => {
      if (!isYubiKeyOtp(device)) return
      // A key that cannot be identified (unplugged again at once, busy) is not announced.
      this.identify(device).then(
        (d) => listener({ type: 'attached', device: d }),
        () => undefined,
      )
    }
    const onDisconnect = ({ device }: UsbConnectionEventLike) => {
      const known = this.attached.get(device)
      if (!known) return
      this.attached.delete(device)
      listener({ type: 'detached', id: known.id })
    }
    this.options.bus.addEventListener('connect', onConnect)
    this.options.bus.addEventListener('disconnect', onDisconnect)
    return () => {
      this.options.bus.removeEventListener('connect', onConnect)
      this.options.bus.removeEventListener('disconnect', onDisconnect)
    }
  }

  async info(id: string): Promise<DongleDevice> {
    return this.identify(await this.find(id))
  }

  async program(id: string, seed: Uint8Array, params: OathSlotParams): Promise<void> {
    const usb = await this.find(id)
    const device = this.attached.get(usb)!
    assertSupported(device, seed, params)
    if (params.kind !== 'hotp') throw new DongleError('a YubiKey OTP slot does only HOTP', 'unsupported')
    if (seed.length !== 20)
      throw new DongleError('a YubiKey OATH-HOTP seed has exactly 20 bytes', 'unsupported')
    let config: Uint8Array
    try {
      config = buildHotpConfig({ seed, digits: params.digits as 6 | 8, counter: params.counter })
    } catch (err) {
      throw new DongleError((err as Error).message, 'unsupported')
    }
    await this.writeSlot(usb, config)
    this.digitsById.set(id, params.digits)
  }

  async erase(id: string): Promise<void> {
    await this.writeSlot(await this.find(id), null)
    this.digitsById.delete(id)
  }

  async readCode(id: string): Promise<string> {
    const device = this.attached.get(await this.find(id))!
    if (!this.options.readTouch) {
      throw new DongleError(
        'a YubiKey types its code on touch: the driver needs a readTouch source',
        'unsupported',
      )
    }
    const typed = (await this.options.readTouch(device)).replace(/[\r\n]+$/, '')
    const digits = this.digitsById.get(id)
    const code = digits ? typed.slice(-digits) : (/\d{6,8}$/.exec(typed)?.[0] ?? '')
    if (!/^\d{6,8}$/.test(code)) throw new DongleError('the key did not type an OATH code', 'protocol')
    return code
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined)
    this.attached.clear()
  }

  private async find(id: string): Promise<HidUsbDevice> {
    for (const [usb, device] of this.attached) if (device.id === id) return usb
    await this.devices()
    for (const [usb, device] of this.attached) if (device.id === id) return usb
    throw new DongleError(`no YubiKey ${id} attached`, 'not-found')
  }

  private identify(usb: HidUsbDevice): Promise<DongleDevice> {
    return this.session(usb, async (io) => {
      const status = await io.status()
      const serial = await io.serial()
      const device: DongleDevice = {
        id: `yubikey-${serial}`,
        serial: String(serial),
        model: usb.productName || 'YubiKey',
        firmware: status.version,
        supports: SUPPORTS,
      }
      this.attached.set(usb, device)
      return device
    })
  }

  private writeSlot(usb: HidUsbDevice, config: Uint8Array | null): Promise<void> {
    const command = (this.options.slot ?? 1) === 1 ? SLOT_CONFIG : SLOT_CONFIG2
    return this.session(usb, async (io) => {
      const before = (await io.status()).pgmSeq
      await io.writeFrame(command, slotPayload(config, this.options.accessCode))
      const after = (await io.status()).pgmSeq
      // The key bumps its programming sequence for an accepted config (skipping 0 on wrap) and drops it to 0 once
      // no slot is configured; anything else means it ignored the frame (access code, bad CRC, slot locked).
      const accepted = after === ((before + 1) & 0xff || 1) || (config === null && after === 0)
      if (!accepted) throw new DongleError('the YubiKey did not accept the configuration', 'rejected')
    })
  }

  /** Runs one exchange with exclusive use of the OTP interface, one device operation at a time. */
  private session<T>(usb: HidUsbDevice, work: (io: KeyIo) => Promise<T>): Promise<T> {
    const run = async () => {
      await usb.open()
      try {
        await usb.detachKernelDriver?.(OTP_INTERFACE).catch(() => undefined)
        await usb.claimInterface(OTP_INTERFACE)
        try {
          return await work(new KeyIo(usb, this.options.timeoutMs ?? 1500, this.options.pollMs ?? 5))
        } finally {
          await usb.releaseInterface(OTP_INTERFACE).catch(() => undefined)
          // Give the keyboard back, or touches would not type anything.
          await usb.attachKernelDriver?.(OTP_INTERFACE).catch(() => undefined)
        }
      } finally {
        await usb.close().catch(() => undefined)
      }
    }
    const result = this.queue.then(run, run)
    this.queue = result.catch(() => undefined)
    return result
  }
}

function isYubiKeyOtp(usb: HidUsbDevice): boolean {
  return usb.vendorId === YUBICO_VENDOR_ID && YUBIKEY_OTP_PRODUCT_IDS.has(usb.productId)
}

const FEATURE_SETUP = (request: number): ControlSetup => ({
  requestType: 'class',
  recipient: 'interface',
  request,
  value: REPORT_TYPE_FEATURE << 8,
  index: OTP_INTERFACE,
})

/** Feature-report exchanges with one opened key. */
class KeyIo {
  constructor(
    private readonly usb: HidUsbDevice,
    private readonly timeoutMs: number,
    private readonly pollMs: number,
  ) {}

  async readReport(): Promise<Uint8Array> {
    const result = await this.usb.controlTransferIn(FEATURE_SETUP(HID_GET_REPORT), FEATURE_REPORT_SIZE)
    const data = result.data
    if (result.status !== 'ok' || !data || data.byteLength !== FEATURE_REPORT_SIZE) {
      throw new DongleError(`feature report read failed (${result.status})`, 'protocol')
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
  }

  async writeReport(report: Uint8Array): Promise<void> {
    const result = await this.usb.controlTransferOut(FEATURE_SETUP(HID_SET_REPORT), report)
    if (result.status !== 'ok' || result.bytesWritten !== FEATURE_REPORT_SIZE) {
      throw new DongleError(`feature report write failed (${result.status})`, 'protocol')
    }
  }

  async status(): Promise<KeyStatus> {
    return parseStatus(await this.readReport())
  }

  /**
   * Writes a frame chunk by chunk, each only once the key has taken the previous one. Returns the report read
   * once the key is done: for a command with a response, that already is the first response chunk (every read
   * in response mode advances the key's sequence, so it must not be thrown away).
   */
  async writeFrame(slot: number, payload: Uint8Array): Promise<Uint8Array> {
    for (const report of frameReports(buildFrame(slot, payload))) {
      await this.waitFor((flags) => (flags & SLOT_WRITE_FLAG) === 0)
      await this.writeReport(report)
    }
    return this.waitFor((flags) => (flags & SLOT_WRITE_FLAG) === 0)
  }

  /** The key's serial number (4 bytes, big-endian), read as a CRC-protected response. */
  async serial(): Promise<number> {
    const first = await this.writeFrame(SLOT_DEVICE_SERIAL, new Uint8Array(0))
    const response = await this.readResponse(first, 4 + 2)
    if (!hasValidCrc(response))
      throw new DongleError('serial number response failed its CRC check', 'protocol')
    return new DataView(response.buffer, response.byteOffset).getUint32(0)
  }

  private async readResponse(first: Uint8Array, length: number): Promise<Uint8Array> {
    const out: number[] = []
    let report =
      first[7] & RESP_PENDING_FLAG ? first : await this.waitFor((flags) => (flags & RESP_PENDING_FLAG) !== 0)
    try {
      for (;;) {
        out.push(...report.subarray(0, 7))
        if (out.length >= length) return Uint8Array.from(out.slice(0, length))
        report = await this.readReport()
        const flags = report[7]
        if (!(flags & RESP_PENDING_FLAG) || (flags & RESP_SEQUENCE_MASK) === 0) {
          throw new DongleError('the key ended its response early', 'protocol')
        }
      }
    } finally {
      // Leave response mode whatever happened, or the key keeps answering with response data.
      const reset = new Uint8Array(FEATURE_REPORT_SIZE)
      reset[7] = DUMMY_REPORT_WRITE
      await this.writeReport(reset)
    }
  }

  private async waitFor(ready: (flags: number) => boolean): Promise<Uint8Array> {
    const deadline = Date.now() + this.timeoutMs
    for (;;) {
      const report = await this.readReport()
      if (ready(report[7])) return report
      if (Date.now() > deadline) throw new DongleError('the YubiKey did not answer in time', 'timeout')
      await new Promise((r) => setTimeout(r, this.pollMs))
    }
  }
}
