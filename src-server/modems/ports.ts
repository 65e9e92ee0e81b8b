/**
 * Where a modem can be: the serial ports this machine has (for the console's port picker) and the check
 * of an address typed by an operator.
 */
import { readdirSync, realpathSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { SerialPort } from 'serialport'

export interface CandidatePort {
  /** What to store: the stable /dev/serial/by-id path when there is one. */
  path: string
  /** The kernel device it points to (`/dev/ttyUSB0`), which changes on re-plugging. */
  device: string
  manufacturer?: string
  vendorId?: string
  productId?: string
  serialNumber?: string
}

export interface PortListing {
  ports: CandidatePort[]
  /** Why the list may be incomplete (no udev in a container, for instance). */
  warning?: string
}

type Lister = () => Promise<
  { path: string; manufacturer?: string; vendorId?: string; productId?: string; serialNumber?: string }[]
>

const BY_ID = '/dev/serial/by-id'

/** `/dev/serial/by-id/*` → the device each link points to. */
function stableLinks(dir = BY_ID): Map<string, string> {
  const links = new Map<string, string>()
  let names: string[] = []
  try {
    names = readdirSync(dir)
  } catch {
    return links // no USB serial devices (or no udev): nothing to map
  }
  for (const name of names) {
    try {
      links.set(realpathSync(join(dir, name)), join(dir, name))
    } catch {
      // a dangling link: the device was unplugged while we looked
    }
  }
  return links
}

/**
 * Serial ports, each under its stable by-id path when udev made one. `SerialPort.list()` spawns `udevadm` on
 * Linux and fails with ENOENT where udev is absent (containers): the by-id folder and the usual tty names
 * are then listed directly, with a warning.
 */
export async function listCandidatePorts(
  list: Lister = () => SerialPort.list(),
  byIdDir = BY_ID,
): Promise<PortListing> {
  const links = stableLinks(byIdDir)
  let warning: string | undefined
  let found: Awaited<ReturnType<Lister>>
  try {
    found = await list()
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    warning =
      e.code === 'ENOENT' || /ENOENT|udevadm/.test(e.message)
        ? 'udev is not available on the server (udevadm not found): only /dev/ttyUSB*, /dev/ttyACM* and /dev/serial/by-id are listed'
        : `the serial port list failed (${e.message}): only /dev/ttyUSB*, /dev/ttyACM* and /dev/serial/by-id are listed`
    found = fallbackDevices().map((path) => ({ path }))
  }
  const ports: CandidatePort[] = found
    // Built-in UARTs (ttyS*) are listed by the kernel whether or not anything is attached.
    .filter((p) => !/^\/dev\/ttyS\d+$/.test(p.path) || p.manufacturer)
    .map((p) => ({
      path: links.get(p.path) ?? p.path,
      device: p.path,
      manufacturer: p.manufacturer,
      vendorId: p.vendorId,
      productId: p.productId,
      serialNumber: p.serialNumber,
    }))
  for (const [device, path] of links) {
    if (!ports.some((p) => p.device === device)) ports.push({ path, device })
  }
  return { ports, warning }
}

function fallbackDevices(): string[] {
  try {
    return readdirSync('/dev')
      .filter((n) => /^tty(USB|ACM)\d+$/.test(n))
      .map((n) => `/dev/${n}`)
  } catch {
    return []
  }
}

export class InvalidPortError extends Error {
  override name = 'InvalidPortError'
}

/**
 * Checks an operator-supplied modem address and returns it normalised: an absolute path to a character
 * device that exists now (links such as /dev/serial/by-id/... are kept as typed), or `tcp://host:port`.
 */
export function validatePort(port: string): string {
  const value = port.trim()
  if (value.startsWith('tcp://')) {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      throw new InvalidPortError(`"${value}" is not a valid tcp://host:port address`)
    }
    const n = Number(url.port)
    if (!url.hostname || !Number.isInteger(n) || n < 1 || n > 65535 || (url.pathname && url.pathname !== '/'))
      throw new InvalidPortError(`"${value}" is not a valid tcp://host:port address (host and port 1-65535)`)
    return `tcp://${url.host}`
  }
  // Absolute paths outside /dev are allowed: symlinks to ptys (`ims modem simulate --device /tmp/ttyGSM0`).
  if (!value.startsWith('/'))
    throw new InvalidPortError(`"${value}" is neither a device path (/dev/...) nor a tcp://host:port address`)
  if (value.includes('/../') || value.includes('\0'))
    throw new InvalidPortError(`"${value}" is not a plain device path`)
  let stat
  try {
    stat = statSync(value)
  } catch {
    throw new InvalidPortError(`${value} does not exist on the server (is the modem plugged in?)`)
  }
  if (!stat.isCharacterDevice()) throw new InvalidPortError(`${value} is not a serial device`)
  return value
}
