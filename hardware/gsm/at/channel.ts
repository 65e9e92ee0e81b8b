/**
 * The AT command channel: one command at a time over a byte stream, with a line parser that sorts every
 * line into echo, response, final result or unsolicited result code (URC).
 *
 * Real modems interleave URCs anywhere, including between the echo and `OK` and between `> ` and
 * `+CMGS:`; some echo after `ATE0`, end lines with `\r\r\n`, send `> ` with no newline, or deliver
 * responses one byte at a time. A line is a response only when its prefix matches the pending command
 * (`AT+CREG?` expects `+CREG:`), so a `+CREG:` URC during `AT+CSQ` is still reported as a URC.
 */
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import { AtError, AtTimeoutError, ChannelClosedError, errorFromFinalLine } from './errors'

export interface Urc {
  /** The URC line, e.g. `+CMTI: "SM",3`. */
  line: string
  /** The second line of two-line URCs (`+CMT:`, `+CDS:`): the PDU. */
  pdu?: string
}

export interface CommandOptions {
  timeoutMs?: number
  /** Written after the `> ` prompt and terminated with Ctrl-Z (SMS PDU for `AT+CMGS` / `AT+CMGW`). */
  pdu?: string
  /**
   * Some modems end certain commands without `OK` (Wavecom: `+CPIN: READY`). Once a response line
   * with the expected prefix arrives, wait this long for `OK` and then complete anyway.
   */
  okOptionalAfterMs?: number
}

export type TraceFn = (direction: 'tx' | 'rx', text: string) => void

export interface AtChannelOptions {
  defaultTimeoutMs?: number
  /** Wire trace, already redacted: PIN and PDUs (which carry OTPs) never reach it. */
  trace?: TraceFn
}

const FINAL_OK = /^OK$/
const FINAL_ERROR = /^(ERROR|\+CMS ERROR:.*|\+CME ERROR:.*|NO CARRIER|COMMAND NOT SUPPORT)$/
const URC_PREFIXES = [
  '+CMTI:',
  '+CMT:',
  '+CDS:',
  '+CDSI:',
  '+CBM:',
  '+CREG:',
  '+CGREG:',
  '+CEREG:',
  '+CUSD:',
  '+CLIP:',
  '+CRING:',
  '+CIEV:',
  '+CPIN:',
  '+CFUN:',
  '+QIND:',
  '+PBREADY',
  '^RSSI:',
  '^HCSQ:',
  '^BOOT:',
  '^MODE:',
  '^SRVST:',
  '^SIMST:',
  '^SYSSTART',
  'RING',
  'RDY',
  'SMS Ready',
  'Call Ready',
  '+STIN:',
]
const TWO_LINE_URCS = ['+CMT:', '+CDS:', '+CBM:']

interface Pending {
  command: string
  expectPrefixes: string[]
  lines: string[]
  options: CommandOptions
  promptSent: boolean
  resolve(lines: string[]): void
  reject(err: Error): void
  timer?: NodeJS.Timeout
  graceTimer?: NodeJS.Timeout
}

/** `AT+CMEE=1;+CREG=2` → [`+CMEE:`, `+CREG:`]; `AT^SYSCFG?` → [`^SYSCFG:`]. */
function expectedPrefixes(command: string): string[] {
  return [...command.matchAll(/([+^$][A-Z0-9]+)/gi)].map((m) => `${m[1].toUpperCase()}:`)
}

function redactCommand(command: string): string {
  return command.replace(/^(AT\+CPIN=).*/i, '$1<redacted>').replace(/^(AT\+CPWD=).*/i, '$1<redacted>')
}

function redactLine(line: string): string {
  const bare = line.endsWith('\x1a') ? line.slice(0, -1) : line
  return /^[0-9A-F]{20,}$/i.test(bare) ? `<pdu ${Math.floor(bare.length / 2)} octets>` : line
}

export class AtChannel extends EventEmitter<{ urc: [Urc]; close: [reason: string] }> {
  private buf = ''
  private pending: Pending | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private urcHeader: string | undefined
  private closedReason: string | undefined
  private readonly defaultTimeoutMs: number
  private readonly trace?: TraceFn

  constructor(
    private readonly stream: Duplex,
    options: AtChannelOptions = {},
  ) {
    super()
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000
    this.trace = options.trace
    stream.setEncoding?.('latin1')
    stream.on('data', (chunk: string | Buffer) =>
      this.onData(typeof chunk === 'string' ? chunk : chunk.toString('latin1')),
    )
    stream.on('close', () => this.shutdown('stream closed'))
    stream.on('end', () => this.shutdown('stream ended'))
    stream.on('error', (err: Error) => this.shutdown(err.message))
  }

  get closed(): boolean {
    return this.closedReason !== undefined
  }

  /**
   * Sends one command and resolves with its response lines (echo, URCs and the final `OK` removed).
   * Rejects with a named AtError: ModemReportedError for `+CMS/+CME ERROR`, AtTimeoutError, etc.
   */
  command(command: string, options: CommandOptions = {}): Promise<string[]> {
    const run = this.queue.then(() => this.execute(command, options))
    // The queue must continue after a failure; callers see the failure through `run`.
    this.queue = run.catch(() => undefined)
    return run
  }

  /**
   * Writes a lone ESC: cancels an `AT+CMGS` prompt a previous process (killed mid-send) may have left
   * open, which would otherwise swallow the next commands as PDU text. gammu does the same on connect.
   */
  cancelPendingPrompt(): void {
    this.trace?.('tx', '<ESC>')
    this.write('\x1b')
  }

  /** Fails the pending command and everything queued, and stops listening. */
  shutdown(reason: string): void {
    if (this.closedReason !== undefined) return
    this.closedReason = reason
    if (this.pending) this.finish(new ChannelClosedError(reason))
    this.emit('close', reason)
  }

  private execute(command: string, options: CommandOptions): Promise<string[]> {
    if (this.closedReason !== undefined) return Promise.reject(new ChannelClosedError(this.closedReason))
    return new Promise<string[]>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs
      const pending: Pending = {
        command,
        expectPrefixes: expectedPrefixes(command),
        lines: [],
        options,
        promptSent: false,
        resolve,
        reject,
      }
      pending.timer = setTimeout(() => {
        // Cancel an unanswered `> ` prompt with ESC so the modem does not swallow the next command.
        if (options.pdu !== undefined && !pending.promptSent) this.write('\x1b')
        this.finish(new AtTimeoutError(redactCommand(command), timeoutMs))
      }, timeoutMs)
      this.pending = pending
      this.trace?.('tx', redactCommand(command))
      this.write(`${command}\r`)
    })
  }

  private write(text: string): void {
    if (this.closedReason !== undefined) return
    try {
      this.stream.write(text, 'latin1')
    } catch (err) {
      this.shutdown((err as Error).message)
    }
  }

  private finish(result: AtError | string[]): void {
    const p = this.pending
    if (!p) return
    this.pending = undefined
    clearTimeout(p.timer)
    clearTimeout(p.graceTimer)
    if (Array.isArray(result)) return p.resolve(result)
    // No answer after the PDU went out: the modem may have handed it to the network. An error *result*
    // (`+CMS ERROR`) is different: the modem says it did not send.
    if (p.promptSent && (result instanceof AtTimeoutError || result instanceof ChannelClosedError))
      result.maybeSent = true
    p.reject(result)
  }

  private onData(chunk: string): void {
    // A powered-off SIM800 on a raw UART floods NUL bytes: they are never part of AT text.
    this.buf += chunk.includes('\0') ? chunk.replace(/\0/g, '') : chunk
    for (;;) {
      if (this.takePrompt()) continue
      const end = this.buf.search(/[\r\n]/)
      if (end < 0) break
      const line = this.buf.slice(0, end).trim()
      this.buf = this.buf.slice(end + 1)
      if (line) this.onLine(line)
    }
  }

  /** `> ` arrives without a newline; it is a prompt only while a PDU is waiting to be written. */
  private takePrompt(): boolean {
    const p = this.pending
    if (!p || p.options.pdu === undefined || p.promptSent) return false
    const m = /^[\r\n]*> ?/.exec(this.buf)
    if (!m) return false
    this.buf = this.buf.slice(m[0].length)
    p.promptSent = true
    this.trace?.('rx', '> ')
    this.trace?.('tx', `<pdu ${p.options.pdu.length / 2} octets>`)
    this.write(`${p.options.pdu}\x1a`)
    return true
  }

  private onLine(line: string): void {
    this.trace?.('rx', redactLine(redactCommand(line)))
    if (this.urcHeader !== undefined) {
      const header = this.urcHeader
      this.urcHeader = undefined
      this.emit('urc', { line: header, pdu: line })
      return
    }
    const p = this.pending
    if (p && this.isEcho(line, p)) return
    if (p && FINAL_OK.test(line)) return this.finish(p.lines)
    if (p && FINAL_ERROR.test(line)) {
      return this.finish(errorFromFinalLine(line, redactCommand(p.command)) ?? new AtError(line, true))
    }
    if (p && (p.expectPrefixes.some((prefix) => line.startsWith(prefix)) || !isUrc(line))) {
      p.lines.push(line)
      if (
        p.options.okOptionalAfterMs !== undefined &&
        !p.graceTimer &&
        p.expectPrefixes.some((x) => line.startsWith(x))
      ) {
        p.graceTimer = setTimeout(
          () => this.pending === p && this.finish(p.lines),
          p.options.okOptionalAfterMs,
        )
      }
      return
    }
    if (isUrc(line)) {
      if (TWO_LINE_URCS.some((prefix) => line.startsWith(prefix))) this.urcHeader = line
      else this.emit('urc', { line })
    }
    // Anything else without a pending command is a late reply to a timed-out command: dropped.
  }

  private isEcho(line: string, p: Pending): boolean {
    if (line.toUpperCase() === p.command.toUpperCase()) return true
    // With echo on, the PDU comes back too, followed by the Ctrl-Z we sent.
    return (
      p.options.pdu !== undefined &&
      p.promptSent &&
      (line.endsWith('\x1a') ? line.slice(0, -1) : line).toUpperCase() === p.options.pdu
    )
  }
}

function isUrc(line: string): boolean {
  return URC_PREFIXES.some((prefix) => line.startsWith(prefix))
}
