import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { AtTimeoutError, ChannelClosedError, ModemReportedError } from './at/errors'
import { GsmModem, PinError, type IncomingMessage, type IncomingReport, type ModemOptions } from './modem'
import { PROFILES } from './profiles'
import { simulatedModemOnPty, type SimulatedModem } from './testing/sim-pty'
import { ModemSimulator, type SimulatorOptions } from '../sim/modem/simulator'
import { resolveSimProfile } from '../sim/modem/profiles'

let sims: SimulatedModem[] = []
let modems: GsmModem[] = []

afterEach(async () => {
  for (const m of modems) await m.close()
  for (const s of sims) await s.close()
  sims = []
  modems = []
})

async function setup(simOptions: SimulatorOptions, modemOptions: Partial<ModemOptions> = {}, open = true) {
  const s = await simulatedModemOnPty({ reportDelayMs: 50, ...simOptions })
  sims.push(s)
  const modem = new GsmModem({
    id: 'm1',
    url: s.url,
    profile: typeof simOptions.profile === 'string' ? simOptions.profile : undefined,
    commandTimeoutMs: 2000,
    sendTimeoutMs: 3000,
    pollIntervalMs: 150,
    simBusyTimeoutMs: 5000,
    rebootDelayMs: 100,
    ...modemOptions,
  })
  modem.on('warning', () => undefined)
  modems.push(modem)
  if (open) await modem.open()
  return { sim: s.sim, modem, pty: s }
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 20))
}

function nextEvent<T>(modem: GsmModem, name: 'sms' | 'status-report'): Promise<T> {
  return once(modem, name).then(([v]) => v as T)
}

describe.each(Object.keys(PROFILES))('driver against the simulator over a pty, profile %s', (profile) => {
  it('initialises, sends a concatenated SMS with a status report, and receives', async () => {
    const { sim, modem } = await setup({ profile })
    expect(modem.status()).toMatchObject({ state: 'ready', registration: 'home', signal: 21 })

    const report = nextEvent<IncomingReport>(modem, 'status-report')
    const text = 'Your code is 123456. {Ext} € '.repeat(8)
    const result = await modem.sendSms({ to: '+491234567890', text, statusReport: true })
    expect(result.parts).toBe(2)
    expect(sim.sent.map((s) => s.text).join('')).toBe(text)
    expect(sim.sent.every((s) => s.to === '+491234567890' && s.statusReportRequest)).toBe(true)
    const r = await report
    expect(result.messageReferences).toContain(r.messageReference)
    expect(r).toMatchObject({ outcome: 'delivered', recipient: { value: '+491234567890' } })

    const sms = nextEvent<IncomingMessage>(modem, 'sms')
    // Out of order, with a duplicate part: the reassembler must still produce the text once.
    sim.injectSms({ from: '+4917012345', text: 'Стоп 😀 '.repeat(20), partOrder: [3, 1, 3, 2] })
    expect(await sms).toMatchObject({
      text: 'Стоп 😀 '.repeat(20),
      complete: true,
      from: { value: '+4917012345' },
    })
    await until(() => sim.snapshot().storage.SM === 0)
  })
})

describe('driver faults against the simulator', () => {
  it('CMS 500 fails the send promptly as retryable; the next send works', async () => {
    const { sim, modem } = await setup({})
    sim.fault({ kind: 'cms', code: 500 })
    const err = await modem.sendSms({ to: '+4917', text: 'x' }).catch((e) => e)
    expect(err).toBeInstanceOf(ModemReportedError)
    expect(err).toMatchObject({ code: 500, errorName: 'UNKNOWN_ERROR', retryable: true })
    await expect(modem.sendSms({ to: '+4917', text: 'y' })).resolves.toMatchObject({ parts: 1 })
  })

  it.each([
    [304, 'INVALID_PDU_PARAMETER', false],
    [314, 'SIM_BUSY', true],
    [321, 'INVALID_MEMORY_INDEX', false],
    [322, 'MEMORY_FULL', true],
    [330, 'SMSC_ADDRESS_UNKNOWN', true],
    [331, 'NO_NETWORK_SERVICE', true],
    [332, 'NETWORK_TIMEOUT', true],
    [42, 'CONGESTION', true],
  ])('CMS %i is reported as %s (retryable %s)', async (code, errorName, retryable) => {
    const { sim, modem } = await setup({})
    sim.fault({ kind: 'cms', code })
    await expect(modem.sendSms({ to: '+4917', text: 'x' })).rejects.toMatchObject({
      code,
      errorName,
      retryable,
    })
  })

  it('a modem that hangs after the PDU times out the send', async () => {
    const { sim, modem } = await setup({}, { sendTimeoutMs: 500 })
    sim.fault({ kind: 'hang', on: 'PDU', ms: 700 })
    await expect(modem.sendSms({ to: '+4917', text: 'x' })).rejects.toBeInstanceOf(AtTimeoutError)
  })

  it('a disconnect over tcp:// fails the pending send and reports the modem disconnected', async () => {
    const sim = new ModemSimulator({ latencyMs: 300 })
    const server = createServer((socket) => sim.attach(socket))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as AddressInfo
    const modem = new GsmModem({ id: 'tcp', url: `tcp://127.0.0.1:${port}`, pollIntervalMs: 0 })
    modems.push(modem)
    try {
      await modem.open()
      const gone = once(modem, 'disconnected')
      const send = modem.sendSms({ to: '+4917', text: 'x' })
      setTimeout(() => sim.fault({ kind: 'disconnect' }), 100)
      await expect(send).rejects.toBeInstanceOf(ChannelClosedError)
      await gone
      expect(modem.status().state).toBe('disconnected')
    } finally {
      sim.close()
      server.close()
    }
  })

  it('cutting the pty link fails the pending send (cable pulled)', async () => {
    const { modem, pty } = await setup({ latencyMs: 300 })
    const send = modem.sendSms({ to: '+4917', text: 'x' })
    setTimeout(() => void pty.pair.close(), 100)
    await expect(send).rejects.toMatchObject({ retryable: true })
  })

  it('retries while the SIM is busy after boot (+CME ERROR: 14)', async () => {
    const { sim, modem } = await setup({}, {}, false)
    sim.fault({ kind: 'sim-busy', ms: 800 })
    await modem.open()
    expect(modem.status().state).toBe('ready')
  })

  it('enters the SIM PIN from the caller, and fails clearly without one or on PUK', async () => {
    const ok = await setup({ pin: '2468' }, { pin: () => '2468' }, false)
    await ok.modem.open()
    expect(ok.sim.snapshot().sim).toBe('READY')
    const missing = await setup({ pin: '2468' }, {}, false)
    await expect(missing.modem.open()).rejects.toBeInstanceOf(PinError)
    const puk = await setup({}, {}, false)
    puk.sim.fault({ kind: 'sim', state: 'PUK' })
    const err = await puk.modem.open().catch((e) => e)
    expect(err).toBeInstanceOf(PinError)
    expect(err.message).not.toContain('2468')
  })

  it('detects a full memory, sweeps it, and then receives the SMS that was waiting', async () => {
    const { sim, modem } = await setup({})
    const full = once(modem, 'memory-full')
    sim.fault({ kind: 'memory-full' })
    sim.injectSms({ from: '+4915', text: 'waiting at the network' })
    const received: string[] = []
    const waiting = new Promise<void>((resolve) =>
      modem.on('sms', (m) => {
        received.push(m.text)
        if (m.text === 'waiting at the network') resolve()
      }),
    )
    await full
    await waiting
    expect(received).toHaveLength(31)
  })

  it('reads slot-by-slot from index 0 on Huawei instead of the hanging AT+CMGL', async () => {
    const { sim, modem } = await setup({ profile: 'huawei' }, { profile: 'huawei' })
    sim.fault({ kind: 'memory-full' })
    const first = once(modem, 'sms')
    await modem.checkStorage()
    await first
    expect(sim.snapshot().storage.SM).toBe(0)
  })

  it('soft reset (AT+CFUN=1,1) reboots the modem and re-initialises it', async () => {
    const { sim, modem } = await setup({ rebootMs: 200 }, { rebootDelayMs: 400 })
    const rebooted = once(sim, 'reboot')
    await modem.reset()
    await rebooted
    expect(modem.status().state).toBe('ready')
    expect(sim.snapshot().cnmi).toBe(PROFILES.generic.cnmi)
    await expect(modem.sendSms({ to: '+4917', text: 'after reset' })).resolves.toMatchObject({ parts: 1 })
  })

  it('keeps the parts of a concatenated SMS in the modem until all came: a killed process loses none', async () => {
    const pty = await simulatedModemOnPty({})
    sims.push(pty)
    const commands: string[] = []
    pty.sim.on('command', (line: string) => commands.push(line))
    // The driver in a process of its own, as in the server, killed with SIGKILL between two parts.
    const driver = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { GsmModem } from './hardware/gsm/modem.ts'
         const modem = new GsmModem({ id: 'm1', url: process.argv[1], pollIntervalMs: 0 })
         modem.on('sms', (m) => console.log('sms', m.text.length))
         await modem.open()
         console.log('ready')`,
        pty.url,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let printed = ''
    driver.stdout.on('data', (d: Buffer) => (printed += d.toString()))
    await until(() => printed.includes('ready'))
    const message = { from: '+4917', text: 'q'.repeat(400), reference: 77 } // three parts
    pty.sim.injectSms({ ...message, partOrder: [1, 2] })
    await until(() => commands.filter((c) => c.startsWith('AT+CMGR=')).length === 2)
    driver.kill('SIGKILL')
    await once(driver, 'exit')
    expect(printed).not.toContain('sms')
    expect(commands.some((c) => c.startsWith('AT+CMGD'))).toBe(false)
    expect(pty.sim.snapshot().storage.SM).toBe(2)

    // The restarted driver reads both parts back; the third completes the message, and only then is
    // the memory emptied.
    const modem = new GsmModem({ id: 'm1', url: pty.url, pollIntervalMs: 0, commandTimeoutMs: 2000 })
    modems.push(modem)
    const sms = nextEvent<IncomingMessage>(modem, 'sms')
    await modem.open()
    expect(pty.sim.snapshot().storage.SM).toBe(2)
    pty.sim.injectSms({ ...message, partOrder: [3] })
    expect(await sms).toMatchObject({ text: message.text, complete: true, parts: 3 })
    await until(() => pty.sim.snapshot().storage.SM === 0)
  })

  it('deletes a received SMS from the modem only once the caller has its copy on disk', async () => {
    let synced!: () => void
    const onDisk = new Promise<void>((resolve) => (synced = resolve))
    const { sim, modem } = await setup({}, { beforeDelete: () => onDisk })
    const deletes: string[] = []
    sim.on('command', (line: string) => line.startsWith('AT+CMGD') && deletes.push(line))
    const sms = nextEvent<IncomingMessage>(modem, 'sms')
    sim.injectSms({ from: '+4915', text: 'YES 123456' })
    await sms
    await new Promise((r) => setTimeout(r, 300))
    expect(deletes).toEqual([])
    expect(sim.snapshot().storage.SM).toBe(1)
    synced()
    await until(() => sim.snapshot().storage.SM === 0)
  })

  it('reads the status reports a stopped driver left in the report memory (SR)', async () => {
    const { sim, modem, pty } = await setup({})
    await modem.close()
    sim.injectStatusReport(77, 0, '+4917') // stored in SR; its +CDSI reaches no one
    expect(sim.snapshot().storage.SR).toBe(1)
    const again = new GsmModem({ id: 'm1', url: pty.url, commandTimeoutMs: 2000, pollIntervalMs: 0 })
    modems.push(again)
    const report = nextEvent<IncomingReport>(again, 'status-report')
    await again.open()
    expect(await report).toMatchObject({ messageReference: 77, outcome: 'delivered' })
    await until(() => sim.snapshot().storage.SR === 0)
  })

  it('keeps parts in at most half of the memory: past that they are read and deleted', async () => {
    const { sim, modem } = await setup({})
    const deletes: string[] = []
    sim.on('command', (line: string) => line.startsWith('AT+CMGD') && deletes.push(line))
    const half = 15 // of the simulator's 30 SIM slots
    for (let i = 0; i < half + 3; i++)
      sim.injectSms({ from: `+49170${i}`, text: 'r'.repeat(200), partOrder: [1] })
    await until(() => deletes.length === 3)
    expect(sim.snapshot().storage.SM).toBe(half)
    // A single-part SMS still gets through and leaves nothing behind.
    const single = nextEvent<IncomingMessage>(modem, 'sms')
    sim.injectSms({ from: '+4915', text: 'YES 123456' })
    expect(await single).toMatchObject({ text: 'YES 123456', complete: true })
    await until(() => deletes.length === 4)
    expect(sim.snapshot().storage.SM).toBe(half)
  })

  it('a graceful close delivers a half-kept message once: its kept part is deleted before the port closes', async () => {
    // Two SIM slots: one part may stay (half the memory), the next is read and deleted (held nowhere else).
    const { sim, modem, pty } = await setup({ profile: { ...resolveSimProfile('generic'), smSlots: 2 } })
    const deletes: string[] = []
    const reads: string[] = []
    sim.on('command', (line: string) => {
      if (line.startsWith('AT+CMGD')) deletes.push(line)
      if (line.startsWith('AT+CMGR')) reads.push(line)
    })
    const message = { from: '+4918', text: 's'.repeat(400), reference: 91 } // three parts
    sim.injectSms({ ...message, partOrder: [1] })
    await until(() => reads.length === 1)
    sim.injectSms({ ...message, partOrder: [2] })
    await until(() => deletes.length === 1)
    expect(sim.snapshot().storage.SM).toBe(1)

    const delivered: IncomingMessage[] = []
    modem.on('sms', (m: IncomingMessage) => delivered.push(m))
    await modem.close()
    expect(delivered).toMatchObject([{ complete: false, missingParts: [3], parts: 3 }])
    expect(sim.snapshot().storage.SM).toBe(0)

    // Nothing of it is left for the next start to deliver again.
    const again = new GsmModem({
      id: 'm1',
      url: pty.url,
      commandTimeoutMs: 2000,
      pollIntervalMs: 0,
      multipartTimeoutMs: 200,
    })
    modems.push(again)
    again.on('sms', (m: IncomingMessage) => delivered.push(m))
    await again.open()
    await new Promise((r) => setTimeout(r, 400))
    expect(delivered).toHaveLength(1)
  })

  it('delivers an incomplete multipart message after the timeout, naming the missing part', async () => {
    const { sim, modem } = await setup({}, { multipartTimeoutMs: 300 })
    const sms = nextEvent<IncomingMessage>(modem, 'sms')
    sim.injectSms({ from: '+4916', text: 'p'.repeat(400), partOrder: [1, 3], referenceBits: 16 })
    expect(await sms).toMatchObject({ complete: false, missingParts: [2], parts: 3 })
    // What came is deleted with it.
    await until(() => sim.snapshot().storage.SM === 0)
  })
})
