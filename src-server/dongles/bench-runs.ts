import type { DongleDevice, DongleProgrammer, OathSlotParams } from '../../hardware/dongle/programmer'
import { conflict, notFound } from '../http/problem'
import type { Logger } from '../log'
import { eraseAfterFailure, runBenchFlow, type BenchStep, type ProvisionedDongle } from './bench-flow'
import type { DongleEvents } from './events'
import type { DongleInventory } from './inventory'
import type { BenchRunView, BenchStepView } from './model'

/** How long the bench waits for a token to be plugged in, and for a USB key's touch to be typed in. */
const DETECT_TIMEOUT_MS = 120_000
const TOUCH_TIMEOUT_MS = 120_000
/** Finished runs kept for the console (their labels are re-rendered from the inventory on demand). */
const KEEP_RUNS = 50

interface Run {
  view: BenchRunView
  touch?: { resolve(code: string): void; reject(err: Error): void }
  abort: AbortController
}

/** The slice of the inventory and programmer manager a bench run needs (the CLI passes its own). */
export interface BenchDeps {
  inventory: DongleInventory
  events?: DongleEvents
  log?: Logger
}

/**
 * Provisions one token end to end and stores it: bench flow (detected → seed → programmed → verified →
 * labelled), then the inventory. The bench flow erases the device on its own failures once the seed may be on
 * it; if storing fails the device is erased here, so no token leaves the bench with a seed the inventory does
 * not know.
 */
export async function provisionAndStore(
  programmer: DongleProgrammer,
  params: OathSlotParams,
  options: {
    inventory: DongleInventory
    actor: string
    onStep?: (step: BenchStep | { step: 'stored' }) => void
    timeoutMs?: number
    signal?: AbortSignal
  },
): Promise<{ result: ProvisionedDongle; source: 'generated' | 'inventory' }> {
  let source: 'generated' | 'inventory' = 'generated'
  const result = await runBenchFlow(params, {
    programmer,
    timeoutMs: options.timeoutMs ?? DETECT_TIMEOUT_MS,
    signal: options.signal,
    inventorySeed: async (device) => {
      const seed = options.inventory.seedForBench(device.serial)
      if (seed) source = 'inventory'
      return seed
    },
    onStep: options.onStep,
  })
  try {
    options.inventory.recordProgrammed(result.seed, result.state, result.programmedAt, source, options.actor)
  } catch (err) {
    const erased = await eraseAfterFailure(programmer, result.device.id)
    options.onStep?.({
      step: 'failed',
      stage: 'store',
      reason: `not stored: ${(err as Error).message}; ${erased}`,
    })
    throw err
  } finally {
    result.seed.secret.fill(0)
  }
  options.onStep?.({ step: 'stored' })
  // A serial programmer releases the token so the next blank one can go in.
  const eject = (programmer as { eject?: (id: string) => Promise<void> }).eject
  if (eject) await eject.call(programmer, result.device.id).catch(() => undefined)
  return { result, source }
}

/** Bench runs started from the console: one per programmer at a time, each step published as it happens. */
export class BenchRuns {
  private readonly runs = new Map<number, Run>()
  private seq = 0

  constructor(
    private readonly deps: Required<BenchDeps>,
    private readonly programmers: {
      claim(id: string): DongleProgrammer
      release(id: string): void
    },
  ) {}

  start(programmerId: string, params: OathSlotParams, actor: string): BenchRunView {
    const programmer = this.programmers.claim(programmerId)
    const id = ++this.seq
    const run: Run = {
      view: { id, programmerId, status: 'running', awaitingTouch: false, steps: [] },
      abort: new AbortController(),
    }
    this.runs.set(id, run)
    for (const old of [...this.runs.keys()].slice(0, Math.max(0, this.runs.size - KEEP_RUNS)))
      this.runs.delete(old)
    const step = (s: BenchStep | { step: 'stored' } | { step: 'touch' }) => {
      run.view.steps.push(stepView(s))
      if (s.step === 'detected') run.view.device = { programmerId, ...s.device }
      if (s.step === 'seed') run.view.seedSource = s.source
      if (s.step === 'failed') run.view.error = s.reason
      this.publish(run)
    }
    provisionAndStore(programmer, params, {
      inventory: this.deps.inventory,
      actor,
      onStep: step,
      signal: run.abort.signal,
    })
      .then(({ result }) => {
        run.view.status = 'done'
        run.view.serial = result.device.serial
      })
      .catch((err: Error) => {
        run.view.status = 'failed'
        run.view.error ??= err.message
        this.deps.log.warn({ run: id, programmer: programmerId, reason: err.message }, 'bench run failed')
      })
      .finally(() => {
        run.view.awaitingTouch = false
        run.touch?.reject(new Error('the run ended'))
        run.touch = undefined
        this.programmers.release(programmerId)
        this.publish(run)
      })
    return structuredClone(run.view)
  }

  get(id: number): BenchRunView {
    const run = this.runs.get(id)
    if (!run) throw notFound(`No bench run ${id}`)
    return structuredClone(run.view)
  }

  list(): BenchRunView[] {
    return [...this.runs.values()].reverse().map((r) => structuredClone(r.view))
  }

  cancel(id: number): void {
    const run = this.runs.get(id)
    if (!run) throw notFound(`No bench run ${id}`)
    run.abort.abort()
    run.touch?.reject(new Error('cancelled by the operator'))
  }

  /** For USB keys: waits until the operator types (or scans) what the key typed when touched. */
  readTouch(programmerId: string, _device: DongleDevice): Promise<string> {
    const run = [...this.runs.values()].find(
      (r) => r.view.programmerId === programmerId && r.view.status === 'running',
    )
    if (!run) return Promise.reject(new Error('no bench run is waiting for this key'))
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error('nobody touched the key in time')), TOUCH_TIMEOUT_MS)
      const finish = (err: Error | null, code?: string) => {
        clearTimeout(timer)
        run.touch = undefined
        run.view.awaitingTouch = false
        if (err) reject(err)
        else resolve(code!)
      }
      run.touch = { resolve: (code) => finish(null, code), reject: (err) => finish(err) }
      run.view.awaitingTouch = true
      run.view.steps.push(stepView({ step: 'touch' }))
      this.publish(run)
    })
  }

  /** The code a USB key typed, handed to the waiting run. Never stored, logged or published. */
  submitTouch(id: number, code: string): void {
    const run = this.runs.get(id)
    if (!run) throw notFound(`No bench run ${id}`)
    if (!run.touch) throw conflict(`Bench run ${id} is not waiting for a touch`)
    run.touch.resolve(code)
  }

  private publish(run: Run): void {
    this.deps.events.publish({ type: 'bench', run: structuredClone(run.view) })
  }
}

function stepView(s: BenchStep | { step: 'stored' } | { step: 'touch' }): BenchStepView {
  const at = new Date().toISOString()
  switch (s.step) {
    case 'detected':
      return { step: 'detected', at, detail: `${s.device.model} ${s.device.serial}` }
    case 'seed':
      return {
        step: 'seed',
        at,
        detail: s.source === 'generated' ? 'generated (CSPRNG)' : 'from the inventory',
      }
    case 'labelled':
      return { step: 'labelled', at, detail: `${s.bytes} bytes` }
    case 'failed':
      return { step: 'failed', at, detail: `${s.stage}: ${s.reason}` }
    case 'touch':
      return { step: 'touch', at, detail: 'touch the key and type or scan its code' }
    default:
      return { step: s.step, at }
  }
}
