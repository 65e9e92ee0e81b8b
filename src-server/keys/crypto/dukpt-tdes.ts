import { desEncrypt } from '../../crypto/block'
import { KeyInputError, popcount32, toHex, xor } from './bytes'
import { LruMap, walkCounter, type KeyPath } from './dukpt-path'
import { singleDesEncrypt } from './ecb'

/**
 * TDES DUKPT, host side (ANSI X9.24-1:2009 = X9.24-3:2017 Annex C): IPEK from BDK + KSN, the transaction
 * ("future") key for a KSN, and the working-key variants. The KSN is 80 bits: a 59-bit initial KSN and a
 * 21-bit transaction counter with at most 10 one-bits.
 */
export const TDES_KSN_LENGTH = 10
const COUNTER_MASK = 0x1fffff
const MAX_COUNTER_BITS = 10
const C0_MASK = Buffer.from('C0C0C0C000000000C0C0C0C000000000', 'hex')

export type TdesDukptVariant = 'pin' | 'mac-request' | 'mac-response' | 'data-request' | 'data-response'

const VARIANT_MASKS: Record<TdesDukptVariant, Buffer> = {
  pin: Buffer.from('00000000000000FF00000000000000FF', 'hex'),
  'mac-request': Buffer.from('000000000000FF00000000000000FF00', 'hex'),
  'mac-response': Buffer.from('00000000FF00000000000000FF000000', 'hex'),
  'data-request': Buffer.from('0000000000FF00000000000000FF0000', 'hex'),
  'data-response': Buffer.from('000000FF00000000000000FF00000000', 'hex'),
}

export interface TdesKsn {
  /** The KSN with the counter cleared (what the IPEK is derived from). */
  initialKsn: Buffer
  counter: number
}

export function parseTdesKsn(ksn: Uint8Array): TdesKsn {
  if (ksn.length !== TDES_KSN_LENGTH)
    throw new KeyInputError(`a TDES DUKPT KSN is 10 bytes, not ${ksn.length}`)
  const counter = Buffer.from(ksn).readUIntBE(7, 3)
  const initialKsn = Buffer.from(ksn)
  initialKsn[7] &= 0xe0
  initialKsn[8] = 0
  initialKsn[9] = 0
  return { initialKsn, counter: counter & COUNTER_MASK }
}

export function formatTdesKsn(initialKsn: Uint8Array, counter: number): Buffer {
  const out = parseTdesKsn(initialKsn).initialKsn
  out[7] |= (counter >> 16) & 0x1f
  out[8] = (counter >> 8) & 0xff
  out[9] = counter & 0xff
  return out
}

function checkCounter(counter: number): void {
  if (popcount32(counter) > MAX_COUNTER_BITS) {
    throw new KeyInputError('invalid KSN counter (more than 10 one-bits)')
  }
}

function checkBdk(bdk: Uint8Array): void {
  if (bdk.length !== 16) throw new KeyInputError(`a TDES DUKPT BDK is 16 bytes (2TDEA), not ${bdk.length}`)
}

/** IPEK = TDES(BDK, K) ‖ TDES(BDK ⊕ C0C0C0C0…, K), K = leftmost 8 bytes of the KSN with the counter cleared. */
export function deriveTdesIpek(bdk: Uint8Array, ksn: Uint8Array): Buffer {
  checkBdk(bdk)
  const k = parseTdesKsn(ksn).initialKsn.subarray(0, 8)
  return Buffer.concat([desEncrypt(bdk, k), desEncrypt(xor(bdk, C0_MASK), k)])
}

/**
 * The non-reversible key generation process: one step down the key tree.
 * right = DES(KL, R ⊕ KR) ⊕ KR; left = the same with KL and KR each XORed with C0C0C0C000000000.
 * Written over one scratch buffer: this runs for every set counter bit of every transaction.
 */
function nonReversibleKeyGeneration(key: Buffer, register: Buffer): Buffer {
  const out = Buffer.allocUnsafe(16)
  const masked = Buffer.allocUnsafe(16)
  for (let i = 0; i < 16; i++) masked[i] = key[i] ^ C0_MASK[i]
  const input = Buffer.allocUnsafe(8)
  for (let i = 0; i < 8; i++) input[i] = register[i] ^ key[8 + i]
  const r = singleDesEncrypt(key, input)
  for (let i = 0; i < 8; i++) input[i] = register[i] ^ masked[8 + i]
  const l = singleDesEncrypt(masked, input)
  for (let i = 0; i < 8; i++) {
    out[i] = l[i] ^ masked[8 + i]
    out[8 + i] = r[i] ^ key[8 + i]
  }
  return out
}

/**
 * The transaction key for a KSN from the IPEK: walk the counter's one-bits from the most significant down,
 * OR each into the register and derive. (openemv calls this the "transaction key"; it is before any variant.)
 */
export function deriveTdesTransactionKey(ipek: Uint8Array, ksn: Uint8Array, path?: KeyPath): Buffer {
  if (ipek.length !== 16) throw new KeyInputError(`a TDES DUKPT initial key is 16 bytes, not ${ipek.length}`)
  const { counter } = parseTdesKsn(ksn)
  checkCounter(counter)
  const base = Buffer.from(ksn).subarray(2, 10)
  base[5] &= 0xe0
  base[6] = 0
  base[7] = 0
  const step = (key: Buffer, bits: number) => {
    const register = Buffer.from(base)
    register[5] |= (bits >> 16) & 0x1f
    register[6] = (bits >> 8) & 0xff
    register[7] = bits & 0xff
    return nonReversibleKeyGeneration(key, register)
  }
  return walkCounter(Buffer.from(ipek), counter, 1 << 20, step, path)
}

/**
 * A working key from a transaction key. The data variants add the one-way step of X9.24-1:2009
 * (the variant key encrypts itself) so the data key cannot be turned back into the PIN or MAC key.
 */
export function tdesWorkingKey(transactionKey: Uint8Array, variant: TdesDukptVariant): Buffer {
  const masked = xor(transactionKey, VARIANT_MASKS[variant])
  return variant === 'data-request' || variant === 'data-response' ? desEncrypt(masked, masked) : masked
}

export interface TdesDukptKeys {
  ipek: Buffer
  transactionKey: Buffer
  pinKey: Buffer
  macRequestKey: Buffer
  macResponseKey: Buffer
  dataRequestKey: Buffer
  dataResponseKey: Buffer
}

/** Everything the host derives for one KSN. */
export function deriveTdesDukptKeys(bdk: Uint8Array, ksn: Uint8Array): TdesDukptKeys {
  const ipek = deriveTdesIpek(bdk, ksn)
  const transactionKey = deriveTdesTransactionKey(ipek, ksn)
  return {
    ipek,
    transactionKey,
    pinKey: tdesWorkingKey(transactionKey, 'pin'),
    macRequestKey: tdesWorkingKey(transactionKey, 'mac-request'),
    macResponseKey: tdesWorkingKey(transactionKey, 'mac-response'),
    dataRequestKey: tdesWorkingKey(transactionKey, 'data-request'),
    dataResponseKey: tdesWorkingKey(transactionKey, 'data-response'),
  }
}

/**
 * Host-side deriver for one BDK that remembers, per device (initial KSN), the IPEK and the last key path,
 * so consecutive transactions of a device cost about two key-generation steps each.
 */
export class TdesDukptHost {
  private readonly devices: LruMap<string, { ipek: Buffer; path: KeyPath }>

  constructor(
    private readonly bdk: Uint8Array,
    maxDevices = 1024,
  ) {
    checkBdk(bdk)
    this.devices = new LruMap(maxDevices)
  }

  transactionKey(ksn: Uint8Array): Buffer {
    const id = toHex(parseTdesKsn(ksn).initialKsn)
    const device = this.devices.getOrCreate(id, () => ({
      ipek: deriveTdesIpek(this.bdk, ksn),
      path: { registers: [], keys: [] },
    }))
    return deriveTdesTransactionKey(device.ipek, ksn, device.path)
  }

  workingKey(ksn: Uint8Array, variant: TdesDukptVariant): Buffer {
    return tdesWorkingKey(this.transactionKey(ksn), variant)
  }
}

/**
 * The device's next counter: +1, skipping values with more than 10 one-bits (the standard adds the
 * lowest set bit until the count is legal). Throws when the 21-bit counter is exhausted.
 */
export function nextTdesCounter(counter: number): number {
  let next = counter + 1
  while (popcount32(next) > MAX_COUNTER_BITS) next += (next & -next) >>> 0
  if (next > COUNTER_MASK) throw new KeyInputError('the DUKPT counter is exhausted; load a new initial key')
  return next
}
