import { KeyInputError, popcount32, toHex } from './bytes'
import { aesEcbEncrypt } from './ecb'
import { LruMap, walkCounter, type KeyPath } from './dukpt-path'

/**
 * AES DUKPT, host side (ANSI X9.24-3:2017): initial key (IK) from BDK + Initial Key ID, intermediate
 * derivation keys for a transaction counter, and working keys. The KSN is 96 bits: Initial Key ID
 * (32-bit BDK ID + 32-bit derivation ID) and a 32-bit counter with at most 16 one-bits.
 */
export const AES_KSN_LENGTH = 12
const MAX_COUNTER_BITS = 16

export type AesDukptKeyType = 'tdes2' | 'tdes3' | 'aes128' | 'aes192' | 'aes256' | 'hmac128' | 'hmac256'

/** Algorithm code and length in bits as they go into the derivation data. */
const KEY_TYPES: Record<AesDukptKeyType, { code: number; bits: number }> = {
  tdes2: { code: 0x0000, bits: 128 },
  tdes3: { code: 0x0001, bits: 192 },
  aes128: { code: 0x0002, bits: 128 },
  aes192: { code: 0x0003, bits: 192 },
  aes256: { code: 0x0004, bits: 256 },
  hmac128: { code: 0x0005, bits: 128 },
  hmac256: { code: 0x0005, bits: 256 },
}

export const AES_DUKPT_USAGE = {
  keyEncryption: 0x0002,
  pinEncryption: 0x1000,
  macGeneration: 0x2000,
  macVerification: 0x2001,
  macBoth: 0x2002,
  dataEncryption: 0x3000,
  dataDecryption: 0x3001,
  dataBoth: 0x3002,
  keyDerivation: 0x8000,
  keyDerivationInitialKey: 0x8001,
} as const
export type AesDukptUsage = keyof typeof AES_DUKPT_USAGE

export function bdkKeyType(bdk: Uint8Array): 'aes128' | 'aes192' | 'aes256' {
  if (bdk.length === 16) return 'aes128'
  if (bdk.length === 24) return 'aes192'
  if (bdk.length === 32) return 'aes256'
  throw new KeyInputError(`an AES DUKPT BDK is 16, 24 or 32 bytes, not ${bdk.length}`)
}

export interface AesKsn {
  initialKeyId: Buffer
  counter: number
}

export function parseAesKsn(ksn: Uint8Array): AesKsn {
  if (ksn.length !== AES_KSN_LENGTH)
    throw new KeyInputError(`an AES DUKPT KSN is 12 bytes, not ${ksn.length}`)
  const b = Buffer.from(ksn)
  const parsed = { initialKeyId: b.subarray(0, 8), counter: b.readUInt32BE(8) }
  if (popcount32(parsed.counter) > MAX_COUNTER_BITS) {
    throw new KeyInputError('invalid KSN counter (more than 16 one-bits)')
  }
  return parsed
}

export function formatAesKsn(initialKeyId: Uint8Array, counter: number): Buffer {
  if (initialKeyId.length !== 8) throw new KeyInputError('an AES DUKPT Initial Key ID is 8 bytes')
  const out = Buffer.alloc(AES_KSN_LENGTH)
  out.set(initialKeyId)
  out.writeUInt32BE(counter >>> 0, 8)
  return out
}

/** One derivation: 16-byte derivation data blocks AES-encrypted under the parent key, truncated to length. */
function derive(parent: Uint8Array, usage: number, type: AesDukptKeyType, tail: Uint8Array): Buffer {
  const { code, bits } = KEY_TYPES[type]
  const blocks = Math.ceil(bits / 128)
  const data = Buffer.alloc(16 * blocks)
  for (let n = 0; n < blocks; n++) {
    const d = data.subarray(n * 16)
    d[0] = 0x01
    d[1] = n + 1
    d.writeUInt16BE(usage, 2)
    d.writeUInt16BE(code, 4)
    d.writeUInt16BE(bits, 6)
    d.set(tail, 8)
  }
  return aesEcbEncrypt(parent, data).subarray(0, bits / 8)
}

export function deriveAesInitialKey(bdk: Uint8Array, initialKeyId: Uint8Array): Buffer {
  if (initialKeyId.length !== 8) throw new KeyInputError('an AES DUKPT Initial Key ID is 8 bytes')
  return derive(bdk, AES_DUKPT_USAGE.keyDerivationInitialKey, bdkKeyType(bdk), initialKeyId)
}

/** The intermediate derivation key for the KSN's counter, walking its one-bits from the top. */
export function deriveAesDerivationKey(initialKey: Uint8Array, ksn: Uint8Array, path?: KeyPath): Buffer {
  const { initialKeyId, counter } = parseAesKsn(ksn)
  const type = bdkKeyType(initialKey)
  const step = (key: Buffer, register: number) => {
    const tail = Buffer.alloc(8)
    tail.set(initialKeyId.subarray(4, 8))
    tail.writeUInt32BE(register, 4)
    return derive(key, AES_DUKPT_USAGE.keyDerivation, type, tail)
  }
  return walkCounter(Buffer.from(initialKey), counter, 0x80000000, step, path)
}

const STRENGTH: Record<AesDukptKeyType, number> = {
  tdes2: 80,
  tdes3: 112,
  aes128: 128,
  hmac128: 128,
  aes192: 192,
  aes256: 256,
  hmac256: 256,
}

/** A working key of the given usage and type; the type may not be stronger than the derivation key. */
export function deriveAesWorkingKey(
  derivationKey: Uint8Array,
  ksn: Uint8Array,
  usage: AesDukptUsage,
  type: AesDukptKeyType,
): Buffer {
  const parentType = bdkKeyType(derivationKey)
  if (STRENGTH[type] > STRENGTH[parentType]) {
    throw new KeyInputError(`a ${type} working key cannot be derived from a ${parentType} derivation key`)
  }
  const { initialKeyId, counter } = parseAesKsn(ksn)
  const tail = Buffer.alloc(8)
  tail.set(initialKeyId.subarray(4, 8))
  tail.writeUInt32BE(counter, 4)
  return derive(derivationKey, AES_DUKPT_USAGE[usage], type, tail)
}

export interface AesDukptKeys {
  initialKey: Buffer
  derivationKey: Buffer
  pinKey: Buffer
  macGenerationKey: Buffer
  macVerificationKey: Buffer
  dataEncryptionKey: Buffer
  dataDecryptionKey: Buffer
}

/** Everything the host derives for one KSN, with working keys of `workingKeyType` (default: the BDK's type). */
export function deriveAesDukptKeys(
  bdk: Uint8Array,
  ksn: Uint8Array,
  workingKeyType: AesDukptKeyType = bdkKeyType(bdk),
): AesDukptKeys {
  const initialKey = deriveAesInitialKey(bdk, parseAesKsn(ksn).initialKeyId)
  const derivationKey = deriveAesDerivationKey(initialKey, ksn)
  const wk = (usage: AesDukptUsage) => deriveAesWorkingKey(derivationKey, ksn, usage, workingKeyType)
  return {
    initialKey,
    derivationKey,
    pinKey: wk('pinEncryption'),
    macGenerationKey: wk('macGeneration'),
    macVerificationKey: wk('macVerification'),
    dataEncryptionKey: wk('dataEncryption'),
    dataDecryptionKey: wk('dataDecryption'),
  }
}

/**
 * Host-side deriver for one BDK that remembers, per device (Initial Key ID), the initial key and the last
 * key path, so consecutive transactions of a device cost about two derivation steps each.
 */
export class AesDukptHost {
  private readonly devices: LruMap<string, { initialKey: Buffer; path: KeyPath }>

  constructor(
    private readonly bdk: Uint8Array,
    maxDevices = 1024,
  ) {
    bdkKeyType(bdk)
    this.devices = new LruMap(maxDevices)
  }

  derivationKey(ksn: Uint8Array): Buffer {
    const { initialKeyId } = parseAesKsn(ksn)
    const device = this.devices.getOrCreate(toHex(initialKeyId), () => ({
      initialKey: deriveAesInitialKey(this.bdk, initialKeyId),
      path: { registers: [], keys: [] },
    }))
    return deriveAesDerivationKey(device.initialKey, ksn, device.path)
  }

  workingKey(ksn: Uint8Array, usage: AesDukptUsage, type: AesDukptKeyType = bdkKeyType(this.bdk)): Buffer {
    return deriveAesWorkingKey(this.derivationKey(ksn), ksn, usage, type)
  }
}

/** The device's next counter: +1, skipping values with more than 16 one-bits; throws when exhausted. */
export function nextAesCounter(counter: number): number {
  let next = counter + 1
  while (popcount32(next) > MAX_COUNTER_BITS) next += (next & -next) >>> 0
  if (next > 0xffffffff) throw new KeyInputError('the DUKPT counter is exhausted; load a new initial key')
  return next
}
