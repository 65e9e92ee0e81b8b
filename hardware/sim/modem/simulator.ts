/**
 * A GSM modem (DCE) simulator speaking 3GPP 27.005 / 27.007 in PDU mode over any byte stream (pty,
 * stdio, TCP). It keeps SIM, registration and SMS storage state, accepts SMS-SUBMIT PDUs, delivers
 * injected SMS-DELIVER PDUs and status reports as the configured CNMI asks, and reproduces the quirks
 * of its profile and the faults it is told to inject. Independent AT clients (gammu, smsd) are run
 * against it in the tests to keep it honest.
 */
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import {
  type DecodedSubmit,
  decodePdu,
  encodeDeliver,
  encodeStatusReport,
  parseAddress,
  splitText,
  type TextEncoding,
} from '../../gsm/pdu'
import { resolveSimProfile, type SimProfile } from './profiles'

export interface SimulatorOptions {
  profile?: string | SimProfile
  /** Time the network takes to accept one SMS-SUBMIT (delay before `+CMGS:`). */
  latencyMs?: number
  /** If set, the SIM starts locked and wants this PIN. */
  pin?: string
  smsc?: string
  /** Delay before the automatic status report of a message that requested one; negative = never. */
  reportDelayMs?: number
  /** Silence after `AT+CFUN=1,1` before the modem answers again. */
  rebootMs?: number
  imei?: string
  imsi?: string
  /** Called with every SMS-SUBMIT received (the CLI's `--record` writes these as JSON lines). */
  onSubmit?: (sms: SubmittedSms) => void
}

export interface SubmittedSms {
  receivedAt: string
  messageReference: number
  pdu: string
  tpduLength: number
  to: string
  text: string
  encoding: string
  statusReportRequest: boolean
  part?: { reference: number; sequence: number; total: number }
}

export type Fault =
  /**
   * Stop answering (input is swallowed) for `ms`, or until cleared. With `on`, the hang starts when a
   * command containing that text arrives (`CMGS`), or with `on: 'PDU'` right after an SMS PDU arrives.
   */
  | { kind: 'hang'; ms?: number; on?: string }
  /** Close every attached stream, as if the USB cable were pulled. */
  | { kind: 'disconnect' }
  /** The next `count` (default 1) `AT+CMGS` fail with `+CMS ERROR: code`. */
  | { kind: 'cms'; code: number; count?: number }
  /** SIM busy (`+CME ERROR: 14` / `+CMS ERROR: 314`) for `ms`. */
  | { kind: 'sim-busy'; ms: number }
  /** Fill the SM storage; new SMS wait at the network and no `+CMTI` is sent until space is freed. */
  | { kind: 'memory-full' }
  /** SIM state: asks for PIN or PUK again, or is removed. */
  | { kind: 'sim'; state: 'PIN' | 'PUK' | 'removed' }

export interface InjectSmsOptions {
  from: string
  text: string
  encoding?: TextEncoding
  referenceBits?: 8 | 16
  timestamp?: Date
  /** Deliver parts in this order (1-based), possibly repeating or omitting some: for reassembly tests. */
  partOrder?: number[]
  /** The concatenation reference (random by default): the same one again delivers more parts of a message. */
  reference?: number
}

interface Slot {
  pdu: string
  tpduLength: number
  read: boolean
}

type Memory = 'SM' | 'SR'

interface Session {
  stream: Duplex
  input: string
  /** Set between `AT+CMGS=n` and Ctrl-Z. */
  pduLength?: number
  busy: boolean
  output: string[]
  writing: boolean
}

const CTRL_Z = '\x1a'
const ESC = '\x1b'

export class ModemSimulator extends EventEmitter<{
  submit: [SubmittedSms]
  command: [string]
  disconnect: []
  reboot: []
}> {
  readonly profile: SimProfile
  readonly sent: SubmittedSms[] = []
  private readonly sessions = new Set<Session>()
  private readonly storage: Record<Memory, (Slot | undefined)[]>
  /** SMS the "network" holds while the SIM storage is full. */
  private readonly networkQueue: string[] = []
  private echo: boolean
  private cmee = 0
  private cmgf = 0
  private cregMode = 0
  private cnmi = [0, 0, 0, 0, 0]
  private cpms: [Memory, Memory, Memory] = ['SM', 'SM', 'SM']
  private simState: 'READY' | 'SIM PIN' | 'SIM PUK' | 'removed'
  private pinAttempts = 3
  private smsc: string
  private signal = 21
  private registration = 1
  private messageReference = 0
  private hangUntil = 0
  private hangOn: { command: string; ms?: number } | undefined
  private cmsFaults: { code: number; remaining: number } | undefined
  private simBusyUntil = 0
  private rebootingUntil = 0
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor(private readonly options: SimulatorOptions = {}) {
    super()
    this.profile = resolveSimProfile(options.profile)
    this.storage = { SM: new Array(this.profile.smSlots), SR: new Array(this.profile.srSlots) }
    this.echo = this.profile.echoAtBoot
    this.simState = options.pin ? 'SIM PIN' : 'READY'
    this.smsc = options.smsc ?? '+491700000000'
  }

  /** Serves one AT session on a byte stream; URCs go to every attached session. */
  attach(stream: Duplex): void {
    const session: Session = { stream, input: '', busy: false, output: [], writing: false }
    this.sessions.add(session)
    stream.on('data', (chunk: Buffer | string) => this.onInput(session, chunk.toString()))
    const detach = () => this.sessions.delete(session)
    stream.on('close', detach)
    stream.on('end', detach)
    stream.on('error', detach)
  }

  /** Stops timers and detaches (does not close) the streams. */
  close(): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.sessions.clear()
  }

  // ---- control API -------------------------------------------------------------------------

  /** An SMS arrives from the network (split into concatenated parts when long). */
  injectSms(o: InjectSmsOptions): void {
    const originator = parseAddress(o.from)
    const { encoding, parts } = splitText(o.text, { encoding: o.encoding, referenceBits: o.referenceBits })
    const reference = o.reference ?? Math.floor(Math.random() * (o.referenceBits === 16 ? 65536 : 256))
    const timestamp = { date: o.timestamp ?? new Date(), offsetMinutes: 0 }
    const pdus = parts.map(
      (text, i) =>
        encodeDeliver({
          smsc: this.smsc,
          originator,
          coding: { encoding },
          timestamp,
          userData: {
            encoding,
            text,
            concat:
              parts.length > 1
                ? { reference, total: parts.length, sequence: i + 1, referenceBits: o.referenceBits ?? 8 }
                : undefined,
          },
        }).hex,
    )
    for (const n of o.partOrder ?? pdus.map((_, i) => i + 1)) {
      if (pdus[n - 1]) this.injectPdu(pdus[n - 1])
    }
  }

  /** A raw SMS-DELIVER PDU (SMSC field included) arrives from the network. */
  injectPdu(pdu: string): void {
    const tpduLength = pdu.length / 2 - 1 - parseInt(pdu.slice(0, 2), 16)
    const mt = this.cnmi[1]
    if (mt === 2 || mt === 3) {
      this.broadcastUrc(`+CMT: ,${tpduLength}`, pdu)
      return
    }
    const index = this.store('SM', pdu, tpduLength)
    if (index === undefined) {
      // Memory full: the SMSC keeps the message and the modem says nothing (no +CMTI).
      this.networkQueue.push(pdu)
      return
    }
    if (mt === 1) this.broadcastUrc(`+CMTI: "SM",${index}`)
  }

  /** The network reports the fate of a message this modem sent (by its TP-MR). */
  injectStatusReport(
    messageReference: number,
    status = 0,
    recipient?: string,
    /** When the network delivered it (a report read late carries an earlier time). */
    dischargedAt = new Date(),
  ): void {
    const to =
      recipient ?? [...this.sent].reverse().find((s) => s.messageReference === messageReference)?.to ?? '+0'
    const now = { date: new Date(), offsetMinutes: 0 }
    const prefixed = this.profile.wavecomReportPrefix
    const pdu = encodeStatusReport({
      smsc: prefixed ? undefined : this.smsc,
      messageReference,
      recipient: parseAddress(to),
      serviceCentreTimestamp: now,
      dischargeTime: { date: dischargedAt, offsetMinutes: 0 },
      status,
    })
    const ds = this.cnmi[3]
    if (ds === 1) {
      this.broadcastUrc(`+CDS: ${pdu.tpduLength}`, pdu.hex)
    } else if (ds === 2) {
      const stored = (prefixed ? '000000FF' : '') + pdu.hex + '0'.repeat(this.profile.reportPadding)
      const index = this.store('SR', stored, pdu.tpduLength)
      if (index !== undefined)
        this.broadcastUrc(`+CDSI: "${this.profile.cdsiAnnouncesSm ? 'SM' : 'SR'}",${index}`)
    }
  }

  fault(f: Fault): void {
    switch (f.kind) {
      case 'hang':
        if (f.on) this.hangOn = { command: f.on.toUpperCase(), ms: f.ms }
        else this.hangUntil = f.ms === undefined ? Infinity : Date.now() + f.ms
        break
      case 'disconnect':
        for (const s of [...this.sessions]) s.stream.destroy()
        this.sessions.clear()
        this.emit('disconnect')
        break
      case 'cms':
        this.cmsFaults = { code: f.code, remaining: f.count ?? 1 }
        break
      case 'sim-busy':
        this.simBusyUntil = Date.now() + f.ms
        break
      case 'memory-full':
        for (let i = 0; i < this.storage.SM.length; i++) {
          if (this.storage.SM[i]) continue
          const filler = encodeDeliver({
            smsc: this.smsc,
            originator: { type: 'international', value: '+10000' },
            coding: { encoding: 'gsm7' },
            timestamp: { date: new Date(), offsetMinutes: 0 },
            userData: { encoding: 'gsm7', text: `filler ${i}` },
          })
          this.storage.SM[i] = { pdu: filler.hex, tpduLength: filler.tpduLength, read: false }
        }
        break
      case 'sim':
        this.simState = f.state === 'PIN' ? 'SIM PIN' : f.state === 'PUK' ? 'SIM PUK' : 'removed'
        break
    }
  }

  clearFaults(): void {
    this.hangUntil = 0
    this.hangOn = undefined
    this.cmsFaults = undefined
    this.simBusyUntil = 0
  }

  setSignal(rssi: number): void {
    this.signal = rssi
  }

  setRegistration(stat: number): void {
    this.registration = stat
    if (this.cregMode > 0) this.broadcastUrc(`+CREG: ${stat}`)
  }

  snapshot() {
    const used = (m: Memory) => this.storage[m].filter(Boolean).length
    return {
      profile: this.profile.name,
      sim: this.simState,
      registration: this.registration,
      signal: this.signal,
      echo: this.echo,
      cnmi: this.cnmi.join(','),
      storage: { SM: used('SM'), SR: used('SR'), waitingAtNetwork: this.networkQueue.length },
      sent: this.sent.length,
    }
  }

  // ---- input handling ------------------------------------------------------------------------

  private onInput(session: Session, chunk: string): void {
    session.input += chunk
    while (session.input.length > 0 && !session.busy) {
      if (Date.now() < this.hangUntil || Date.now() < this.rebootingUntil) {
        session.input = ''
        return
      }
      if (session.pduLength !== undefined) {
        const end = indexOfControl(session.input)
        if (end < 0) return
        const pdu = session.input.slice(0, end).replace(/[\r\n\s]/g, '')
        const cancelled = session.input[end] === ESC
        session.input = session.input.slice(end + 1)
        const length = session.pduLength
        session.pduLength = undefined
        if (this.echo) this.write(session, pdu)
        if (cancelled) continue
        session.busy = true
        void this.submit(session, pdu, length).finally(() => {
          session.busy = false
          this.onInput(session, '')
        })
        continue
      }
      const end = session.input.search(/[\r\n]/)
      if (end < 0) {
        // gammu starts with a lone ESC to cancel any pending prompt: nothing to answer.
        while (indexOfControl(session.input) === 0) session.input = session.input.slice(1)
        return
      }
      const raw = session.input.slice(0, end)
      session.input = session.input.slice(end + 1).replace(/^\n/, '')
      const line = raw.split(CTRL_Z).join('').split(ESC).join('').trim()
      if (!line) continue
      if (this.echo) this.write(session, `${line}\r`)
      this.emit('command', line)
      this.execute(session, line)
    }
  }

  private execute(session: Session, line: string): void {
    if (!/^AT/i.test(line)) return this.final(session, 'ERROR')
    const hang = this.hangOn
    if (hang && line.toUpperCase().includes(hang.command)) {
      this.hangOn = undefined
      this.hangUntil = hang.ms === undefined ? Infinity : Date.now() + hang.ms
      return
    }
    const info: string[] = []
    for (const cmd of splitCommands(line.slice(2))) {
      let result: string | 'PROMPT' | 'SILENT'
      try {
        result = this.run(session, cmd, info)
      } catch (err) {
        result = err instanceof SimError ? this.errorLine(err) : 'ERROR'
      }
      if (result === 'PROMPT') {
        this.write(session, `${this.profile.lineEnding}> `)
        return
      }
      if (result === 'SILENT') return
      if (result !== 'OK') {
        this.respond(session, info)
        return this.final(session, result)
      }
    }
    this.respond(session, info)
    if (info.length && info.every((l) => l.startsWith('+CPIN:')) && this.profile.cpinWithoutOk) return
    this.final(session, 'OK')
  }

  private respond(session: Session, lines: string[]): void {
    if (this.profile.noiseUrc) this.sendUrcTo(session, this.profile.noiseUrc)
    const eol = this.profile.lineEnding
    for (const l of lines) this.write(session, `${eol}${l}${eol}`)
  }

  private final(session: Session, result: string): void {
    const eol = this.profile.lineEnding
    this.write(session, `${eol}${result}${eol}`)
  }

  private errorLine(err: SimError): string {
    if (this.cmee === 0) return 'ERROR'
    return `+${err.kind} ERROR: ${err.code}`
  }

  private requireSim(kind: 'CME' | 'CMS'): void {
    if (this.simState === 'removed') throw new SimError(kind, kind === 'CME' ? 10 : 310)
    if (this.simState === 'SIM PIN') throw new SimError(kind, kind === 'CME' ? 11 : 311)
    if (this.simState === 'SIM PUK') throw new SimError(kind, kind === 'CME' ? 12 : 316)
    if (Date.now() < this.simBusyUntil) throw new SimError(kind, kind === 'CME' ? 14 : 314)
  }

  /** Runs one command of a possibly `;`-concatenated line; returns the final result. */
  private run(session: Session, cmd: string, info: string[]): string | 'PROMPT' | 'SILENT' {
    const upper = cmd.toUpperCase()
    const basic = /^([EVQZ]|&F|I)(\d?)$/.exec(upper)
    if (upper === '') return 'OK'
    if (basic) {
      if (basic[1] === 'E') this.echo = basic[2] === '1' || this.profile.ignoresEchoOff
      if (basic[1] === 'I') info.push(`${this.profile.manufacturer} ${this.profile.model}`)
      return 'OK'
    }
    const m = /^([+^$][A-Z0-9]+)(=\?|\?|=(.*))?$/.exec(
      cmd.replace(/^([+^$][a-z0-9]+)/i, (x) => x.toUpperCase()),
    )
    if (!m) return 'ERROR'
    const [, name, suffix = '', argText = ''] = m
    const query = suffix === '?'
    const test = suffix === '=?'
    const args = argText.split(',').map((a) => a.trim().replace(/^"|"$/g, ''))
    switch (name) {
      case '+CMEE':
        if (query) info.push(`+CMEE: ${this.cmee}`)
        else if (!test) this.cmee = Number(args[0]) || 0
        return 'OK'
      case '+CGMI':
      case '+GMI':
        info.push(this.profile.manufacturer)
        return 'OK'
      case '+CGMM':
      case '+GMM':
        info.push(this.profile.model)
        return 'OK'
      case '+CGMR':
      case '+GMR':
        info.push('1.0.0-sim')
        return 'OK'
      case '+CGSN':
      case '+GSN':
        info.push(this.options.imei ?? '356938035643809')
        return 'OK'
      case '+CIMI':
        this.requireSim('CME')
        info.push(this.options.imsi ?? '262019876543210')
        return 'OK'
      case '+CSCS':
        // gammu aborts its init if `AT+CSCS?` answers a bare OK.
        if (query) info.push('+CSCS: "IRA"')
        if (test) info.push('+CSCS: ("GSM","IRA","UCS2")')
        return 'OK'
      case '+CFUN':
        if (query) info.push('+CFUN: 1')
        else if (!test && args[1] === '1') return this.reboot(session)
        return 'OK'
      case '+CPIN':
        return this.cpin(query, args, info)
      case '+CSQ':
        info.push(`+CSQ: ${this.signal},99`)
        return 'OK'
      case '+CREG':
      case '+CGREG':
        if (query) info.push(`${name}: ${this.cregMode},${this.registration}`)
        else if (test) info.push(`${name}: (0-2)`)
        else if (name === '+CREG') this.cregMode = Number(args[0]) || 0
        return 'OK'
      case '+COPS':
        if (query)
          info.push(
            this.registration === 1 || this.registration === 5 ? '+COPS: 0,0,"IMS SIM NET"' : '+COPS: 0',
          )
        return 'OK'
      case '+CMGF':
        if (query) info.push(`+CMGF: ${this.cmgf}`)
        else if (test) info.push('+CMGF: (0,1)')
        else {
          this.requireSim('CMS')
          this.cmgf = Number(args[0]) || 0
        }
        return 'OK'
      case '+CSCA':
        this.requireSim('CME')
        if (query) info.push(`+CSCA: "${this.smsc}",${this.smsc.startsWith('+') ? 145 : 129}`)
        else if (!test) this.smsc = args[0]
        return 'OK'
      case '+CSMS':
        if (query) info.push('+CSMS: 0,1,1,1')
        else if (!test) info.push('+CSMS: 1,1,1')
        return 'OK'
      case '+CSMP':
        if (query) info.push('+CSMP: 17,167,0,0')
        return 'OK'
      case '+CMMS':
        if (this.profile.cmmsFails && !query && !test) throw new SimError('CMS', 500)
        return 'OK'
      case '+CNMI':
        return this.setCnmi(query, test, args, info)
      case '+CPMS':
        return this.cpmsCommand(query, test, args, info)
      case '+CMGS':
        if (test) return 'OK'
        this.requireSim('CMS')
        if (this.cmgf === 1) throw new SimError('CMS', 302)
        if (!/^\d+$/.test(args[0] ?? '') || Number(args[0]) < 7 || Number(args[0]) > 164)
          throw new SimError('CMS', 304)
        session.pduLength = Number(args[0])
        return 'PROMPT'
      case '+CMGR':
        return this.readSlot(args, info)
      case '+CMGD':
        return this.deleteSlot(args)
      case '+CMGL':
        return this.list(session, args, info)
      case '+CNMA':
        return 'OK'
      case '+CHUP':
      case '+CPAS':
      case '+CBC':
        if (name === '+CPAS' && !test) info.push('+CPAS: 0')
        if (name === '+CBC' && !test) info.push('+CBC: 0,100')
        return 'OK'
      default:
        // Unknown and vendor commands get the plain ERROR real modems give (gammu probes several).
        return 'ERROR'
    }
  }

  private cpin(query: boolean, args: string[], info: string[]): string {
    if (query) {
      if (this.simState === 'removed') throw new SimError('CME', 10)
      if (Date.now() < this.simBusyUntil) throw new SimError('CME', 14)
      info.push(`+CPIN: ${this.simState}`)
      return 'OK'
    }
    if (this.simState === 'READY') return 'OK'
    if (this.simState !== 'SIM PIN') throw new SimError('CME', this.simState === 'removed' ? 10 : 12)
    if (args[0] === this.options.pin) {
      this.simState = 'READY'
      this.pinAttempts = 3
      return 'OK'
    }
    if (--this.pinAttempts <= 0) this.simState = 'SIM PUK'
    throw new SimError('CME', 16)
  }

  private setCnmi(query: boolean, test: boolean, args: string[], info: string[]): string {
    if (query) info.push(`+CNMI: ${this.cnmi.join(',')}`)
    else if (test) info.push(`+CNMI: (0-2),(0-3),(0,2),(0-${this.profile.maxCnmiDs}),(0,1)`)
    else {
      const values = args.map((a) => (a === '' ? 0 : Number(a)))
      if (values.some((v) => !Number.isInteger(v)) || (values[3] ?? 0) > this.profile.maxCnmiDs) {
        throw new SimError('CMS', 303)
      }
      this.cnmi = [0, 1, 2, 3, 4].map((i) => values[i] ?? 0)
    }
    return 'OK'
  }

  private cpmsCommand(query: boolean, test: boolean, args: string[], info: string[]): string {
    this.requireSim('CMS')
    const usage = (m: Memory) => `${this.storage[m].filter(Boolean).length},${this.storage[m].length}`
    if (test) info.push('+CPMS: ("SM","SR"),("SM"),("SM")')
    else if (query) info.push(`+CPMS: ${this.cpms.map((m) => `"${m}",${usage(m)}`).join(',')}`)
    else {
      const wanted = args.filter(Boolean).map((a) => a.toUpperCase())
      if (wanted.some((m) => m !== 'SM' && m !== 'SR' && m !== 'ME' && m !== 'MT'))
        throw new SimError('CMS', 302)
      // ME/MT are treated as SM: this modem has one message store besides the report store.
      wanted.forEach((m, i) => (this.cpms[i] = m === 'SR' ? 'SR' : 'SM'))
      info.push(`+CPMS: ${this.cpms.map((m) => usage(m)).join(',')}`)
    }
    return 'OK'
  }

  private slotOf(arg: string | undefined): number {
    const index = Number(arg)
    const slot = index - this.profile.slotBase
    if (!Number.isInteger(index) || slot < 0 || slot >= this.storage[this.cpms[0]].length) {
      throw new SimError('CMS', 321)
    }
    return slot
  }

  private readSlot(args: string[], info: string[]): string {
    this.requireSim('CMS')
    const slot = this.slotOf(args[0])
    const entry = this.storage[this.cpms[0]][slot]
    if (!entry) {
      if (this.profile.emptySlotOk) return 'OK'
      throw new SimError('CMS', 321)
    }
    info.push(`+CMGR: ${entry.read ? 1 : 0},,${entry.tpduLength}`, entry.pdu)
    entry.read = true
    return 'OK'
  }

  private deleteSlot(args: string[]): string {
    this.requireSim('CMS')
    const memory = this.cpms[0]
    const flag = Number(args[1] ?? 0)
    if (flag > 0) {
      this.storage[memory].fill(undefined)
    } else {
      this.storage[memory][this.slotOf(args[0])] = undefined
    }
    this.releaseNetworkQueue()
    return 'OK'
  }

  private list(session: Session, args: string[], info: string[]): string | 'SILENT' {
    this.requireSim('CMS')
    const wanted = args[0] === '' || args[0] === undefined ? 4 : Number(args[0])
    const memory = this.storage[this.cpms[0]]
    memory.forEach((entry, slot) => {
      if (!entry) return
      const stat = entry.read ? 1 : 0
      if (wanted !== 4 && wanted !== stat) return
      info.push(`+CMGL: ${slot + this.profile.slotBase},${stat},,${entry.tpduLength}`, entry.pdu)
      entry.read = true
    })
    if (this.profile.cmglStallMs > 0) {
      session.busy = true
      this.later(this.profile.cmglStallMs, () => {
        session.busy = false
        this.respond(session, info)
        this.final(session, 'OK')
        this.onInput(session, '')
      })
      return 'SILENT'
    }
    return 'OK'
  }

  private reboot(session: Session): 'SILENT' {
    this.final(session, 'OK')
    this.rebootingUntil = Date.now() + (this.options.rebootMs ?? 1000)
    this.emit('reboot')
    this.later(this.options.rebootMs ?? 1000, () => {
      this.echo = this.profile.echoAtBoot
      this.cmee = 0
      this.cmgf = 0
      this.cnmi = [0, 0, 0, 0, 0]
      this.cpms = ['SM', 'SM', 'SM']
      this.cregMode = 0
      if (this.options.pin && this.simState === 'READY') this.simState = 'SIM PIN'
      for (const urc of this.profile.bootUrcs) this.broadcastUrc(urc)
    })
    return 'SILENT'
  }

  private async submit(session: Session, pdu: string, announcedLength: number): Promise<void> {
    const eol = this.profile.lineEnding
    if (this.profile.noiseUrc) this.sendUrcTo(session, this.profile.noiseUrc)
    let decoded: DecodedSubmit
    try {
      this.requireSim('CMS')
      const d = decodePdu(pdu, { hasSmsc: true })
      const tpduLength = pdu.length / 2 - 1 - parseInt(pdu.slice(0, 2), 16)
      if (d.type !== 'submit' || tpduLength !== announcedLength) throw new SimError('CMS', 304)
      decoded = d
    } catch (err) {
      return this.final(
        session,
        err instanceof SimError ? this.errorLine(err) : this.errorLine(new SimError('CMS', 304)),
      )
    }
    const hang = this.hangOn
    if (hang && hang.command === 'PDU') {
      this.hangOn = undefined
      this.hangUntil = hang.ms === undefined ? Infinity : Date.now() + hang.ms
      return
    }
    if (this.options.latencyMs) await new Promise<void>((r) => this.later(this.options.latencyMs!, r))
    if (this.registration !== 1 && this.registration !== 5)
      return this.final(session, this.errorLine(new SimError('CMS', 331)))
    if (this.cmsFaults && this.cmsFaults.remaining > 0) {
      this.cmsFaults.remaining--
      return this.final(session, this.errorLine(new SimError('CMS', this.cmsFaults.code)))
    }
    if (!this.sessions.has(session)) return
    const messageReference = this.messageReference
    this.messageReference = (this.messageReference + 1) % 256
    const concat = decoded.userData.concat
    const record: SubmittedSms = {
      receivedAt: new Date().toISOString(),
      messageReference,
      pdu,
      tpduLength: announcedLength,
      to: decoded.destination.value,
      text: decoded.userData.text,
      encoding: decoded.userData.encoding,
      statusReportRequest: decoded.statusReportRequest,
      part: concat
        ? { reference: concat.reference, sequence: concat.sequence, total: concat.total }
        : undefined,
    }
    this.sent.push(record)
    this.options.onSubmit?.(record)
    this.emit('submit', record)
    this.write(session, `${eol}+CMGS: ${messageReference}${eol}`)
    this.final(session, 'OK')
    const reportDelay = this.options.reportDelayMs ?? 500
    if (decoded.statusReportRequest && reportDelay >= 0) {
      this.later(reportDelay, () => this.injectStatusReport(messageReference, 0, record.to))
    }
  }

  // ---- output --------------------------------------------------------------------------------

  private store(memory: Memory, pdu: string, tpduLength: number): number | undefined {
    const slots = this.storage[memory]
    const free = slots.findIndex((s) => !s)
    if (free < 0) return undefined
    slots[free] = { pdu, tpduLength, read: false }
    return free + this.profile.slotBase
  }

  private releaseNetworkQueue(): void {
    while (this.networkQueue.length && this.storage.SM.some((s) => !s))
      this.injectPdu(this.networkQueue.shift()!)
  }

  private broadcastUrc(line: string, pdu?: string): void {
    for (const s of this.sessions) this.sendUrcTo(s, line, pdu)
  }

  private sendUrcTo(session: Session, line: string, pdu?: string): void {
    const eol = this.profile.lineEnding
    this.write(session, `${eol}${line}${eol}${pdu !== undefined ? `${pdu}${eol}` : ''}`)
  }

  private write(session: Session, text: string): void {
    if (!this.profile.byteWrites) {
      if (!session.stream.destroyed) session.stream.write(text, 'latin1')
      return
    }
    session.output.push(...text)
    if (session.writing) return
    session.writing = true
    const pump = () => {
      const ch = session.output.shift()
      if (ch === undefined || session.stream.destroyed) {
        session.writing = false
        return
      }
      session.stream.write(ch, 'latin1')
      setImmediate(pump)
    }
    pump()
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t)
      fn()
    }, ms)
    this.timers.add(t)
  }
}

class SimError extends Error {
  constructor(
    readonly kind: 'CME' | 'CMS',
    readonly code: number,
  ) {
    super(`+${kind} ERROR: ${code}`)
  }
}

/** Position of the first Ctrl-Z (end of PDU) or ESC (cancel), or -1. */
function indexOfControl(text: string): number {
  const z = text.indexOf(CTRL_Z)
  const e = text.indexOf(ESC)
  return z < 0 ? e : e < 0 ? z : Math.min(z, e)
}

/** `+CMEE=1;+CREG=2` → [`+CMEE=1`, `+CREG=2`], leaving `;` inside quotes alone. */
function splitCommands(text: string): string[] {
  const out: string[] = []
  let current = ''
  let quoted = false
  for (const ch of text) {
    if (ch === '"') quoted = !quoted
    if (ch === ';' && !quoted) {
      out.push(current.trim())
      current = ''
    } else current += ch
  }
  out.push(current.trim())
  return out.filter((c, i) => c !== '' || i === 0)
}
