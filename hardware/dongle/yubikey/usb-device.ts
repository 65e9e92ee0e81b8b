/**
 * The slice of the `usb` package's WebUSB API (`UsbDevice`, `WebUSB`) the YubiKey driver calls. The driver
 * depends on this interface only, so the simulator can stand in for a real key right below the usb package.
 */
export interface ControlSetup {
  requestType: 'standard' | 'class' | 'vendor'
  recipient: 'device' | 'interface' | 'endpoint' | 'other'
  request: number
  value: number
  index: number
}

export interface HidUsbDevice {
  readonly vendorId: number
  readonly productId: number
  readonly productName?: string | null
  readonly opened: boolean
  open(): Promise<void>
  close(): Promise<void>
  claimInterface(interfaceNumber: number): Promise<void>
  releaseInterface(interfaceNumber: number): Promise<void>
  /** Linux only (usb package extension): the OTP interface is the keyboard, owned by usbhid until detached. */
  detachKernelDriver?(interfaceNumber: number): Promise<void>
  attachKernelDriver?(interfaceNumber: number): Promise<void>
  controlTransferIn(setup: ControlSetup, length: number): Promise<{ data?: DataView; status: string }>
  controlTransferOut(
    setup: ControlSetup,
    data?: Uint8Array,
  ): Promise<{ bytesWritten: number; status: string }>
}

export interface UsbConnectionEventLike {
  device: HidUsbDevice
}

export interface UsbBus {
  getDevices(): Promise<HidUsbDevice[]>
  addEventListener(type: 'connect' | 'disconnect', listener: (event: UsbConnectionEventLike) => void): void
  removeEventListener(type: 'connect' | 'disconnect', listener: (event: UsbConnectionEventLike) => void): void
}

/** The real bus: the usb package's WebUSB object, loaded only when a real key is wanted (it needs libusb). */
export async function systemUsbBus(): Promise<UsbBus> {
  const { usb } = await import('usb')
  // The package adds controlTransferIn/Out to UsbDevice's prototype at load time; its declarations take them
  // from the w3c-web-usb types, which this project does not load, hence the cast.
  return usb as unknown as UsbBus
}
