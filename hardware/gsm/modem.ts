/**
 * One GSM modem: opens its transport, initialises it with its profile, sends SMS in PDU mode, reads
 * and deletes incoming SMS and status reports, and polls registration, signal and storage.
 * It stores nothing: incoming messages and reports leave as events, the caller persists them. A message is
 * deleted from the modem's memory once its event has been emitted and the caller's `beforeDelete` (its
 * durability barrier) has resolved; the parts of a concatenated message stay there until the whole message has
 * been emitted (see `mayKeep`), so neither a crash between two parts nor a power cut loses a message.
 */
import { EventEmitter } from 'node:events'
import { openTransport, type Transport } from '../serial/transport'
import { AtChannel, type TraceFn, type Urc } from './at/channel'
import { AtCommandError, AtError, isErrorNamed, ModemReportedError } from './at/errors'
import {
  isRegistered,
  parseCmgl,
  parseCmgr,
  parseCmgs,
  parseCops,
  parseCpms,
  parseCreg,
  parseCsq,
  parseIndexUrc,
  registrationFromUrc,
  type Registration,
  type StorageUsage,
  type StoredPdu,
} from './at/responses'
import {
  decodePdu,
  type DecodedDeliver,
  type DecodedStatusReport,
  encodeOutgoingSms,
  type OutgoingSms,
  PduError,
} from './pdu'
import { resolveProfile, type ModemProfile } from './profiles'
import { type IncomingSms, Reassembler, type StoredAt } from './reassembly'
import { RejectedPins } from './rejected-pins'

export type ModemState = 'closed' | 'opening' | 'ready' | 'disconnected'

export interface ModemStatus {
  id: string
  state: ModemState
  registration?: Registration
  /** CSQ RSSI 0–31, 99 unknown. */
  signal?: number
  /** Network operator name from `AT+COPS?`, when registered. */
  operator?: string
  storage?: StorageUsage
  /** Consecutive failed commands or sends; reset by any success. */
  errorStreak: number
}

export interface ModemOptions {
  id: string
  /** Device (`/dev/ttyUSB0`, a stable `/dev/serial/by-id/...` path), `tcp://host:port`, or a resolver
   * called on every (re)open so a modem that re-enumerates under a new path is found again. */
  url: string | (() => string | Promise<string>)
  profile?: string | ModemProfile
  /** SIM PIN provider: the caller reads it from the key store; it is never logged. */
  pin?: () => string | undefined | Promise<string | undefined>
  /**
   * PINs this SIM refused, never entered again. Give one that outlives the driver when drivers are rebuilt
   * (the server does on every configuration change); by default the driver keeps its own.
   */
  rejectedPins?: RejectedPins
  commandTimeoutMs?: number
  /** `AT+CMGS` waits for the network, so it gets its own, longer timeout. */
  sendTimeoutMs?: number
  /** Registration/signal/storage polling interval; 0 disables polling. */
  pollIntervalMs?: number
  multipartTimeoutMs?: number
  /** How long SIM-busy (`+CME ERROR: 14`) is retried after boot or PIN entry. */
  simBusyTimeoutMs?: number
  /** Pause after `AT+CFUN=1,1` before reopening (USB sticks re-enumerate). */
  rebootDelayMs?: number
  open?: (url: string) => Promise<Transport>
  trace?: TraceFn
  /**
   * Awaited before a message that has been emitted is deleted from the modem's memory: the caller's durability
   * barrier, so that its copy is on disk before the SIM's goes.
   */
  beforeDelete?: () => Promise<void>
}

export interface SendResult {
  /** TP-MR per part as reported by `+CMGS:`; status reports refer to these. */
  messageReferences: number[]
  parts: number
}

export type IncomingReport = DecodedStatusReport & { modemId: string }
export type IncomingMessage = IncomingSms & { modemId: string }

export interface ModemEvents {
  sms: [IncomingMessage]
  'status-report': [IncomingReport]
  status: [ModemStatus]
  'memory-full': [StorageUsage]
  disconnected: [reason: string]
  /** Something went wrong that does not fail a caller's promise (an undecodable stored PDU, a poll). */
  warning: [Error]
}

export class PinError extends Error {
  constructor(
    message: string,
    readonly state: string,
    /** The SIM refused the configured PIN (now or on an earlier open): it is not entered again. */
    readonly rejected = false,
  ) {
    super(message)
    this.name = 'PinError'
  }
}

const NOT_AGAIN = "not entered again until the PIN is changed in the modem's configuration"

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export class GsmModem extends EventEmitter<ModemEvents> {
  readonly id: string
  readonly profile: ModemProfile
  private transport: Transport | undefined
  private channel: AtChannel | undefined
  private state: ModemState = 'closed'
  private registration: Registration | undefined
  private signal: number | undefined
  private operator: string | undefined
  private storage: StorageUsage | undefined
  private errorStreak = 0
  private pollTimer: NodeJS.Timeout | undefined
  private storageWork: Promise<unknown> = Promise.resolve()
  private concatReference = Math.floor(Math.random() * 256)
  private readonly reassembler: Reassembler
  private readonly rejectedPins: RejectedPins
  /** The modem refused `AT+CPMS="SR"`: its reports are not stored apart. */
  private noReportMemory = false
  /** Slots whose deletion is queued: a storage check reading them before it runs must not deliver them again. */
  private readonly releasing = new Set<string>()
  private readonly opts: Required<
    Pick<
      ModemOptions,
      'commandTimeoutMs' | 'sendTimeoutMs' | 'pollIntervalMs' | 'simBusyTimeoutMs' | 'rebootDelayMs'
    >
  >

  constructor(private readonly options: ModemOptions) {
    super()
    this.id = options.id
    this.profile = resolveProfile(options.profile)
    this.rejectedPins = options.rejectedPins ?? new RejectedPins()
    this.opts = {
      commandTimeoutMs: options.commandTimeoutMs ?? 10_000,
      sendTimeoutMs: options.sendTimeoutMs ?? 60_000,
      pollIntervalMs: options.pollIntervalMs ?? 30_000,
      simBusyTimeoutMs: options.simBusyTimeoutMs ?? 20_000,
      rebootDelayMs: options.rebootDelayMs ?? 5_000,
    }
    this.reassembler = new Reassembler({
      timeoutMs: options.multipartTimeoutMs ?? 10 * 60_000,
      onMessage: (sms) => this.emit('sms', { ...sms, modemId: this.id }),
      release: (slots) => this.release(slots),
    })
  }

  status(): ModemStatus {
    return {
      id: this.id,
      state: this.state,
      registration: this.registration,
      signal: this.signal,
      operator: this.operator,
      storage: this.storage,
      errorStreak: this.errorStreak,
    }
  }

  /** Opens the transport and initialises the modem; rejects with a named error if it cannot. */
  async open(): Promise<void> {
    await this.closeTransport()
    this.state = 'opening'
    const url = typeof this.options.url === 'string' ? this.options.url : await this.options.url()
    const transport = await (this.options.open ?? openTransport)(url)
    this.transport = transport
    await assertModemControlLines(transport)
    const channel = new AtChannel(transport.stream, {
      defaultTimeoutMs: this.opts.commandTimeoutMs,
      trace: this.options.trace,
    })
    this.channel = channel
    channel.on('urc', (urc) => this.onUrc(urc))
    channel.on('close', (reason) => {
      if (this.channel !== channel) return
      this.state = 'disconnected'
      this.stopPolling()
      this.emit('disconnected', reason)
      this.emitStatus()
    })
    try {
      await this.initialise()
    } catch (err) {
      await this.closeTransport()
      this.state = 'closed'
      throw err
    }
    this.state = 'ready'
    this.startPolling()
    this.emitStatus()
  }

  async close(): Promise<void> {
    this.stopPolling()
    this.reassembler.flushAll()
    // A message flushAll delivered has its kept parts deleted before the port closes: left in the memory,
    // the next start would read them back and deliver them a second time. A modem that stopped answering
    // does not hold the close up for longer than one command would.
    const bound = new Promise((r) => setTimeout(r, this.opts.commandTimeoutMs).unref())
    await Promise.race([this.storageWork, bound])
    await this.closeTransport()
    this.state = 'closed'
  }

  /**
   * Sends a text (split into parts as needed). Rejects with a named AtError; `retryable` on the error
   * tells whether another modem might succeed.
   */
  async sendSms(sms: OutgoingSms): Promise<SendResult> {
    const pdus = encodeOutgoingSms(sms, { concatReference: this.nextConcatReference(sms.referenceBits ?? 8) })
    const messageReferences: number[] = []
    for (const pdu of pdus) {
      try {
        const lines = await this.run(`AT+CMGS=${pdu.tpduLength}`, {
          pdu: pdu.hex,
          timeoutMs: this.opts.sendTimeoutMs,
        })
        messageReferences.push(parseCmgs(lines))
      } catch (err) {
        // Earlier parts already left: resending the message repeats them.
        if (err instanceof AtError && messageReferences.length > 0) err.maybeSent = true
        throw err
      }
    }
    return { messageReferences, parts: pdus.length }
  }

  /** Polls registration, signal and operator (`AT+CREG?`, `AT+CSQ`, `AT+COPS?`). */
  async refreshStatus(): Promise<ModemStatus> {
    const creg = parseCreg(await this.run('AT+CREG?'))
    if (creg) this.registration = creg
    const csq = parseCsq(await this.run('AT+CSQ'))
    if (csq !== undefined) this.signal = csq
    // The operator name is for display only; a modem that refuses COPS still works.
    this.operator = isRegistered(this.registration)
      ? parseCops((await this.channel?.command('AT+COPS?').catch(() => undefined)) ?? [])
      : undefined
    this.emitStatus()
    return this.status()
  }

  /**
   * Checks storage (`AT+CPMS?`) and reads-and-deletes whatever is stored. This is how messages are found
   * when no `+CMTI` came: memory full (modems stop announcing), `CNMI` mt=0, or a restart. With `CNMI` ds=2 the
   * status reports are stored too, in the report memory (SR) of most modems, announced by a `+CDSI` that a
   * stopped server never saw: that memory is read as well.
   */
  checkStorage(): Promise<void> {
    return this.exclusiveStorage(async () => {
      const usage = parseCpms(await this.run('AT+CPMS?'))
      if (!usage) return
      this.storage = usage
      if (usage.total > 0 && usage.used >= usage.total) this.emit('memory-full', usage)
      await this.readStored('SM', usage)
      if (this.profile.cnmi.split(',')[3] === '2' && !this.noReportMemory) await this.readReportMemory()
    })
  }

  /** Storage work: reads and consumes every message in the current memory (`memory`, whose usage is known). */
  private async readStored(memory: string, usage: StorageUsage): Promise<void> {
    if (usage.used === 0) return
    if (!this.profile.avoidCmgl) {
      for (const stored of parseCmgl(await this.run('AT+CMGL=4', { timeoutMs: this.opts.sendTimeoutMs })))
        await this.consumeStored(stored, { memory, index: stored.index ?? -1 })
      return
    }
    let found = 0
    for (
      let slot = this.profile.slotBase;
      slot < this.profile.slotBase + usage.total && found < usage.used;
      slot++
    ) {
      const stored = await this.readSlot(slot)
      if (stored) {
        found++
        await this.consumeStored(stored, { memory, index: slot })
      }
    }
  }

  /** Storage work: the status reports waiting in SR (a modem without that memory is not asked again). */
  private async readReportMemory(): Promise<void> {
    try {
      await this.run('AT+CPMS="SR"')
    } catch (err) {
      // The modem answered ERROR or +CMS ERROR (no such memory); a timeout or a lost link is not an answer.
      if (!(err instanceof AtCommandError || err instanceof ModemReportedError)) throw err
      this.noReportMemory = true
      return
    }
    try {
      const usage = parseCpms(await this.run('AT+CPMS?'))
      if (usage) await this.readStored('SR', usage)
    } finally {
      await this.run('AT+CPMS="SM","SM","SM"')
    }
  }

  /**
   * Soft reset: `AT+CFUN=1,1` reboots the modem (USB sticks re-enumerate, possibly under a new path),
   * so the transport is closed, and reopened through the URL resolver after `rebootDelayMs`.
   */
  async reset(): Promise<void> {
    if (this.channel && !this.channel.closed) {
      // The modem may reboot before answering: no reply is the expected outcome, not an error.
      await this.channel.command('AT+CFUN=1,1', { timeoutMs: 3000 }).catch(() => undefined)
    }
    await this.closeTransport()
    await delay(this.opts.rebootDelayMs)
    await this.open()
  }

  private async initialise(): Promise<void> {
    this.channel?.cancelPendingPrompt()
    await this.wakeUp()
    await this.run('ATE0')
    await this.run('AT+CMEE=1')
    await this.unlockSim()
    await this.withSimBusyRetry(() => this.run('AT+CMGF=0'))
    if (this.profile.csmp) await this.tolerate(this.run(`AT+CSMP=${this.profile.csmp}`))
    await this.withSimBusyRetry(() => this.run('AT+CPMS="SM","SM","SM"'))
    await this.withSimBusyRetry(() => this.run(`AT+CNMI=${this.profile.cnmi}`))
    for (const command of this.profile.initCommands) await this.tolerate(this.run(command))
    await this.run('AT+CREG=1').catch(() => undefined)
    await this.refreshStatus()
    await this.checkStorage()
  }

  private async wakeUp(): Promise<void> {
    const attempts = this.profile.wakeupAt ? 3 : 2
    for (let i = 1; ; i++) {
      try {
        await this.run('AT', { timeoutMs: Math.min(2000, this.opts.commandTimeoutMs) })
        return
      } catch (err) {
        if (i >= attempts) throw err
      }
    }
  }

  private async unlockSim(): Promise<void> {
    const cpin = () =>
      this.withSimBusyRetry(() =>
        this.run('AT+CPIN?', this.profile.cpinWithoutOk ? { okOptionalAfterMs: 300 } : {}),
      ).then((lines) => (lines.find((l) => l.startsWith('+CPIN:')) ?? '').replace('+CPIN:', '').trim())
    let state = await cpin()
    if (state === 'READY') return
    if (state === 'SIM PIN') {
      const pin = await this.options.pin?.()
      if (!pin) throw new PinError('SIM asks for a PIN and none was provided', state)
      if (!/^[0-9]{4,8}$/.test(pin)) throw new PinError('SIM PIN must be 4 to 8 digits', state)
      // Every wrong entry costs one of the SIM's three tries, whoever reopens the modem.
      if (this.rejectedPins.has(pin))
        throw new PinError(`SIM PIN rejected earlier: ${NOT_AGAIN}`, state, true)
      try {
        await this.run(`AT+CPIN="${pin}"`)
      } catch (err) {
        if (!isErrorNamed(err, 'INCORRECT_PASSWORD')) throw err
        this.rejectedPins.add(pin)
        throw new PinError(`SIM PIN rejected by the SIM (incorrect password): ${NOT_AGAIN}`, state, true)
      }
      state = await cpin()
      if (state === 'READY') return
    }
    throw new PinError(`SIM is not ready (${state || 'no +CPIN answer'})`, state)
  }

  private async withSimBusyRetry<T>(fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.opts.simBusyTimeoutMs
    for (let wait = 200; ; wait = Math.min(wait * 2, 3000)) {
      try {
        return await fn()
      } catch (err) {
        if (!isErrorNamed(err, 'SIM_BUSY') || Date.now() + wait > deadline) throw err
        await delay(wait)
      }
    }
  }

  private async tolerate(p: Promise<unknown>): Promise<void> {
    try {
      await p
    } catch (err) {
      // Optional tweaks may be unsupported; a dead channel, though, must still fail the caller.
      if (!(err instanceof AtError) || this.channel?.closed) throw err
      this.emit('warning', err)
    }
  }

  private async run(command: string, options: Parameters<AtChannel['command']>[1] = {}): Promise<string[]> {
    if (!this.channel) throw new AtError('modem is not open', true)
    try {
      const lines = await this.channel.command(command, options)
      this.errorStreak = 0
      return lines
    } catch (err) {
      this.errorStreak++
      throw err
    }
  }

  private nextConcatReference(bits: 8 | 16): number {
    this.concatReference = (this.concatReference + 1) % (bits === 8 ? 256 : 65536)
    return this.concatReference
  }

  private onUrc(urc: Urc): void {
    const line = urc.line
    if (line.startsWith('+CMTI:') || line.startsWith('+CDSI:')) {
      const where = parseIndexUrc(line)
      if (!where) return
      const memory =
        line.startsWith('+CDSI:') && this.profile.statusReportMemory === 'SR' ? 'SR' : where.memory
      void this.exclusiveStorage(() => this.readAndDelete(memory, where.index)).catch((err) => this.warn(err))
    } else if ((line.startsWith('+CMT:') || line.startsWith('+CDS:')) && urc.pdu) {
      this.consumePdu(urc.pdu)
    } else if (line.startsWith('+CREG:')) {
      this.registration = registrationFromUrc(line)
      this.emitStatus()
    }
  }

  private async readSlot(slot: number): Promise<StoredPdu | undefined> {
    try {
      return parseCmgr(await this.run(`AT+CMGR=${slot}`))
    } catch (err) {
      if (isErrorNamed(err, 'INVALID_MEMORY_INDEX', 'INVALID_INDEX', 'NOT_FOUND')) return undefined
      throw err
    }
  }

  private async readAndDelete(memory: string, index: number): Promise<void> {
    const other = memory.toUpperCase() !== 'SM'
    if (other) await this.run(`AT+CPMS="${memory}"`)
    try {
      // An empty OK means the announced slot holds nothing (Quectel's +CDSI "SM" case): nothing to delete.
      const stored = await this.readSlot(index)
      if (stored) await this.consumeStored(stored, { memory: memory.toUpperCase(), index })
    } finally {
      if (other) await this.run('AT+CPMS="SM","SM","SM"')
    }
  }

  /** Storage work: the current memory is `at.memory`. */
  private async consumeStored(stored: StoredPdu, at: StoredAt): Promise<void> {
    // Delivered already, its deletion queued; or kept, waiting for the rest of its message.
    if (this.releasing.has(slotKey(at)) || this.reassembler.keeps(at)) return
    const decoded = this.decode(this.normaliseStored(stored))
    if (decoded?.type === 'deliver' && this.mayKeep(decoded, at)) {
      this.reassembler.add(decoded, at)
      return
    }
    if (decoded) this.accept(decoded)
    if (at.index < 0) return
    if (decoded) await this.options.beforeDelete?.()
    // Deleted even when undecodable: a poison message would otherwise fill the memory for good.
    await this.run(`AT+CMGD=${at.index}`)
  }

  /**
   * A part of a concatenated message may stay in the modem's memory until the rest arrives, as long as kept
   * parts fill at most half of it: parts that never complete (lost, or sent to fill the memory) must not
   * stop the modem from receiving. Past that, they are read and deleted like any message. Only the SIM
   * memory's parts are kept: it is the one the storage check at start reads back.
   */
  private mayKeep(part: DecodedDeliver, at: StoredAt): boolean {
    const concat = part.userData.concat
    if (!concat || concat.total === 1 || at.memory !== 'SM' || at.index < 0) return false
    return this.reassembler.kept < Math.floor((this.storage?.total ?? 0) / 2)
  }

  /**
   * Deletes kept slots (all in the SIM memory, see `mayKeep`) once their message is out: queued behind the
   * storage work running now.
   */
  private release(slots: StoredAt[]): void {
    for (const at of slots) this.releasing.add(slotKey(at))
    void this.exclusiveStorage(async () => {
      await this.options.beforeDelete?.()
      for (const at of slots) {
        try {
          await this.run(`AT+CMGD=${at.index}`)
        } finally {
          this.releasing.delete(slotKey(at))
        }
      }
    }).catch((err) => this.warn(err))
  }

  /** smstools' "dirty patch" for Wavecom SR memory: drop `000000FF`, pad with zeros to the announced size. */
  private normaliseStored(stored: StoredPdu): string {
    const hex = stored.hex
    if (!this.profile.wavecomReportPrefix || !hex.toUpperCase().startsWith('000000FF00')) return hex
    const rest = hex.slice(8)
    const smscOctets = 1 + parseInt(rest.slice(0, 2), 16)
    const wanted = (smscOctets + stored.length) * 2
    return rest.length >= wanted ? rest : rest.padEnd(wanted, '0')
  }

  /** A PDU routed straight through (`+CMT`, `+CDS`): in no memory. */
  private consumePdu(hex: string): void {
    const decoded = this.decode(hex)
    if (decoded) this.accept(decoded)
  }

  private accept(decoded: ReturnType<typeof decodePdu>): void {
    if (decoded.type === 'deliver') this.reassembler.add(decoded)
    else if (decoded.type === 'status-report') this.emit('status-report', { ...decoded, modemId: this.id })
  }

  private decode(hex: string): ReturnType<typeof decodePdu> | undefined {
    try {
      return decodePdu(hex, { hasSmsc: true })
    } catch (err) {
      // The PDU itself stays out of the message: it may carry a one-time code.
      this.warn(
        err instanceof PduError ? new PduError(`undecodable PDU from modem ${this.id}: ${err.message}`) : err,
      )
      return undefined
    }
  }

  private exclusiveStorage(fn: () => Promise<void>): Promise<void> {
    const run = this.storageWork.then(fn)
    this.storageWork = run.catch(() => undefined)
    return run
  }

  private startPolling(): void {
    if (this.opts.pollIntervalMs <= 0) return
    this.pollTimer = setInterval(() => {
      this.refreshStatus()
        .then(() => this.checkStorage())
        .catch((err) => this.warn(err))
    }, this.opts.pollIntervalMs)
    this.pollTimer.unref()
  }

  private stopPolling(): void {
    clearInterval(this.pollTimer)
    this.pollTimer = undefined
  }

  private async closeTransport(): Promise<void> {
    const transport = this.transport
    const channel = this.channel
    this.transport = undefined
    this.channel = undefined
    this.stopPolling()
    channel?.shutdown('closed by driver')
    await transport?.close().catch(() => undefined)
  }

  private emitStatus(): void {
    this.emit('status', this.status())
  }

  private warn(err: unknown): void {
    this.emit('warning', err instanceof Error ? err : new Error(String(err)))
  }

  get registered(): boolean {
    return isRegistered(this.registration)
  }
}

/**
 * Real modems want DTR asserted; on a pty (tests, the simulator) the ioctl fails with ENOTTY
 * ("Inappropriate ioctl for device"). That failure is harmless and deliberately ignored.
 */
async function assertModemControlLines(transport: Transport): Promise<void> {
  const port = transport.stream as unknown as { set?: (o: object, cb: (err: Error | null) => void) => void }
  if (typeof port.set !== 'function') return
  await new Promise<void>((resolve) => {
    try {
      port.set!({ dtr: true, rts: true }, () => resolve())
    } catch {
      resolve()
    }
  })
}

const slotKey = (at: StoredAt) => `${at.memory}:${at.index}`
