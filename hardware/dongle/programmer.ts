/**
 * What every OTP dongle programmer driver offers the bench flow, whatever the wire (USB HID, serial): hot-plug
 * detection, device info, programming an OATH seed, and reading the code the device produces.
 */

export type OathHash = 'SHA1' | 'SHA256' | 'SHA512'

export type OathSlotParams =
  | { kind: 'hotp'; algorithm: OathHash; digits: number; counter: number }
  | { kind: 'totp'; algorithm: OathHash; digits: number; period: number }

export interface DongleDevice {
  /** Stable while attached; for inventory use `serial`. */
  id: string
  /** The token's own serial number (printed on it, used as the inventory key). */
  serial: string
  model: string
  firmware: string
  /** Which OATH kinds and hashes this device can be programmed with. */
  supports: { kinds: ('hotp' | 'totp')[]; algorithms: OathHash[]; digits: number[] }
}

export type DongleEvent = { type: 'attached'; device: DongleDevice } | { type: 'detached'; id: string }

export interface DongleProgrammer {
  readonly driver: string
  /** Devices attached now. */
  devices(): Promise<DongleDevice[]>
  /** Hot-plug events; returns the unsubscribe function. */
  watch(listener: (event: DongleEvent) => void): () => void
  info(id: string): Promise<DongleDevice>
  /** Writes the seed and parameters; the seed never comes back out of the device. */
  program(id: string, seed: Uint8Array, params: OathSlotParams): Promise<void>
  /** The next code the device shows (HOTP: the device's counter advances, as with a button press). */
  readCode(id: string): Promise<string>
  erase(id: string): Promise<void>
  close(): Promise<void>
}

/** A refusal or failure by the device or the wire; the message never contains a seed or a code. */
export class DongleError extends Error {
  constructor(
    message: string,
    readonly code:
      | 'not-found'
      /** The USB bus or serial line itself is unavailable (no libusb access, port gone). */
      | 'transport'
      | 'unsupported'
      | 'rejected'
      /** The token already holds a seed (nothing was written): erase it first. */
      | 'already-programmed'
      | 'timeout'
      | 'protocol'
      | 'no-token'
      | 'busy'
      | 'not-programmed',
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'DongleError'
  }
}

/** Checks parameters against what a device supports before anything is written to it. */
export function assertSupported(device: DongleDevice, seed: Uint8Array, params: OathSlotParams): void {
  const s = device.supports
  if (!s.kinds.includes(params.kind))
    throw new DongleError(`${device.model} cannot do ${params.kind}`, 'unsupported')
  if (!s.algorithms.includes(params.algorithm)) {
    throw new DongleError(`${device.model} cannot do HMAC-${params.algorithm}`, 'unsupported')
  }
  if (!s.digits.includes(params.digits)) {
    throw new DongleError(`${device.model} cannot show ${params.digits}-digit codes`, 'unsupported')
  }
  if (seed.length < 16) throw new DongleError('a seed needs at least 16 bytes', 'unsupported')
}
