import { existsSync } from 'node:fs'
import type { DongleDevice, DongleProgrammer } from '../../hardware/dongle/programmer'
import { SerialProgrammer } from '../../hardware/dongle/serial/driver'
import { YubiKeyProgrammer } from '../../hardware/dongle/yubikey/driver'
import { systemUsbBus, type UsbBus } from '../../hardware/dongle/yubikey/usb-device'
import { openTransport, type Transport } from '../../hardware/serial/transport'
import type { AuditLog } from '../audit/audit-log'
import { conflict, notFound } from '../http/problem'
import type { Logger } from '../log'
import type { Db } from '../store/db'
import type { DongleEvents } from './events'
import type { DetectedDevice, ProgrammerView } from './model'

export interface ProgrammerManagerOptions {
  /**
   * Opens the USB bus. Default: the usb package, only where the OS shows a USB bus (/sys/bus/usb on Linux);
   * tests pass the simulated bus. Returning null means "no USB on this machine".
   */
  usbBus?: () => Promise<UsbBus | null>
  /** Reopen a serial programmer that could not be opened or went away, this often. */
  retryMs?: number
  /** Per-request timeout of serial programmers. */
  serialTimeoutMs?: number
}

/** A YubiKey types its code when touched: the bench operator types or scans it into the console. */
export type TouchSource = (programmerId: string, device: DongleDevice) => Promise<string>

interface Entry {
  id: string
  name: string
  driver: 'yubikey' | 'serial'
  url?: string
  programmer: DongleProgrammer | null
  transport?: Transport
  status: 'ready' | 'unavailable'
  detail?: string
  devices: Map<string, DongleDevice>
  busy: boolean
  unwatch?: () => void
  retry?: NodeJS.Timeout
}

interface ProgrammerRow {
  id: number
  name: string
  url: string
}

export async function defaultUsbBus(): Promise<UsbBus | null> {
  if (process.platform === 'linux' && !existsSync('/sys/bus/usb')) return null
  return systemUsbBus()
}

/**
 * The programmers this server drives: the USB bus (YubiKeys, found by hot-plug) and the serial programmers
 * configured through the API. It keeps each one's attached devices current and publishes every change.
 */
export class ProgrammerManager {
  private readonly entries = new Map<string, Entry>()
  private stopped = false

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly log: Logger,
    private readonly events: DongleEvents,
    private readonly readTouch: TouchSource,
  ) {}

  private options: ProgrammerManagerOptions = {}

  async start(options: ProgrammerManagerOptions = {}): Promise<void> {
    this.options = options
    this.stopped = false
    await this.openUsb()
    const rows = this.db
      .prepare('SELECT id, name, url FROM dongle_programmers ORDER BY id')
      .all() as ProgrammerRow[]
    await Promise.all(rows.map((r) => this.openSerial(r)))
  }

  async stop(): Promise<void> {
    this.stopped = true
    await Promise.all([...this.entries.values()].map((e) => this.close(e)))
    this.entries.clear()
  }

  list(): ProgrammerView[] {
    return [...this.entries.values()].map((e) => this.view(e))
  }

  get(id: string): ProgrammerView {
    return this.view(this.entry(id))
  }

  /** The driver of a ready programmer, reserved for one bench run (release it with `release`). */
  claim(id: string): DongleProgrammer {
    const e = this.entry(id)
    if (e.status !== 'ready' || !e.programmer) {
      throw conflict(`Programmer ${e.name} is unavailable${e.detail ? `: ${e.detail}` : ''}`)
    }
    if (e.busy) throw conflict(`Programmer ${e.name} is busy with another token`)
    e.busy = true
    this.events.publish({ type: 'programmers' })
    return e.programmer
  }

  release(id: string): void {
    const e = this.entries.get(id)
    if (!e) return
    e.busy = false
    this.events.publish({ type: 'programmers' })
  }

  async addSerial(name: string, url: string, actor: string): Promise<ProgrammerView> {
    const existing = this.db
      .prepare('SELECT name FROM dongle_programmers WHERE name = ? OR url = ?')
      .get(name, url) as { name: string } | undefined
    if (existing) throw conflict(`A programmer named ${existing.name} already uses that name or port`)
    const row = this.db.transaction(() => {
      const info = this.db
        .prepare('INSERT INTO dongle_programmers (name, url, created_by, created_at) VALUES (?, ?, ?, ?)')
        .run(name, url, actor, Date.now())
      this.audit.record({
        actor,
        action: 'dongle.programmer.add',
        target: `programmer:${name}`,
        details: { url },
      })
      return { id: Number(info.lastInsertRowid), name, url }
    })()
    await this.openSerial(row)
    return this.get(serialId(row.id))
  }

  async remove(id: string, actor: string): Promise<void> {
    const e = this.entry(id)
    if (e.driver !== 'serial') throw conflict('The USB bus is not configured and cannot be removed')
    if (e.busy) throw conflict(`Programmer ${e.name} is busy with a token`)
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM dongle_programmers WHERE id = ?').run(Number(id.slice('serial-'.length)))
      this.audit.record({ actor, action: 'dongle.programmer.remove', target: `programmer:${e.name}` })
    })()
    this.entries.delete(id)
    await this.close(e)
    this.events.publish({ type: 'programmers' })
  }

  private entry(id: string): Entry {
    const e = this.entries.get(id)
    if (!e) throw notFound(`No programmer ${id}`)
    return e
  }

  private view(e: Entry): ProgrammerView {
    return {
      id: e.id,
      name: e.name,
      driver: e.driver,
      ...(e.url ? { url: e.url } : {}),
      status: e.status,
      ...(e.detail ? { detail: e.detail } : {}),
      devices: [...e.devices.values()].map((d) => detected(e.id, d)),
      busy: e.busy,
    }
  }

  private async openUsb(): Promise<void> {
    const entry: Entry = {
      id: 'usb',
      name: 'USB (YubiKey)',
      driver: 'yubikey',
      programmer: null,
      status: 'unavailable',
      devices: new Map(),
      busy: false,
    }
    this.entries.set(entry.id, entry)
    let bus: UsbBus | null
    try {
      bus = await (this.options.usbBus ?? defaultUsbBus)()
    } catch (err) {
      entry.detail = `the USB bus cannot be opened: ${(err as Error).message}`
      this.log.warn({ reason: entry.detail }, 'dongle programmers: no USB')
      return
    }
    if (!bus) {
      entry.detail =
        'this machine shows no USB bus (/sys/bus/usb is absent): USB keys cannot be programmed here'
      this.log.info('dongle programmers: no USB bus, USB keys disabled')
      return
    }
    const programmer = new YubiKeyProgrammer({ bus, readTouch: (device) => this.readTouch(entry.id, device) })
    await this.attach(entry, programmer)
  }

  private async openSerial(row: ProgrammerRow): Promise<void> {
    const id = serialId(row.id)
    const previous = this.entries.get(id)
    const entry: Entry = previous ?? {
      id,
      name: row.name,
      driver: 'serial',
      url: row.url,
      programmer: null,
      status: 'unavailable',
      devices: new Map(),
      busy: false,
    }
    this.entries.set(id, entry)
    try {
      const transport = await openTransport(row.url, { timeoutMs: 3000 })
      if (this.stopped || this.entries.get(id) !== entry) {
        await transport.close()
        return
      }
      entry.transport = transport
      const programmer = new SerialProgrammer(transport, { timeoutMs: this.options.serialTimeoutMs ?? 1000 })
      transport.stream.once('close', () => this.lost(entry, 'the port closed'))
      await this.attach(entry, programmer)
    } catch (err) {
      this.lost(entry, (err as Error).message)
    }
  }

  /** Watches the driver, then lists what is attached now. */
  private async attach(entry: Entry, programmer: DongleProgrammer): Promise<void> {
    entry.programmer = programmer
    entry.unwatch = programmer.watch((event) => {
      if (event.type === 'attached') {
        entry.devices.set(event.device.id, event.device)
        this.events.publish({
          type: 'device',
          programmerId: entry.id,
          change: 'attached',
          device: detected(entry.id, event.device),
        })
      } else if (entry.devices.delete(event.id)) {
        this.events.publish({
          type: 'device',
          programmerId: entry.id,
          change: 'detached',
          deviceId: event.id,
        })
      }
    })
    try {
      for (const d of await programmer.devices()) entry.devices.set(d.id, d)
      entry.status = 'ready'
      entry.detail = undefined
    } catch (err) {
      if (entry.driver === 'serial') return this.lost(entry, (err as Error).message)
      entry.status = 'ready'
      entry.detail = `listing USB devices failed: ${(err as Error).message}`
    }
    this.events.publish({ type: 'programmers' })
  }

  /** A serial programmer that is gone: say why, and try again later (a USB-serial adaptor may come back). */
  private lost(entry: Entry, reason: string): void {
    if (this.stopped || this.entries.get(entry.id) !== entry) return
    entry.status = 'unavailable'
    entry.detail = reason
    entry.devices.clear()
    entry.unwatch?.()
    const programmer = entry.programmer
    entry.programmer = null
    void programmer?.close().catch(() => undefined)
    this.log.warn({ programmer: entry.name, reason }, 'dongle programmer unavailable')
    this.events.publish({ type: 'programmers' })
    clearTimeout(entry.retry)
    entry.retry = setTimeout(() => {
      if (!this.stopped && this.entries.get(entry.id) === entry && entry.status === 'unavailable') {
        void this.openSerial({
          id: Number(entry.id.slice('serial-'.length)),
          name: entry.name,
          url: entry.url!,
        })
      }
    }, this.options.retryMs ?? 5000)
    entry.retry.unref()
  }

  private async close(e: Entry): Promise<void> {
    clearTimeout(e.retry)
    e.unwatch?.()
    const programmer = e.programmer
    e.programmer = null
    e.status = 'unavailable'
    await programmer?.close().catch(() => undefined)
  }
}

function serialId(id: number): string {
  return `serial-${id}`
}

function detected(programmerId: string, d: DongleDevice): DetectedDevice {
  return {
    programmerId,
    id: d.id,
    serial: d.serial,
    model: d.model,
    firmware: d.firmware,
    supports: d.supports,
  }
}
