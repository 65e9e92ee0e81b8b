/**
 * The simulator's line-based control protocol, for people (typed on the CLI's stdin or through
 * `nc`/`socat` on the control socket) and for scripts. One command per line, one reply per command,
 * ending with `OK` or `ERR <reason>`.
 */
import { createServer, type Server } from 'node:net'
import { createInterface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import type { Fault, ModemSimulator } from './simulator'

export const CONTROL_HELP = `commands:
  sms <from> <text...>            an SMS arrives (long texts arrive as concatenated parts)
  sms16 <from> <text...>          same, with 16-bit concatenation references
  pdu <hex>                       a raw SMS-DELIVER PDU (with SMSC field) arrives
  report <mr> [status]            status report for message reference <mr> (0 delivered, 64+ failed)
  fault hang [ms]                 stop answering (for ms, or until 'clear')
  fault hang-on <CMGS|PDU> [ms]   hang when that command / an SMS PDU arrives
  fault cms <code> [count]        next sends fail with +CMS ERROR: <code>
  fault sim-busy <ms>             SIM busy (+CME ERROR: 14) for ms
  fault memory-full               fill SMS storage (new SMS wait at the network, no +CMTI)
  fault sim <PIN|PUK|removed>     SIM asks for PIN / PUK, or is removed
  fault disconnect                drop the line
  clear                           clear faults
  signal <0-31|99>                set CSQ
  registration <0-5>              set CREG stat (1 home, 5 roaming, 0/2/3 not registered)
  sent [n]                        last n sent SMS as JSON lines
  status                          simulator state as JSON
  help`

function parseFault(args: string[]): Fault {
  const [kind, a, b] = args
  const num = (v: string | undefined, what: string) => {
    const n = Number(v)
    if (v === undefined || !Number.isFinite(n) || n < 0)
      throw new Error(`${what} must be a non-negative number`)
    return n
  }
  switch (kind) {
    case 'hang':
      return { kind: 'hang', ms: a === undefined ? undefined : num(a, 'ms') }
    case 'hang-on':
      if (!a) throw new Error('hang-on needs a command (CMGS or PDU)')
      return { kind: 'hang', on: a.toUpperCase(), ms: b === undefined ? undefined : num(b, 'ms') }
    case 'cms':
      return { kind: 'cms', code: num(a, 'code'), count: b === undefined ? 1 : num(b, 'count') }
    case 'sim-busy':
      return { kind: 'sim-busy', ms: num(a, 'ms') }
    case 'memory-full':
      return { kind: 'memory-full' }
    case 'disconnect':
      return { kind: 'disconnect' }
    case 'sim':
      if (a !== 'PIN' && a !== 'PUK' && a !== 'removed')
        throw new Error('sim state must be PIN, PUK or removed')
      return { kind: 'sim', state: a }
    default:
      throw new Error(`unknown fault "${kind ?? ''}"`)
  }
}

/** Runs one control command and returns the reply text (last line `OK` or `ERR ...`). */
export function runControlCommand(sim: ModemSimulator, line: string): string {
  const [command, ...args] = line.trim().split(/\s+/)
  try {
    switch (command) {
      case '':
        return ''
      case 'help':
        return `${CONTROL_HELP}\nOK`
      case 'sms':
      case 'sms16': {
        const [from, ...words] = args
        if (!from || words.length === 0) throw new Error('usage: sms <from> <text...>')
        const text = line.trim().slice(command.length).trim().slice(from.length).trim()
        sim.injectSms({ from, text, referenceBits: command === 'sms16' ? 16 : 8 })
        return 'OK'
      }
      case 'pdu':
        if (!/^[0-9A-Fa-f]+$/.test(args[0] ?? '')) throw new Error('usage: pdu <hex>')
        sim.injectPdu(args[0].toUpperCase())
        return 'OK'
      case 'report': {
        const mr = Number(args[0])
        const status = args[1] === undefined ? 0 : Number(args[1])
        if (!Number.isInteger(mr) || mr < 0 || mr > 255) throw new Error('message reference must be 0-255')
        if (!Number.isInteger(status) || status < 0 || status > 127) throw new Error('status must be 0-127')
        sim.injectStatusReport(mr, status)
        return 'OK'
      }
      case 'fault':
        sim.fault(parseFault(args))
        return 'OK'
      case 'clear':
        sim.clearFaults()
        return 'OK'
      case 'signal':
      case 'registration': {
        const n = Number(args[0])
        if (!Number.isInteger(n) || n < 0 || n > 99) throw new Error(`${command} needs a number`)
        if (command === 'signal') sim.setSignal(n)
        else sim.setRegistration(n)
        return 'OK'
      }
      case 'sent': {
        const n = args[0] === undefined ? 10 : Number(args[0])
        return [...sim.sent.slice(-n).map((s) => JSON.stringify(s)), 'OK'].join('\n')
      }
      case 'status':
        return `${JSON.stringify(sim.snapshot())}\nOK`
      default:
        throw new Error(`unknown command "${command}" (try help)`)
    }
  } catch (err) {
    return `ERR ${(err as Error).message}`
  }
}

/** Serves the control protocol on a readable/writable pair (stdin/stdout, a socket). */
export function serveControl(sim: ModemSimulator, input: Readable, output: Writable): void {
  const rl = createInterface({ input })
  rl.on('line', (line) => {
    const reply = runControlCommand(sim, line)
    if (reply && output.writable) output.write(`${reply}\n`)
  })
}

/** Control socket: `127.0.0.1:PORT` when given a number, a unix socket path otherwise. */
export async function listenControl(sim: ModemSimulator, where: string): Promise<Server> {
  const server = createServer((socket) => serveControl(sim, socket, socket))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    if (/^\d+$/.test(where)) server.listen(Number(where), '127.0.0.1', resolve)
    else server.listen(where, resolve)
  })
  return server
}
