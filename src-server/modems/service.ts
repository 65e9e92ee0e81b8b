/**
 * The modems at runtime: which SMS gateway the outbox uses (the virtual phone or the modem pool), the pool
 * built from the configured modems, its live status, and the operator actions on it. Every change is
 * audited; the SIM PIN never appears in an audit row, a log line or an answer.
 */
import { EventEmitter } from 'node:events'
import { GsmModem, type ModemOptions } from '../../hardware/gsm/modem'
import type { PoolOptions } from '../../hardware/gsm/pool'
import { probeModem, type ProbeResult } from '../../hardware/gsm/probe'
import { PROFILES } from '../../hardware/gsm/profiles'
import { RejectedPins } from '../../hardware/gsm/rejected-pins'
import { openTransport } from '../../hardware/serial/transport'
import type { AuditLog } from '../audit/audit-log'
import type { Logger } from '../log'
import type { SmsService } from '../sms/service'
import { VirtualPhoneGateway } from '../sms/virtual-phone'
import { ModemPoolGateway } from './gateway'
import { validatePort } from './ports'
import {
  ModemRepository,
  type GatewayChoice,
  type ModemChange,
  type ModemConfig,
  type NewModem,
} from './repository'

export type ModemState = 'inactive' | 'disabled' | 'starting' | 'ready' | 'recovering' | 'dead' | 'stopped'

export interface ModemView extends Omit<ModemConfig, 'createdAt' | 'updatedAt'> {
  /** `inactive`: the virtual phone is the gateway; `disabled`: switched off by an operator. */
  state: ModemState
  busy: boolean
  /** The pool's health score, 0–100. */
  health: number
  signal?: number
  registration?: string
  operator?: string
  /** Messages waiting in the pool's queue for any modem. */
  queueDepth: number
  sent: number
  failed: number
  lastErrors: { at: number; message: string }[]
}

export interface ModemServiceOptions {
  /** Driver timings (tests and benches shorten them). */
  driver?: Partial<Omit<ModemOptions, 'id' | 'url' | 'profile' | 'pin' | 'rejectedPins' | 'open'>>
  pool?: Omit<PoolOptions, 'source' | 'modems' | 'ratePerMinuteOf'>
}

export class ModemNotFoundError extends Error {
  override name = 'ModemNotFoundError'
}

const KEPT_ERRORS = 5

export class ModemService extends EventEmitter<{ changed: []; gateway: [GatewayChoice] }> {
  readonly repo: ModemRepository
  private gateway: ModemPoolGateway | undefined
  private readonly live = new Map<string, GsmModem>()
  private readonly errors = new Map<string, { at: number; message: string }[]>()
  /**
   * The PINs each modem's SIM refused, by modem id: kept here because the drivers are rebuilt on every
   * configuration change, and each rebuild would otherwise spend another of the SIM's three tries.
   */
  private readonly rejectedPins = new Map<number, RejectedPins>()
  private work: Promise<void> = Promise.resolve()
  private started = false

  constructor(
    private readonly sms: SmsService,
    repo: ModemRepository,
    private readonly audit: AuditLog,
    private readonly log: Logger,
    private readonly options: ModemServiceOptions = {},
  ) {
    super()
    this.repo = repo
  }

  /**
   * Puts the stored gateway choice in place. Synchronous, and called before the outbox starts, so messages
   * left queued by a crash never go to the wrong gateway. The modems themselves open in `start()`.
   */
  applyStoredChoice(): void {
    if (this.repo.gateway() === 'modems') this.attachModemGateway()
  }

  get gatewayChoice(): GatewayChoice {
    return this.gateway ? 'modems' : 'virtual'
  }

  async start(): Promise<void> {
    this.started = true
    // Opening modems takes seconds (and a dead one longer): the server does not wait for it.
    void this.reload()
  }

  async stop(): Promise<void> {
    this.started = false
    await this.serial(async () => {
      const gateway = this.gateway
      await gateway?.close()
      this.live.clear()
    })
  }

  /** Chooses the gateway the outbox sends through; persisted and audited. */
  async selectGateway(choice: GatewayChoice, actor: string): Promise<void> {
    const previous = this.gatewayChoice
    this.repo.setGateway(choice)
    this.audit.record({ actor, action: 'sms.gateway.select', target: choice, details: { previous } })
    if (choice === previous) return
    if (choice === 'modems') {
      this.attachModemGateway()
      await this.reload()
    } else {
      const old = this.gateway
      this.gateway = undefined
      this.sms.useGateway(new VirtualPhoneGateway(), VirtualPhoneGateway.concurrency)
      // Messages waiting for a modem come back as retryable failures and leave through the virtual phone.
      await this.serial(async () => {
        await old?.close()
        this.live.clear()
      })
    }
    this.emit('gateway', choice)
    this.emit('changed')
  }

  add(input: NewModem, actor: string): ModemConfig {
    const modem = this.repo.add({ ...input, port: validatePort(input.port) })
    this.audit.record({ actor, action: 'modem.add', target: modem.name, details: auditable(modem) })
    void this.reload()
    return modem
  }

  update(id: number, change: ModemChange, actor: string): ModemConfig {
    const before = this.require(id)
    const modem = this.repo.update(id, change)!
    // A PIN the operator sets (even one refused before: they may have reset the SIM's tries) is entered once;
    // the repository cleared the stored flag with it.
    if (change.pin !== undefined) this.rejectedPins.get(id)?.clear()
    const { pin, ...visible } = change
    this.audit.record({
      actor,
      action: 'modem.update',
      target: before.name,
      details: { ...visible, ...(pin !== undefined ? { pin: pin === null ? 'removed' : 'changed' } : {}) },
    })
    void this.reload()
    return modem
  }

  remove(id: number, actor: string): void {
    const modem = this.require(id)
    this.repo.remove(id)
    this.audit.record({ actor, action: 'modem.remove', target: modem.name, details: auditable(modem) })
    this.errors.delete(modem.name)
    this.rejectedPins.delete(id)
    void this.reload()
  }

  async reset(id: number, actor: string): Promise<void> {
    const modem = this.require(id)
    this.audit.record({ actor, action: 'modem.reset', target: modem.name })
    if (!this.gateway || !this.live.has(modem.name))
      throw new ModemNotFoundError(
        `modem "${modem.name}" is not running (enable it and select the modem gateway)`,
      )
    await this.gateway.reset(modem.name)
  }

  /** Opens an address and asks who is there (`ATI`, `AT+CGMI`, `AT+CGMM`, `AT+CSQ`, `AT+CREG?`). */
  async probePort(port: string, baud?: number): Promise<ProbeResult> {
    const url = validatePort(port)
    const inUse = [...this.live.entries()].find(
      ([name]) => this.repo.list().find((m) => m.name === name)?.port === url,
    )
    if (inUse) throw new PortBusyError(`${url} is in use by the running modem "${inUse[0]}"`)
    return probeModem(url, { baudRate: baud })
  }

  /** Sends one SMS through this modem only (not through the outbox): a bench check of one SIM. */
  async sendTest(
    id: number,
    to: string,
    text: string,
    actor: string,
  ): Promise<{ messageReferences: number[] }> {
    const config = this.require(id)
    this.audit.record({ actor, action: 'modem.test-sms', target: config.name, details: { to } })
    const running = this.live.get(config.name)
    if (running && running.status().state === 'ready') {
      return running.sendSms({ to, text })
    }
    const modem = this.driverFor(config)
    try {
      await modem.open()
      return await modem.sendSms({ to, text })
    } finally {
      await modem.close()
    }
  }

  views(): ModemView[] {
    const health = new Map((this.gateway?.health() ?? []).map((h) => [h.id, h]))
    const queueDepth = this.gateway?.queueDepth ?? 0
    return this.repo.list().map(({ createdAt: _c, updatedAt: _u, ...config }) => {
      const h = health.get(config.name)
      const status = this.live.get(config.name)?.status()
      return {
        ...config,
        state: !config.enabled ? 'disabled' : !this.gateway ? 'inactive' : (h?.state ?? 'starting'),
        busy: h?.busy ?? false,
        health: h?.score ?? 0,
        signal: status?.signal,
        registration: status?.registration,
        operator: status?.operator,
        queueDepth,
        sent: h?.sent ?? 0,
        failed: h?.failed ?? 0,
        lastErrors: this.errors.get(config.name) ?? [],
      }
    })
  }

  private require(id: number): ModemConfig {
    const modem = this.repo.get(id)
    if (!modem) throw new ModemNotFoundError(`no modem with id ${id}`)
    return modem
  }

  private attachModemGateway(): void {
    if (this.gateway) return
    const gateway = new ModemPoolGateway()
    this.gateway = gateway
    // Nothing is handed over until a modem is ready; the messages wait in the outbox, not in memory.
    this.sms.useGateway(gateway, 0)
    gateway.on('capacity', (healthy) => {
      if (this.gateway === gateway) this.sms.useGateway(gateway, healthy)
      this.emit('changed')
    })
    gateway.on('modem-state', () => this.emit('changed'))
    gateway.on('queue', () => this.emit('changed'))
    gateway.on('modem-error', (id, err) => this.noteError(id, err))
  }

  /** Rebuilds the pool from the configuration (after any change), one rebuild at a time. */
  private reload(): Promise<void> {
    return this.serial(async () => {
      const gateway = this.gateway
      if (!gateway || !this.started) return
      const configs = this.repo.list().filter((m) => m.enabled)
      const modems = configs.map((c) => this.driverFor(c))
      this.live.clear()
      for (const m of modems) this.live.set(m.id, m)
      this.emit('changed')
      await gateway.setModems(modems, {
        ...this.options.pool,
        ratePerMinuteOf: Object.fromEntries(configs.map((c) => [c.name, c.ratePerMinute ?? undefined])),
      })
      this.emit('changed')
    })
  }

  private driverFor(config: ModemConfig): GsmModem {
    const modem = new GsmModem({
      ...this.options.driver,
      id: config.name,
      url: config.port,
      profile: PROFILES[config.profile] ? config.profile : 'generic',
      pin: () => this.repo.pin(config.id),
      rejectedPins: this.rejectedPinsOf(config.id),
      open: (url) => openTransport(url, { baudRate: config.baud }),
      // An incoming SMS leaves the SIM only once the inbox row the gateway wrote is on disk.
      beforeDelete: () => this.sms.durable(),
    })
    modem.on('warning', (err) => this.noteError(config.name, err))
    // The driver reads and clears a full SIM by itself, but SMS waited at the network meanwhile (a full SIM
    // announces nothing): the operator sees it among the modem's errors, and a SIM that keeps filling up.
    modem.on('memory-full', (usage) =>
      this.noteError(
        config.name,
        new Error(
          `SIM message storage full (${usage.used} of ${usage.total}): incoming SMS waited at the network until it was read and cleared`,
        ),
      ),
    )
    modem.on('status', () => this.emit('changed'))
    return modem
  }

  private rejectedPinsOf(id: number): RejectedPins {
    let pins = this.rejectedPins.get(id)
    if (!pins) {
      // A PIN refused before a restart stays refused: the flag is about the PIN configured now.
      const refused = this.repo.pinRejected(id) ? this.repo.pin(id) : undefined
      pins = new RejectedPins({
        rejected: refused ? [refused] : [],
        // Only while that PIN is still the configured one: a refusal that comes back after an operator set
        // another PIN is about the old one.
        onRejected: (pin) => {
          if (this.repo.pin(id) === pin) this.repo.markPinRejected(id)
        },
      })
      this.rejectedPins.set(id, pins)
    }
    return pins
  }

  private noteError(modem: string, err: Error): void {
    const list = this.errors.get(modem) ?? []
    list.unshift({ at: Date.now(), message: err.message.slice(0, 300) })
    this.errors.set(modem, list.slice(0, KEPT_ERRORS))
    this.log.warn({ modem, error: err.message }, 'modem error')
    this.emit('changed')
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.work.then(fn)
    this.work = run.catch((err: Error) => this.log.error({ err }, 'modem pool change failed'))
    return run
  }
}

export class PortBusyError extends Error {
  override name = 'PortBusyError'
}

/** What an audit row may say about a modem: everything but its PIN. */
function auditable(m: ModemConfig) {
  return {
    port: m.port,
    profile: m.profile,
    baud: m.baud,
    enabled: m.enabled,
    ratePerMinute: m.ratePerMinute,
    hasPin: m.hasPin,
  }
}
