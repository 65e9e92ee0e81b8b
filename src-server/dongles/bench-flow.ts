import { randomBytes } from 'node:crypto'
import {
  DongleError,
  type DongleDevice,
  type DongleProgrammer,
  type OathSlotParams,
} from '../../hardware/dongle/programmer'
import { newTokenState, verifyCode, type OathToken, type TokenState } from '../otp/token'
import type { SeedRecord } from './import-report'
import { renderTokenLabel, type TokenLabel } from './label'

/** Progress of one dongle through the bench, for the console; never carries a seed or a code. */
export type BenchStep =
  | { step: 'waiting' }
  | { step: 'detected'; device: DongleDevice }
  | { step: 'seed'; source: 'generated' | 'inventory' }
  | { step: 'programmed' }
  | { step: 'verified' }
  | { step: 'labelled'; bytes: number }
  | { step: 'failed'; stage: 'detect' | 'seed' | 'program' | 'verify' | 'label' | 'store'; reason: string }

export interface BenchFlowDeps {
  programmer: DongleProgrammer
  /** A seed already in the inventory for this device (e.g. from the vendor's PSKC), or null to generate one. */
  inventorySeed?: (device: DongleDevice) => Promise<SeedRecord | null>
  renderLabel?: (label: TokenLabel) => Promise<Buffer>
  now?: () => number
  onStep?: (event: BenchStep) => void
}

/** What the caller stores: the seed record (to encrypt at rest), the token state after the first code, the label. */
export interface ProvisionedDongle {
  device: DongleDevice
  seed: SeedRecord
  state: TokenState
  programmedAt: number
  label: Buffer
}

export class BenchFlowError extends Error {
  constructor(
    readonly stage: Extract<BenchStep, { step: 'failed' }>['stage'],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'BenchFlowError'
  }
}

const SEED_BYTES = { SHA1: 20, SHA256: 32, SHA512: 64 } as const

/** Resolves with the first dongle present, or the next one plugged in. */
export function waitForDongle(
  programmer: DongleProgrammer,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<DongleDevice> {
  return new Promise((resolve, reject) => {
    let settled = false
    const finish = (err: Error | null, device?: DongleDevice) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      unwatch()
      options.signal?.removeEventListener('abort', onAbort)
      if (err) reject(err)
      else resolve(device!)
    }
    const onAbort = () => finish(new BenchFlowError('detect', 'stopped while waiting for a dongle'))
    const unwatch = programmer.watch((event) => {
      if (event.type === 'attached') finish(null, event.device)
    })
    const timer = setTimeout(
      () => finish(new BenchFlowError('detect', 'no dongle was plugged in')),
      options.timeoutMs ?? 60_000,
    )
    options.signal?.addEventListener('abort', onAbort)
    programmer.devices().then(
      ([present]) => present && finish(null, present),
      (err: Error) => finish(new BenchFlowError('detect', err.message, { cause: err })),
    )
  })
}

/**
 * Programs one detected dongle: seed (CSPRNG or inventory) → program → check the device's first code with the
 * OATH engine → label. Once the seed may be on the device, any failure erases it (and zeroes our copy of the
 * seed), so no half-provisioned token leaves the bench.
 */
export async function provisionDongle(
  device: DongleDevice,
  params: OathSlotParams,
  deps: BenchFlowDeps,
): Promise<ProvisionedDongle> {
  const step = deps.onStep ?? (() => undefined)
  const now = deps.now ?? Date.now
  const fail = (stage: BenchFlowError['stage'], err: unknown): never => {
    const reason = err instanceof Error ? err.message : String(err)
    step({ step: 'failed', stage, reason })
    throw err instanceof BenchFlowError ? err : new BenchFlowError(stage, reason, { cause: err })
  }
  step({ step: 'detected', device })

  let seed: SeedRecord
  try {
    const fromInventory = deps.inventorySeed ? await deps.inventorySeed(device) : null
    // A copy: on failure our secret is wiped, and the inventory's own record must survive that.
    seed = fromInventory
      ? { ...fromInventory, secret: Buffer.from(fromInventory.secret) }
      : generatedSeed(device, params)
    step({ step: 'seed', source: fromInventory ? 'inventory' : 'generated' })
  } catch (err) {
    return fail('seed', err)
  }
  const slot = slotParams(seed)
  /** A failure once the seed may be on the device: erase it (best effort, saying how that went), wipe the seed. */
  const failProgrammed = async (stage: BenchFlowError['stage'], err: unknown): Promise<never> => {
    const erased = await eraseAfterFailure(deps.programmer, device.id)
    const reason = `${err instanceof Error ? err.message : String(err)}; ${erased}`
    seed.secret.fill(0)
    step({ step: 'failed', stage, reason })
    throw new BenchFlowError(stage, reason, { cause: err })
  }

  try {
    await deps.programmer.program(device.id, seed.secret, slot)
    step({ step: 'programmed' })
  } catch (err) {
    // A refusal of the parameters, or of a token that already holds a seed, comes before anything is written:
    // erasing would only wipe what the device held before (a YubiKey's factory slot, a seed from elsewhere).
    // Any other failure (a PROGRAM whose reply was lost) may have written.
    if (err instanceof DongleError && (err.code === 'unsupported' || err.code === 'already-programmed')) {
      seed.secret.fill(0)
      return fail('program', err)
    }
    return failProgrammed('program', err)
  }
  const programmedAt = now()

  let state: TokenState
  try {
    const code = await deps.programmer.readCode(device.id)
    const result = verifyCode(oathToken(seed), newTokenState({ counter: seed.counter }), code, now())
    if (!result.accepted)
      throw new BenchFlowError('verify', 'the dongle’s first code does not match its seed')
    state = result.state
    seed = { ...seed, counter: state.counter }
    step({ step: 'verified' })
  } catch (err) {
    return failProgrammed('verify', err)
  }

  try {
    const label = await (deps.renderLabel ?? renderTokenLabel)({
      serial: device.serial,
      model: device.model,
      manufacturer: seed.manufacturer,
    })
    step({ step: 'labelled', bytes: label.length })
    return { device, seed, state, programmedAt, label }
  } catch (err) {
    // The caller never gets this seed to store, so the device must not keep it either.
    return failProgrammed('label', err)
  }
}

/**
 * Erases a device after a failure that may have left a seed on it; never throws. Returns what to add to the
 * failure's reason, so an erase that failed too reaches the operator (the token must not leave the bench).
 */
export async function eraseAfterFailure(programmer: DongleProgrammer, id: string): Promise<string> {
  try {
    await programmer.erase(id)
    return 'the token was erased'
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    return `erasing the token failed too (${reason}): erase it before it leaves the bench`
  }
}

/** Waits for a dongle, then provisions it. */
export async function runBenchFlow(
  params: OathSlotParams,
  deps: BenchFlowDeps & { timeoutMs?: number; signal?: AbortSignal },
): Promise<ProvisionedDongle> {
  deps.onStep?.({ step: 'waiting' })
  let device: DongleDevice
  try {
    device = await waitForDongle(deps.programmer, deps)
  } catch (err) {
    deps.onStep?.({ step: 'failed', stage: 'detect', reason: (err as Error).message })
    throw err
  }
  return provisionDongle(device, params, deps)
}

function generatedSeed(device: DongleDevice, params: OathSlotParams): SeedRecord {
  return {
    serial: device.serial,
    kind: params.kind,
    secret: randomBytes(SEED_BYTES[params.algorithm]),
    algorithm: params.algorithm,
    digits: params.digits,
    counter: params.kind === 'hotp' ? params.counter : 0,
    period: params.kind === 'totp' ? params.period : 30,
    model: device.model,
  }
}

function slotParams(seed: SeedRecord): OathSlotParams {
  return seed.kind === 'hotp'
    ? { kind: 'hotp', algorithm: seed.algorithm, digits: seed.digits, counter: seed.counter }
    : { kind: 'totp', algorithm: seed.algorithm, digits: seed.digits, period: seed.period }
}

function oathToken(seed: SeedRecord): OathToken {
  return seed.kind === 'hotp'
    ? { kind: 'hotp', secret: seed.secret, algorithm: seed.algorithm, digits: seed.digits }
    : {
        kind: 'totp',
        secret: seed.secret,
        algorithm: seed.algorithm,
        digits: seed.digits,
        period: seed.period,
        t0: 0,
      }
}
