/**
 * The simulator's fidelity, judged by independent AT clients from Debian: gammu and smstools' smsd must
 * identify, send and receive through it exactly as they would with a real modem.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { openTransport, type Transport } from '../../serial/transport'
import { openPtyPair, type PtyPair } from '../../../test/helpers/pty'
import { ModemSimulator } from './simulator'

const run = promisify(execFile)

function missing(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin'])) {
    if (existsSync(join(dir, binary))) return undefined
  }
  return `${binary} is not installed`
}

const noGammu = missing('gammu')
const noSmsd = missing('smsd') ?? missing('socat')

let cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.reverse()) await c()
  cleanups = []
})

async function simOnPty(): Promise<{ sim: ModemSimulator; device: string; dir: string }> {
  const pair: PtyPair = await openPtyPair()
  const sim = new ModemSimulator({ reportDelayMs: -1 })
  const side: Transport = await openTransport(pair.b)
  sim.attach(side.stream)
  const dir = mkdtempSync(join(tmpdir(), 'modem-oracle-'))
  cleanups.push(async () => {
    sim.close()
    await side.close()
    await pair.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return { sim, device: pair.a, dir }
}

function gammurc(dir: string, device: string, connection = 'at115200'): string {
  const rc = join(dir, 'gammurc')
  writeFileSync(
    rc,
    `[gammu]\ndevice = ${device}\nconnection = ${connection}\nlogfile = ${join(dir, 'gammu.log')}\nlogformat = textall\n`,
  )
  return rc
}

async function until(what: string, condition: () => boolean, timeoutMs = 25_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe.skipIf(noGammu)(`gammu against the simulator${noGammu ? ` (skipped: ${noGammu})` : ''}`, () => {
  it('identifies the modem over a pty', async () => {
    const { device, dir } = await simOnPty()
    const { stdout } = await run('gammu', ['-c', gammurc(dir, device), 'identify'])
    expect(stdout).toMatch(/Manufacturer\s+: IMS Simulated/)
    expect(stdout).toMatch(/IMEI\s+: 356938035643809/)
  })

  it('sends a three-part SMS that arrives intact', async () => {
    const { sim, device, dir } = await simOnPty()
    const text = 'Multipart from gammu with {braces} and [brackets]. '.repeat(7).trim()
    const { stdout } = await run('gammu', [
      '-c',
      gammurc(dir, device),
      'sendsms',
      'TEXT',
      '+491234567890',
      '-len',
      String(text.length),
      '-text',
      text,
    ])
    expect(stdout).toMatch(/Sending SMS 3\/3/)
    expect(sim.sent).toHaveLength(3)
    expect(sim.sent.map((s) => s.text).join('')).toBe(text)
    expect(sim.sent.every((s) => s.to === '+491234567890' && s.part?.total === 3)).toBe(true)
  })

  it('reads SMS injected into the simulator (getallsms)', async () => {
    const { sim, device, dir } = await simOnPty()
    sim.injectSms({ from: '+4915112345', text: 'Injected for gammu: ok' })
    sim.injectSms({ from: 'MyBank', text: 'Код 42' })
    const { stdout } = await run('gammu', ['-c', gammurc(dir, device), 'getallsms'])
    expect(stdout).toContain('Injected for gammu: ok')
    expect(stdout).toContain('Код 42')
    expect(stdout).toContain('"+4915112345"')
    expect(stdout).toContain('"MyBank"')
  })

  it('identifies the modem over stdio (gammu proxyat spawns the simulator CLI)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'modem-oracle-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const root = fileURLToPath(new URL('../../../', import.meta.url))
    const command = `${join(root, 'node_modules/.bin/tsx')} ${join(root, 'hardware/sim/modem/bin.ts')} --stdio --profile sim800`
    const { stdout } = await run('gammu', ['-c', gammurc(dir, command, 'proxyat'), 'identify'])
    expect(stdout).toMatch(/Manufacturer\s+: SIMCOM_Ltd/)
  })
})

function smsdConfig(dir: string, device: string): string {
  const spool = ['outgoing', 'checked', 'incoming', 'sent', 'failed', 'report']
  for (const s of spool) mkdirSync(join(dir, s), { recursive: true })
  const conf = join(dir, 'smsd.conf')
  writeFileSync(
    conf,
    [
      'devices = GSM1',
      ...spool.map((s) => `${s} = ${join(dir, s)}`),
      `logfile = ${join(dir, 'smsd.log')}`,
      'loglevel = 7',
      `infofile = ${join(dir, 'smsd.running')}`,
      `pidfile = ${join(dir, 'smsd.pid')}`,
      'delaytime = 1',
      'delaytime_mainprocess = 1',
      '[GSM1]',
      `device = ${device}`,
      'incoming = yes',
      '',
    ].join('\n'),
  )
  return conf
}

function startSmsd(conf: string): ChildProcess {
  // Its own process group, so the per-device child smsd forks is stopped with it.
  const child = spawn('smsd', ['-c', conf, '-t'], { stdio: 'ignore', detached: true })
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once('exit', () => resolve())
        try {
          process.kill(-child.pid!, 'SIGTERM')
        } catch {
          resolve()
        }
      }),
  )
  return child
}

const spoolFiles = (dir: string) => readdirSync(dir).map((f) => readFileSync(join(dir, f), 'latin1'))

describe.skipIf(noSmsd)(`smstools smsd against the simulator${noSmsd ? ` (skipped: ${noSmsd})` : ''}`, () => {
  it('sends a spooled SMS and receives an injected two-part SMS over a pty', async () => {
    const { sim, device, dir } = await simOnPty()
    const conf = smsdConfig(dir, device)
    writeFileSync(join(dir, 'outgoing', 'otp'), 'To: 491234567890\n\nYour code is 123456 {ok}')
    startSmsd(conf)
    await until('smsd to send', () => sim.sent.length === 1)
    expect(sim.sent[0]).toMatchObject({ to: '+491234567890', text: 'Your code is 123456 {ok}' })
    await until('smsd to move the file to sent/', () => readdirSync(join(dir, 'sent')).length === 1)

    const reply = `STOP card 1234 [please] ${'z'.repeat(160)}`
    sim.injectSms({ from: '+4915112345', text: reply })
    // While parts are missing smsd keeps raw part files; the assembled message starts with headers.
    const assembled = () => spoolFiles(join(dir, 'incoming')).find((f) => f.startsWith('From:'))
    await until('smsd to store the reassembled SMS', () => assembled() !== undefined)
    const file = assembled()!
    expect(file).toContain('From: 4915112345')
    expect(file.split('\n\n').slice(1).join('\n\n')).toBe(reply)
    await until('smsd to delete what it read', () => sim.snapshot().storage.SM === 0)
  })

  it('sends through the simulator over TCP (device = @127.0.0.1:port)', async () => {
    const sim = new ModemSimulator({ reportDelayMs: -1 })
    const server: Server = createServer((socket) => sim.attach(socket))
    server.listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    const dir = mkdtempSync(join(tmpdir(), 'modem-oracle-'))
    cleanups.push(async () => {
      sim.close()
      await new Promise((r) => server.close(r))
      rmSync(dir, { recursive: true, force: true })
    })
    const conf = smsdConfig(dir, `@127.0.0.1:${(server.address() as AddressInfo).port}`)
    writeFileSync(join(dir, 'outgoing', 'note'), 'To: 491234567890\n\nCard used at SHOP for 12.34 EUR')
    startSmsd(conf)
    await until('smsd to send over TCP', () => sim.sent.length === 1)
    expect(sim.sent[0].text).toBe('Card used at SHOP for 12.34 EUR')
  })
})
