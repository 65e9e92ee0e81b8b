import { hotp as otplibHotp } from 'otplib'
import { HashAlgorithms, KeyEncodings } from 'otplib/core'
import {
  ACC_CODE_SIZE,
  CHUNK_SIZE,
  CONFIG_SIZE,
  DUMMY_REPORT_WRITE,
  FEATURE_REPORT_SIZE,
  FRAME_SIZE,
  HID_GET_REPORT,
  HID_SET_REPORT,
  REPORT_TYPE_FEATURE,
  RESP_PENDING_FLAG,
  SLOT_CONFIG,
  SLOT_CONFIG2,
  SLOT_DEVICE_SERIAL,
  SLOT_WRITE_FLAG,
  YUBICO_VENDOR_ID,
  frameCrcMatches,
  hasValidCrc,
  readHotpConfig,
  withResponseCrc,
} from '../../dongle/yubikey/protocol'
import type {
  ControlSetup,
  HidUsbDevice,
  UsbBus,
  UsbConnectionEventLike,
} from '../../dongle/yubikey/usb-device'

interface Slot {
  config: Uint8Array
  counter: number
}

export interface SimulatedYubiKeyOptions {
  serial: number
  productId?: number
  productName?: string
  version?: [number, number, number]
}

/**
 * A YubiKey as the usb package shows it: a device object with open/claimInterface/controlTransferIn/Out. Behind
 * that it runs the key's side of the personalisation protocol: it assembles feature-report chunks into frames,
 * checks the frame CRC, the config CRC and the slot's access code, stores OATH-HOTP slot configs, answers the
 * serial-number command, and on a "touch" types the slot's next HOTP code the way the real key does (digits then
 * Enter), computed with otplib so the driver and the OATH engine are checked against a second implementation.
 */
export class SimulatedYubiKey implements HidUsbDevice {
  readonly vendorId = YUBICO_VENDOR_ID
  readonly productId: number
  readonly productName: string
  opened = false
  private claimed = false
  private kernelDriverAttached = true
  private readonly slots: (Slot | null)[] = [null, null]
  private pgmSeq = 0
  private readonly frame = new Uint8Array(FRAME_SIZE)
  private lastSeq = -1
  private response: Uint8Array | null = null
  private responseIndex = 0
  /** Frames seen, by outcome: for tests of the driver's behaviour. */
  readonly log: { command: number; accepted: boolean }[] = []

  constructor(private readonly options: SimulatedYubiKeyOptions) {
    this.productId = options.productId ?? 0x0407
    this.productName = options.productName ?? 'YubiKey OTP+FIDO+CCID'
  }

  async open(): Promise<void> {
    this.opened = true
  }

  async close(): Promise<void> {
    this.opened = false
    this.claimed = false
  }

  async detachKernelDriver(): Promise<void> {
    this.kernelDriverAttached = false
  }

  async attachKernelDriver(): Promise<void> {
    this.kernelDriverAttached = true
  }

  async claimInterface(n: number): Promise<void> {
    if (!this.opened) throw new Error('LIBUSB_ERROR_NO_DEVICE: device not opened')
    // On Linux usbhid owns the keyboard interface; claiming it without detaching fails like libusb does.
    if (this.kernelDriverAttached)
      throw new Error('LIBUSB_ERROR_BUSY: interface claimed by the kernel driver')
    if (n !== 0) throw new Error('LIBUSB_ERROR_NOT_FOUND: no such interface')
    this.claimed = true
  }

  async releaseInterface(): Promise<void> {
    this.claimed = false
  }

  async controlTransferIn(setup: ControlSetup, length: number): Promise<{ data?: DataView; status: string }> {
    if (!this.isFeatureRequest(setup, HID_GET_REPORT) || length !== FEATURE_REPORT_SIZE)
      return { status: 'stall' }
    const report = this.response ? this.responseReport() : this.statusReport()
    return { data: new DataView(report.buffer), status: 'ok' }
  }

  async controlTransferOut(
    setup: ControlSetup,
    data?: Uint8Array,
  ): Promise<{ bytesWritten: number; status: string }> {
    if (!this.isFeatureRequest(setup, HID_SET_REPORT) || !data || data.length !== FEATURE_REPORT_SIZE) {
      return { bytesWritten: 0, status: 'stall' }
    }
    this.receive(Uint8Array.from(data))
    return { bytesWritten: FEATURE_REPORT_SIZE, status: 'ok' }
  }

  /** The user touches the key: it types the configured slot's next code and Enter (slot 1 short, 2 long touch). */
  touch(slot: 1 | 2 = 1): string {
    const s = this.slots[slot - 1]
    const config = s && readHotpConfig(s.config)
    if (!s || !config) return ''
    const generator = otplibHotp.clone({
      encoding: KeyEncodings.HEX,
      algorithm: HashAlgorithms.SHA1,
      digits: config.digits,
    })
    const code = generator.generate(Buffer.from(config.seed).toString('hex'), s.counter++)
    return code + (config.appendCr ? '\r' : '')
  }

  /** Test hook: is the slot configured, and with what counter. */
  slotState(slot: 1 | 2): { configured: boolean; counter: number } {
    const s = this.slots[slot - 1]
    return { configured: s !== null, counter: s?.counter ?? 0 }
  }

  private isFeatureRequest(setup: ControlSetup, request: number): boolean {
    return (
      this.claimed &&
      setup.requestType === 'class' &&
      setup.recipient === 'interface' &&
      setup.request === request &&
      setup.value === REPORT_TYPE_FEATURE << 8 &&
      setup.index === 0
    )
  }

  private statusReport(): Uint8Array {
    const [major, minor, build] = this.options.version ?? [5, 4, 3]
    return Uint8Array.from([0, major, minor, build, this.pgmSeq, 0, 0, 0])
  }

  private responseReport(): Uint8Array {
    const response = this.response!
    const chunks = Math.ceil(response.length / CHUNK_SIZE)
    const report = new Uint8Array(FEATURE_REPORT_SIZE)
    // After the last chunk the sequence number wraps to 0 while still pending: the end-of-response marker.
    const index = this.responseIndex < chunks ? this.responseIndex : 0
    if (this.responseIndex < chunks)
      report.set(response.subarray(index * CHUNK_SIZE, (index + 1) * CHUNK_SIZE))
    report[7] = RESP_PENDING_FLAG | index
    this.responseIndex++
    return report
  }

  private receive(report: Uint8Array): void {
    const status = report[7]
    if (status === DUMMY_REPORT_WRITE) {
      this.response = null
      return
    }
    if (!(status & SLOT_WRITE_FLAG)) return
    const seq = status & 0x1f
    if (seq === 0) {
      this.frame.fill(0)
      this.response = null
    } else if (seq <= this.lastSeq || this.lastSeq < 0) {
      this.lastSeq = -1 // out of order: drop the frame, like the key's firmware
      return
    }
    this.frame.set(report.subarray(0, CHUNK_SIZE), seq * CHUNK_SIZE)
    this.lastSeq = seq
    if (seq === FRAME_SIZE / CHUNK_SIZE - 1) {
      this.lastSeq = -1
      this.execute()
    }
  }

  private execute(): void {
    const command = this.frame[64]
    let accepted = false
    if (frameCrcMatches(this.frame)) {
      if (command === SLOT_CONFIG || command === SLOT_CONFIG2)
        accepted = this.configure(command === SLOT_CONFIG ? 0 : 1)
      else if (command === SLOT_DEVICE_SERIAL) {
        const serial = new Uint8Array(4)
        new DataView(serial.buffer).setUint32(0, this.options.serial)
        this.response = withResponseCrc(serial)
        this.responseIndex = 0
        accepted = true
      }
    }
    this.log.push({ command, accepted })
  }

  private configure(index: number): boolean {
    const config = this.frame.slice(0, CONFIG_SIZE)
    const givenAccessCode = this.frame.subarray(CONFIG_SIZE, CONFIG_SIZE + ACC_CODE_SIZE)
    const current = this.slots[index]
    const required = current ? readHotpConfig(current.config)?.accessCode : undefined
    if (required && !required.every((b, i) => b === givenAccessCode[i])) return false
    if (config.every((b) => b === 0)) {
      this.slots[index] = null
    } else {
      if (!hasValidCrc(config)) return false
      const hotp = readHotpConfig(config)
      this.slots[index] = { config, counter: hotp?.counter ?? 0 }
    }
    this.pgmSeq = this.slots.some((s) => s !== null) ? (this.pgmSeq + 1) & 0xff || 1 : 0
    return true
  }
}

/** A USB bus with simulated keys that can be plugged in and pulled out, as the usb package's WebUSB object. */
export class SimulatedUsbBus implements UsbBus {
  private readonly present = new Set<HidUsbDevice>()
  private readonly listeners = { connect: new Set<Listener>(), disconnect: new Set<Listener>() }

  async getDevices(): Promise<HidUsbDevice[]> {
    return [...this.present]
  }

  addEventListener(type: 'connect' | 'disconnect', listener: Listener): void {
    this.listeners[type].add(listener)
  }

  removeEventListener(type: 'connect' | 'disconnect', listener: Listener): void {
    this.listeners[type].delete(listener)
  }

  plug(device: HidUsbDevice): void {
    this.present.add(device)
    for (const l of this.listeners.connect) l({ device })
  }

  unplug(device: HidUsbDevice): void {
    this.present.delete(device)
    for (const l of this.listeners.disconnect) l({ device })
  }
}

type Listener = (event: UsbConnectionEventLike) => void
