import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { Duplex, PassThrough } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { openPtyPair, type PtyPair } from '../../../test/helpers/pty'
import { SerialProgrammerSim } from '../../sim/dongle/serial-programmer-sim'
import { openTransport, type Transport } from '../../serial/transport'
import type { DongleEvent } from '../programmer'
import { SerialProgrammer } from './driver'
import { CMD, FrameDecoder, STX, TAG, decodeTlv, encodeFrame, encodeTlv } from './protocol'

const oathtool = (args: string[]) => execFileSync('oathtool', args, { encoding: 'utf8' }).trim()

describe('serial programmer framing', () => {
  it('round-trips frames and resynchronises after noise, bad CRCs and split writes', () => {
    const a = encodeFrame({ seq: 1, cmd: CMD.INFO, payload: new Uint8Array(0) })
    const b = encodeFrame({ seq: 2, cmd: CMD.PROGRAM, payload: encodeTlv([[0x15, randomBytes(20)]]) })
    const corrupted = Uint8Array.from(b)
    corrupted[6] ^= 0xff
    const stream = Buffer.concat([
      Buffer.from([0x00, STX, 0x01, 0xff]),
      corrupted,
      a,
      Buffer.from([STX, 250]),
      b,
    ])
    const decoder = new FrameDecoder()
    const frames = [...stream].flatMap((byte) => decoder.push(Uint8Array.of(byte)))
    // The noise "STX 250" claims 250 more bytes: frame b surfaces once the quiet line makes the driver skip it.
    // A random payload byte may itself be STX and open another false frame, so the line may need to go quiet
    // more than once, as it would on a real link: skip until nothing is left waiting.
    for (let quiet = 0; quiet < stream.length; quiet++) frames.push(...decoder.skipStalled())
    expect(frames.map((f) => [f.seq, f.cmd])).toEqual([
      [1, CMD.INFO],
      [2, CMD.PROGRAM],
    ])
    expect(decoder.rejected).toBeGreaterThanOrEqual(2)
  })

  it('refuses malformed TLVs', () => {
    expect(() => decodeTlv(Uint8Array.of(1, 5, 0))).toThrow(/runs past/)
    expect(() => decodeTlv(Uint8Array.of(1, 0, 1, 0))).toThrow(/twice/)
  })
})

describe('serial programmer driver against the simulator over a pty', () => {
  let pty: PtyPair
  let hostSide: Transport
  let simSide: Transport
  let sim: SerialProgrammerSim
  let programmer: SerialProgrammer
  const now = 1_700_000_000_000

  async function setUp() {
    pty = await openPtyPair()
    simSide = await openTransport(pty.b)
    hostSide = await openTransport(pty.a)
    sim = new SerialProgrammerSim(simSide.stream, { now: () => now })
    programmer = new SerialProgrammer(hostSide, { timeoutMs: 500 })
  }

  afterEach(async () => {
    sim?.detach()
    await programmer?.close().catch(() => undefined)
    await simSide?.close()
    await pty?.close()
  })

  it('reports the token in the cradle, programs HOTP and reads the codes oathtool computes', async () => {
    await setUp()
    expect(await programmer.devices()).toEqual([])
    sim.insert({ serial: 'SN000001', model: 'Display token' })
    const [device] = await programmer.devices()
    expect(device).toMatchObject({ id: 'token-SN000001', serial: 'SN000001', model: 'Display token' })
    const seed = randomBytes(20)
    await programmer.program(device.id, seed, { kind: 'hotp', algorithm: 'SHA1', digits: 8, counter: 5 })
    expect(await programmer.readCode(device.id)).toBe(
      oathtool(['--hotp', '-d', '8', '-c', '5', seed.toString('hex')]),
    )
    expect(await programmer.readCode(device.id)).toBe(
      oathtool(['--hotp', '-d', '8', '-c', '6', seed.toString('hex')]),
    )
    await expect(
      programmer.program(device.id, seed, { kind: 'hotp', algorithm: 'SHA1', digits: 6, counter: 0 }),
    ).rejects.toMatchObject({ code: 'already-programmed' })
    await programmer.erase(device.id)
    await expect(programmer.readCode(device.id)).rejects.toMatchObject({ code: 'not-programmed' })
  })

  it('programs TOTP with SHA-256 and returns the code for the programmer clock', async () => {
    await setUp()
    sim.insert({ serial: 'SN000002' })
    const seed = randomBytes(32)
    await programmer.program('token-SN000002', seed, {
      kind: 'totp',
      algorithm: 'SHA256',
      digits: 6,
      period: 60,
    })
    const expected = oathtool(['--totp=sha256', '-s', '60', '-N', `@${now / 1000}`, seed.toString('hex')])
    expect(await programmer.readCode('token-SN000002')).toBe(expected)
  })

  it('announces insertion and removal (eject) as hot-plug events', async () => {
    await setUp()
    const events: DongleEvent[] = []
    programmer.watch((e) => events.push(e))
    sim.insert({ serial: 'SN000003' })
    await new Promise((r) => setTimeout(r, 100))
    await programmer.eject('token-SN000003')
    await new Promise((r) => setTimeout(r, 100))
    expect(events).toMatchObject([
      { type: 'attached', device: { serial: 'SN000003' } },
      { type: 'detached', id: 'token-SN000003' },
    ])
  })

  it('turns programmer refusals into typed errors', async () => {
    await setUp()
    await expect(programmer.readCode('token-X')).rejects.toMatchObject({ code: 'not-found' })
    sim.insert({ serial: 'SN000004', capabilities: 0x01 })
    const seed = randomBytes(20)
    await expect(
      programmer.program('token-SN000004', seed, { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 }),
    ).rejects.toMatchObject({ code: 'unsupported' })
    await expect(
      programmer.program('token-SN000004', seed, { kind: 'hotp', algorithm: 'SHA1', digits: 8, counter: 0 }),
    ).rejects.toMatchObject({ code: 'unsupported' })
  })
})

describe('serial programmer driver: lost frames and silence', () => {
  /** An in-memory cable whose host-to-device direction can lose frames. */
  function cable(lose: (chunk: Uint8Array) => boolean) {
    const host: Duplex = new Duplex({
      read() {},
      write(chunk: Uint8Array, _enc, done) {
        if (!lose(chunk)) device.push(chunk)
        done()
      },
    })
    const device: Duplex = new Duplex({
      read() {},
      write(chunk: Uint8Array, _enc, done) {
        host.push(chunk)
        done()
      },
    })
    return { host, device }
  }

  it('retries a lost request with the same SEQ and the programmer runs it only once', async () => {
    let lostReply = false
    const { host, device } = cable((chunk) => {
      // Lose the first READ_CODE request on its way.
      if (!lostReply && chunk[3] === CMD.READ_CODE) return (lostReply = true)
      return false
    })
    const sim = new SerialProgrammerSim(device)
    const programmer = new SerialProgrammer(
      { url: 'mem', stream: host, failure: undefined, close: async () => undefined },
      { timeoutMs: 100 },
    )
    sim.insert({ serial: 'R1' })
    const seed = randomBytes(20)
    await programmer.program('token-R1', seed, { kind: 'hotp', algorithm: 'SHA1', digits: 6, counter: 0 })
    expect(await programmer.readCode('token-R1')).toBe(oathtool(['--hotp', '-c', '0', seed.toString('hex')]))
    expect(lostReply).toBe(true)
    expect(sim.tokenInCradle?.config?.counter).toBe(1)
    sim.detach()
    await programmer.close()
  })

  it('answers a duplicated request from its reply cache instead of running it again', async () => {
    const { host, device } = cable(() => false)
    const sim = new SerialProgrammerSim(device)
    const programmer = new SerialProgrammer({
      url: 'mem',
      stream: host,
      failure: undefined,
      close: async () => undefined,
    })
    sim.insert({ serial: 'R2' })
    await programmer.program('token-R2', randomBytes(20), {
      kind: 'hotp',
      algorithm: 'SHA1',
      digits: 6,
      counter: 0,
    })
    const readCode = encodeFrame({ seq: 200, cmd: CMD.READ_CODE, payload: new Uint8Array(0) })
    host.write(readCode)
    host.write(readCode)
    await new Promise((r) => setTimeout(r, 50))
    expect(sim.tokenInCradle?.config?.counter).toBe(1)
    sim.detach()
    await programmer.close()
  })

  const memTransport = (stream: Duplex) => ({
    url: 'mem',
    stream,
    failure: undefined,
    close: async () => undefined,
  })

  it('a new session sees a token inserted after the last one asked with an empty cradle', async () => {
    const { host, device } = cable(() => false)
    const sim = new SerialProgrammerSim(device)
    const first = new SerialProgrammer(memTransport(host), { timeoutMs: 200 })
    expect(await first.devices()).toEqual([])
    await first.close()
    sim.insert({ serial: 'S2' })
    const second = new SerialProgrammer(memTransport(host), { timeoutMs: 200 })
    expect(await second.devices()).toMatchObject([{ id: 'token-S2' }])
    sim.detach()
    await second.close()
  })

  it('the programmer drops its reply cache when a token is inserted or removed', async () => {
    const { host, device } = cable(() => false)
    const sim = new SerialProgrammerSim(device)
    const decoder = new FrameDecoder()
    const present: number[] = []
    host.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk))
        if (f.seq !== 0) present.push(decodeTlv(f.payload.subarray(1)).get(TAG.TOKEN_PRESENT)![0])
    })
    // The same request three times, as a host session starting over at the same SEQ would send it.
    const info = () => host.write(encodeFrame({ seq: 9, cmd: CMD.INFO, payload: new Uint8Array(0) }))
    const settle = () => new Promise((r) => setTimeout(r, 30))
    info()
    await settle()
    sim.insert({ serial: 'S3' })
    info()
    await settle()
    sim.remove()
    info()
    await settle()
    expect(present).toEqual([0, 1, 0])
    sim.detach()
  })

  it('each host session starts at a random SEQ', async () => {
    let lastSeq = 0
    const { host, device } = cable((chunk) => {
      lastSeq = chunk[2]
      return false
    })
    const sim = new SerialProgrammerSim(device)
    const firstSeqs: number[] = []
    for (let i = 0; i < 20; i++) {
      const session = new SerialProgrammer(memTransport(host))
      await session.devices() // one INFO: the session's first request
      firstSeqs.push(lastSeq)
      await session.close()
    }
    expect(firstSeqs.every((seq) => seq >= 1 && seq <= 255)).toBe(true)
    // Twenty sessions all starting at the same SEQ by chance: 255^-19.
    expect(new Set(firstSeqs).size).toBeGreaterThan(1)
    sim.detach()
  })

  it('times out when nothing answers', async () => {
    const stream = new PassThrough()
    const programmer = new SerialProgrammer(
      { url: 'mem', stream, failure: undefined, close: async () => undefined },
      { timeoutMs: 50, retries: 1 },
    )
    stream.on('data', () => undefined)
    await expect(programmer.devices()).rejects.toMatchObject({ code: 'timeout' })
    await programmer.close()
  })
})

describe('the documented example frame', () => {
  it('INFO with SEQ 1 is 02 02 01 01 25 7b (docs/dongle-programmer.md)', () => {
    expect(
      Buffer.from(encodeFrame({ seq: 1, cmd: CMD.INFO, payload: new Uint8Array(0) })).toString('hex'),
    ).toBe('02020101257b')
  })
})
