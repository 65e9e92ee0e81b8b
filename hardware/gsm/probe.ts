/**
 * A quick look at whatever answers on a port, without initialising it for SMS: is it a modem, which one,
 * is it registered, how strong is the signal. Used before a modem is added to the pool, so it needs no
 * SIM PIN and changes nothing in the modem but echo.
 */
import { openTransport, type Transport } from '../serial/transport'
import { AtChannel } from './at/channel'
import { AtError } from './at/errors'
import { parseCreg, parseCsq, parseCops, parseInfo, type Registration } from './at/responses'

export interface ProbeResult {
  url: string
  manufacturer?: string
  model?: string
  /** `ATI`: vendor, model and firmware on most modems. */
  identification?: string
  signal?: number
  registration?: Registration
  operator?: string
  /** Commands the modem refused (an `ERROR` is an answer, so the probe still succeeds). */
  refused: string[]
}

export interface ProbeOptions {
  timeoutMs?: number
  baudRate?: number
  open?: (url: string) => Promise<Transport>
}

export async function probeModem(url: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutMs = options.timeoutMs ?? 3000
  const transport = await (options.open ?? ((u) => openTransport(u, { baudRate: options.baudRate })))(url)
  const channel = new AtChannel(transport.stream, { defaultTimeoutMs: timeoutMs })
  const refused: string[] = []
  // A refused command is information; silence or a closed line ends the probe.
  const ask = async (command: string): Promise<string[]> => {
    try {
      return await channel.command(command)
    } catch (err) {
      if (!(err instanceof AtError) || channel.closed || err.name === 'AtTimeoutError') throw err
      refused.push(command)
      return []
    }
  }
  try {
    // Some modems ignore the first AT after idling (smstools `needs_wakeup_at`).
    await channel.command('AT', { timeoutMs: Math.min(timeoutMs, 1000) }).catch(() => channel.command('AT'))
    await ask('ATE0')
    const identification = parseInfo(await ask('ATI'))
    const manufacturer = parseInfo(await ask('AT+CGMI'))
    const model = parseInfo(await ask('AT+CGMM'))
    const signal = parseCsq(await ask('AT+CSQ'))
    const registration = parseCreg(await ask('AT+CREG?'))
    const operator = parseCops(await ask('AT+COPS?'))
    return { url, manufacturer, model, identification, signal, registration, operator, refused }
  } finally {
    channel.shutdown('probe finished')
    await transport.close().catch(() => undefined)
  }
}
