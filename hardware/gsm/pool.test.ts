import { afterEach, describe, expect, it } from 'vitest'
import { GsmModem } from './modem'
import { ModemPool } from './pool'
import { InMemoryJobQueue, Priority, type SmsJob } from './queue'
import { simulatedModemOnPty, type SimulatedModem } from './testing/sim-pty'
import type { SimulatorOptions } from '../sim/modem/simulator'

let sims: SimulatedModem[] = []
let pools: ModemPool[] = []

afterEach(async () => {
  for (const p of pools) await p.stop()
  for (const s of sims) await s.close()
  sims = []
  pools = []
})

async function poolOf(
  simOptions: SimulatorOptions[],
  poolOptions: { ratePerMinute?: number; ratePerMinuteOf?: Record<string, number> } = {},
) {
  const queue = new InMemoryJobQueue()
  const simulated = await Promise.all(simOptions.map((o) => simulatedModemOnPty({ reportDelayMs: -1, ...o })))
  sims.push(...simulated)
  const modems = simulated.map(
    (s, i) =>
      new GsmModem({
        id: `m${i}`,
        url: s.url,
        commandTimeoutMs: 2000,
        sendTimeoutMs: 3000,
        pollIntervalMs: 0,
        rebootDelayMs: 50,
      }),
  )
  for (const m of modems) m.on('warning', () => undefined)
  const pool = new ModemPool({ source: queue, modems, deadRetryMs: 60_000, idlePollMs: 200, ...poolOptions })
  pools.push(pool)
  return { queue, pool, sims: simulated }
}

/** Fails the test instead of waiting out vitest's timeout when the pool holds a job for good. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const job = (id: string, priority: number = Priority.notification, text = `message ${id}`): SmsJob => ({
  id,
  priority,
  sms: { to: '+491234567890', text },
})

describe('ModemPool', () => {
  it('hands a message cut off after its PDU went out back as "maybe sent", sends everything else once', async () => {
    const { queue, pool, sims } = await poolOf([{ latencyMs: 300 }, { latencyMs: 30 }])
    const dead = new Promise<void>((resolve) =>
      pool.on('modem-state', (h) => h.id === 'm0' && h.state === 'dead' && resolve()),
    )
    await pool.start()
    const [a, b] = sims
    let cut = false
    a.sim.on('command', (line) => {
      if (!cut && line.startsWith('AT+CMGS')) {
        cut = true
        // The PDU follows the prompt at once; the network answer would take 300 ms.
        setTimeout(() => void a.pair.close(), 50)
      }
    })
    const failovers: string[] = []
    pool.on('failover', (j, from) => failovers.push(`${j.id}@${from}`))
    for (let i = 0; i < 12; i++) queue.enqueue(job(`j${i}`))
    await queue.settled(12)

    // No silent resend on another modem: the source gets it back flagged and decides.
    expect(failovers).toEqual([])
    expect(queue.failed).toHaveLength(1)
    const [lost] = queue.failed
    expect(lost.retryable).toBe(true)
    expect((lost.error as { maybeSent?: boolean }).maybeSent).toBe(true)
    const ids = [...queue.sent.map((o) => o.job.id), lost.job.id].sort()
    expect(ids).toEqual(Array.from({ length: 12 }, (_, i) => `j${i}`).sort())
    expect(b.sim.sent.map((s) => s.text)).not.toContain(`message ${lost.job.id}`)
    // The escalation ends in "dead": the device is gone, so neither reset nor reopen can succeed.
    await dead
  })

  it('moves a message to another modem when the first never prompted for the PDU', async () => {
    const { queue, pool, sims } = await poolOf([{}, { latencyMs: 20 }])
    sims[1].sim.setSignal(5) // m0 is preferred
    await pool.start()
    sims[0].sim.fault({ kind: 'hang', on: 'CMGS', ms: 10_000 })
    const failovers: string[] = []
    pool.on('failover', (j, from) => failovers.push(`${j.id}@${from}`))
    queue.enqueue(job('moved'))
    await queue.settled(1)
    expect(failovers).toEqual(['moved@m0'])
    expect(queue.sent[0]).toMatchObject({ modemId: 'm1', job: { id: 'moved' } })
    expect(sims[0].sim.sent).toEqual([])
  })

  it('applies a per-modem rate limit over the pool default', async () => {
    const { queue, pool } = await poolOf([{}, {}], { ratePerMinuteOf: { m0: 1 } })
    await pool.start()
    for (const id of ['a', 'b', 'c']) queue.enqueue(job(id))
    await queue.settled(3)
    expect(queue.sent.filter((o) => o.modemId === 'm0')).toHaveLength(1)
  })

  it('sends codes before notifications', async () => {
    const { queue, pool, sims } = await poolOf([{}])
    queue.enqueue(job('n1'))
    queue.enqueue(job('n2'))
    queue.enqueue(job('c1', Priority.code))
    queue.enqueue(job('n3'))
    queue.enqueue(job('c2', Priority.code))
    await pool.start()
    await queue.settled(5)
    expect(sims[0].sim.sent.map((s) => s.text)).toEqual(
      ['c1', 'c2', 'n1', 'n2', 'n3'].map((id) => `message ${id}`),
    )
  })

  it('prefers the modem with the better health score', async () => {
    const { queue, pool, sims } = await poolOf([{}, {}])
    sims[0].sim.setSignal(4)
    sims[1].sim.setSignal(28)
    await pool.start()
    queue.enqueue(job('only'))
    await queue.settled(1)
    expect(queue.sent[0].modemId).toBe('m1')
    const [weak, strong] = pool.health()
    expect(weak.score).toBeLessThan(strong.score)
  })

  it('spreads work when the per-modem rate limit holds the first modem back', async () => {
    const { queue, pool } = await poolOf([{}, {}], { ratePerMinute: 6 })
    await pool.start()
    queue.enqueue(job('a'))
    queue.enqueue(job('b'))
    await queue.settled(2)
    expect(new Set(queue.sent.map((o) => o.modemId))).toEqual(new Set(['m0', 'm1']))
  })

  it('hands back a job as not retryable when the modem rejects the PDU, and as retryable once every modem failed', async () => {
    const { queue, pool, sims } = await poolOf([{}, {}])
    await pool.start()
    sims[0].sim.fault({ kind: 'cms', code: 304, count: 5 })
    sims[1].sim.fault({ kind: 'cms', code: 304, count: 5 })
    queue.enqueue(job('bad'))
    await queue.settled(1)
    expect(queue.failed[0]).toMatchObject({ retryable: false })
    sims[0].sim.fault({ kind: 'cms', code: 500, count: 5 })
    sims[1].sim.fault({ kind: 'cms', code: 500, count: 5 })
    queue.enqueue(job('unlucky'))
    await queue.settled(2)
    expect(queue.failed[1]).toMatchObject({ retryable: true, job: { id: 'unlucky' } })
  })

  it('hands a failed job back as retryable when the only untried modem is not registered (dispatch would never use it)', async () => {
    const { queue, pool, sims } = await poolOf([{}, {}])
    sims[0].sim.setRegistration(2) // searching: the modem opens and is ready, but has no network
    await pool.start()
    sims[1].sim.fault({ kind: 'cms', code: 500 })
    queue.enqueue(job('stranded'))
    await within(3000, 'the job back from the pool', queue.settled(1))
    expect(queue.failed).toMatchObject([{ retryable: true, job: { id: 'stranded' } }])
    expect(sims[0].sim.sent).toEqual([])
  })

  it('fails a job waiting for another modem as soon as that modem can no longer take it', async () => {
    const { queue, pool, sims } = await poolOf([{}, {}], { ratePerMinuteOf: { m0: 1 } })
    sims[1].sim.setSignal(5) // m0 is preferred
    await pool.start()
    queue.enqueue(job('first'))
    await within(3000, 'the first job', queue.settled(1))
    expect(queue.sent[0].modemId).toBe('m0') // m0 now waits a minute before its next message
    sims[1].sim.fault({ kind: 'cms', code: 500 })
    const failover = new Promise((resolve) => pool.once('failover', resolve))
    queue.enqueue(job('waiting'))
    await within(3000, 'the failover', failover) // held for m0
    sims[0].sim.setRegistration(3) // registration denied: m0 can no longer take it
    await within(3000, 'the held job back from the pool', queue.settled(2))
    expect(queue.failed).toMatchObject([{ retryable: true, job: { id: 'waiting' } }])
  })

  it('enters a PIN the SIM rejected once only, however often the modem is reopened; a new PIN brings it up', async () => {
    const s = await simulatedModemOnPty({ reportDelayMs: -1, pin: '2468' })
    sims.push(s)
    const entered: string[] = []
    s.sim.on('command', (line) => line.startsWith('AT+CPIN=') && entered.push(line))
    let pin = '9731'
    const modem = new GsmModem({
      id: 'locked',
      url: s.url,
      pin: () => pin,
      commandTimeoutMs: 1000,
      pollIntervalMs: 0,
    })
    modem.on('warning', () => undefined)
    const pool = new ModemPool({ source: new InMemoryJobQueue(), modems: [modem], deadRetryMs: 100 })
    pools.push(pool)
    const errors: string[] = []
    pool.on('modem-error', (_id, err) => errors.push(err.message))
    await pool.start()
    // Five opens, four of them retries after deadRetryMs: a SIM allows three tries before it wants its PUK.
    await within(
      5000,
      'five opens',
      (async () => {
        while (errors.length < 5) await sleep(20)
      })(),
    )
    expect(entered).toHaveLength(1)
    expect(s.sim.snapshot().sim).toBe('SIM PIN')
    expect(pool.health()[0].state).toBe('dead')
    expect(errors.at(-1)).toMatch(/PIN .*rejected/)
    expect(errors.join('\n')).not.toContain('9731')
    pin = '2468' // the operator configures the right PIN
    await within(
      5000,
      'the modem up',
      (async () => {
        while (pool.health()[0].state !== 'ready') await sleep(20)
      })(),
    )
    expect(entered).toHaveLength(2)
    expect(s.sim.snapshot().sim).toBe('READY')
  })

  it('recovers a modem that stops answering while idle, before any message waits on it', async () => {
    const s = await simulatedModemOnPty({ reportDelayMs: -1, rebootMs: 100 })
    sims.push(s)
    const modem = new GsmModem({
      id: 'idle',
      url: s.url,
      commandTimeoutMs: 300,
      pollIntervalMs: 100,
      rebootDelayMs: 300,
    })
    modem.on('warning', () => undefined)
    const pool = new ModemPool({ source: new InMemoryJobQueue(), modems: [modem], resetAfterErrors: 3 })
    pools.push(pool)
    await pool.start()
    const states: string[] = []
    pool.on('modem-state', (h) => {
      states.push(h.state)
      if (h.state === 'recovering') s.sim.clearFaults() // it answers again once reset
    })
    s.sim.fault({ kind: 'hang' }) // its polls time out; no message is queued
    while (pool.health()[0].state !== 'ready' || !states.includes('recovering'))
      await new Promise((r) => setTimeout(r, 50))
    expect(states).toEqual(['recovering', 'ready'])
  })

  it('a dead modem is tried again after deadRetryMs, and serves once it answers', async () => {
    const s = await simulatedModemOnPty({ reportDelayMs: -1 })
    sims.push(s)
    s.sim.fault({ kind: 'hang' }) // silent from the start: the pool cannot open it
    const modem = new GsmModem({ id: 'late', url: s.url, commandTimeoutMs: 200, pollIntervalMs: 0 })
    modem.on('warning', () => undefined)
    const queue = new InMemoryJobQueue()
    const pool = new ModemPool({ source: queue, modems: [modem], deadRetryMs: 300 })
    pools.push(pool)
    const states: string[] = []
    pool.on('modem-state', (h) => states.push(h.state))
    await pool.start()
    while (pool.health()[0].state !== 'dead') await new Promise((r) => setTimeout(r, 50))
    s.sim.clearFaults()
    while (pool.health()[0].state !== 'ready') await new Promise((r) => setTimeout(r, 50))
    expect(states.indexOf('dead')).toBeLessThan(states.lastIndexOf('ready'))
    const sent = new Promise((resolve) => pool.once('sent', resolve))
    queue.enqueue(job('after-revival'))
    await sent
    expect(s.sim.sent.map((m) => m.text)).toEqual(['message after-revival'])
  })

  it('a SIM pulled out: its messages go to the other modem, it leaves service, and serves again once a SIM is back', async () => {
    const pulled = await simulatedModemOnPty({ reportDelayMs: -1, pin: '2468' })
    const other = await simulatedModemOnPty({ reportDelayMs: -1 })
    sims.push(pulled, other)
    const options = { commandTimeoutMs: 1000, pollIntervalMs: 0, rebootDelayMs: 50 }
    const modems = [
      new GsmModem({ id: 'pulled', url: pulled.url, pin: () => '2468', ...options }),
      new GsmModem({ id: 'other', url: other.url, ...options }),
    ]
    for (const m of modems) m.on('warning', () => undefined)
    const queue = new InMemoryJobQueue()
    const pool = new ModemPool({ source: queue, modems, deadRetryMs: 300, resetAfterErrors: 1 })
    pools.push(pool)
    const failovers: [string, string][] = []
    pool.on('failover', (_job, id, err) =>
      failovers.push([id, (err as { errorName?: string }).errorName ?? '']),
    )
    const states: string[] = []
    pool.on('modem-state', (h) => h.id === 'pulled' && states.push(h.state))
    await pool.start()

    pulled.sim.fault({ kind: 'sim', state: 'removed' })
    for (let i = 0; i < 6; i++) queue.enqueue(job(`while-out-${i}`))
    while (queue.sent.length < 6) await new Promise((r) => setTimeout(r, 20))
    // Every message went out once, through the modem that still has its SIM; none failed.
    expect(queue.failed).toEqual([])
    expect(other.sim.sent.map((m) => m.text).sort()).toEqual(
      Array.from({ length: 6 }, (_, i) => `message while-out-${i}`).sort(),
    )
    expect(pulled.sim.sent).toEqual([])
    expect(failovers).toContainEqual(['pulled', 'SIM_NOT_INSERTED'])
    // A reset cannot bring back a missing SIM: the modem is out of service (and retried later).
    while (pool.health()[0].state !== 'dead') await new Promise((r) => setTimeout(r, 20))

    // A SIM is put back; it asks for its PIN, which the modem enters again when the pool retries it.
    pulled.sim.fault({ kind: 'sim', state: 'PIN' })
    while (pool.health()[0].state !== 'ready') await new Promise((r) => setTimeout(r, 20))
    expect(pulled.sim.snapshot().sim).toBe('READY')
    // ready → recovering (the reset) → dead, then (after retries while the SIM was out) ready again.
    expect(states.indexOf('recovering')).toBeGreaterThan(states.indexOf('ready'))
    expect(states.indexOf('dead')).toBeGreaterThan(states.indexOf('recovering'))
    expect(states.at(-1)).toBe('ready')
  })

  it('forwards incoming SMS and status reports from every modem', async () => {
    const { pool, sims } = await poolOf([{}, {}])
    await pool.start()
    const got = new Promise<string>((resolve) => pool.on('sms', (m) => resolve(`${m.modemId}:${m.text}`)))
    sims[1].sim.injectSms({ from: '+4915', text: 'STOP' })
    expect(await got).toBe('m1:STOP')
  })
})
