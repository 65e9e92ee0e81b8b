import { randomBytes } from 'node:crypto'
import { constantTimeEqual, toHex, xor } from './bytes'
import { blockSize, cbcDecrypt, cbcEncrypt, type CipherFamily } from './cbc'
import { cmac } from './cmac'
import { keyCheckValue, type KcvMethod } from './kcv'
import {
  encodeHeader,
  optionalBlocksLength,
  parseHeader,
  Tr31Error,
  validateHeaderFields,
  type ParsedTr31Header,
  type Tr31HeaderFields,
  type Tr31OptionalBlock,
  type Tr31Version,
} from './tr31-header'

/**
 * TR-31 / ANSI X9.143 key blocks, versions A and C (variant binding, TDES), B (TDES CMAC derivation) and
 * D (AES CMAC derivation). Wrap and unwrap; the KBPK must be at least as strong as the key it protects.
 */
export { Tr31Error, parseHeader as parseTr31Header } from './tr31-header'
export type { ParsedTr31Header, Tr31HeaderFields, Tr31OptionalBlock, Tr31Version } from './tr31-header'

const FAMILY: Record<Tr31Version, CipherFamily> = { A: 'tdes', B: 'tdes', C: 'tdes', D: 'aes' }
/** MAC length in bytes in the block. */
const MAC_LENGTH: Record<Tr31Version, number> = { A: 4, B: 8, C: 4, D: 16 }

function fail(code: ConstructorParameters<typeof Tr31Error>[0], message: string): never {
  throw new Tr31Error(code, message)
}

function checkKbpk(version: Tr31Version, kbpk: Uint8Array): void {
  const ok = FAMILY[version] === 'aes' ? [16, 24, 32] : [16, 24]
  if (!ok.includes(kbpk.length)) {
    fail('format', `a version ${version} KBPK is ${ok.join(', ')} bytes, not ${kbpk.length}`)
  }
}

/** Effective strength in bits (NIST SP 800-57): DES 56, 2TDEA 80, 3TDEA 112, AES by length. */
function strength(family: CipherFamily | 'other', length: number): number {
  if (family === 'tdes') return length === 8 ? 56 : length === 16 ? 80 : 112
  if (family === 'aes') return length * 8
  return Math.min(length * 8, 256)
}

function familyOfAlgorithm(algorithm: string): CipherFamily | 'other' {
  return algorithm === 'T' || algorithm === 'D' ? 'tdes' : algorithm === 'A' ? 'aes' : 'other'
}

const KEY_LENGTHS: Record<string, number[]> = { T: [8, 16, 24], D: [8], A: [16, 24, 32] }

function checkKeyFitsAlgorithm(algorithm: string, key: Uint8Array): void {
  const lengths = KEY_LENGTHS[algorithm]
  if (lengths && !lengths.includes(key.length)) {
    fail('format', `an algorithm ${algorithm} key is ${lengths.join(', ')} bytes, not ${key.length}`)
  }
}

/** PCI PIN 10 / X9.24: refuse to wrap (or accept) a key under a weaker key-block protection key. */
export function assertWrappingStrength(
  version: Tr31Version,
  kbpk: Uint8Array,
  algorithm: string,
  key: Uint8Array,
) {
  const wrapping = strength(FAMILY[version], kbpk.length)
  const wrapped = strength(familyOfAlgorithm(algorithm), key.length)
  if (wrapped > wrapping) {
    fail(
      'insecure',
      `the KBPK (${wrapping}-bit strength) is weaker than the wrapped key (${wrapped}-bit strength)`,
    )
  }
}

interface BindingKeys {
  encryption: Buffer
  authentication: Buffer
}

/** Version B/D key derivation: CMAC(KBPK, counter ‖ usage ‖ 00 ‖ algorithm ‖ length), counters 1..n. */
function deriveBindingKeys(version: Tr31Version, kbpk: Uint8Array): BindingKeys {
  if (version === 'A' || version === 'C') {
    return {
      encryption: xor(kbpk, Buffer.alloc(kbpk.length, 0x45)),
      authentication: xor(kbpk, Buffer.alloc(kbpk.length, 0x4d)),
    }
  }
  const family = FAMILY[version]
  const algorithmId =
    family === 'aes' ? { 16: 2, 24: 3, 32: 4 }[kbpk.length]! : { 16: 0, 24: 1 }[kbpk.length]!
  const blocks = Math.ceil(kbpk.length / blockSize(family))
  const derive = (usage: number) => {
    const parts: Buffer[] = []
    for (let counter = 1; counter <= blocks; counter++) {
      const input = Buffer.alloc(8)
      input[0] = counter
      input.writeUInt16BE(usage, 1)
      input.writeUInt16BE(algorithmId, 4)
      input.writeUInt16BE(kbpk.length * 8, 6)
      parts.push(cmac(family, kbpk, input))
    }
    return Buffer.concat(parts).subarray(0, kbpk.length)
  }
  return { encryption: derive(0x0000), authentication: derive(0x0001) }
}

/** TDES CBC-MAC (ISO 9797-1 algorithm 1, zero IV) for versions A and C, truncated to 4 bytes. */
function variantMac(kbak: Buffer, data: Buffer): Buffer {
  const chained = cbcEncrypt('tdes', kbak, Buffer.alloc(8), data)
  return chained.subarray(chained.length - 8, chained.length - 4)
}

export interface Tr31WrapOptions {
  kbpk: Uint8Array
  header: Omit<Tr31HeaderFields, 'keyVersionNumber' | 'optionalBlocks'> &
    Partial<Pick<Tr31HeaderFields, 'keyVersionNumber' | 'optionalBlocks'>>
  key: Uint8Array
  /** Pad the payload as if the key were this many bytes long, hiding the real key length. */
  maskedKeyLength?: number
  random?: (n: number) => Uint8Array
}

/** Build a key block. A PB optional block is added when the header needs padding to the cipher block size. */
export function wrapTr31(options: Tr31WrapOptions): string {
  const { kbpk, key } = options
  const random = options.random ?? randomBytes
  const header: Tr31HeaderFields = {
    keyVersionNumber: '00',
    ...options.header,
    optionalBlocks: (options.header.optionalBlocks ?? []).filter((b) => b.id !== 'PB'),
  }
  validateHeaderFields(header)
  const { version } = header
  checkKbpk(version, kbpk)
  checkKeyFitsAlgorithm(header.algorithm, key)
  assertWrappingStrength(version, kbpk, header.algorithm, key)
  const family = FAMILY[version]
  const size = blockSize(family)

  const headerLength = 16 + optionalBlocksLength(header.optionalBlocks)
  if (headerLength % size !== 0) {
    // The PB block itself takes 4 characters; pad its data so the header ends on a block boundary.
    const pad = (size - ((headerLength + 4) % size)) % size
    header.optionalBlocks.push({ id: 'PB', data: '0'.repeat(pad) })
  }
  const shownLength = Math.max(key.length, options.maskedKeyLength ?? 0)
  const payloadLength = Math.ceil((2 + shownLength) / size) * size
  const payload = Buffer.alloc(payloadLength)
  payload.writeUInt16BE(key.length * 8, 0)
  payload.set(key, 2)
  payload.set(random(payloadLength - 2 - key.length), 2 + key.length)

  const macLength = MAC_LENGTH[version]
  const total = 16 + optionalBlocksLength(header.optionalBlocks) + 2 * payloadLength + 2 * macLength
  const headerText = encodeHeader(header, total)
  const binding = deriveBindingKeys(version, kbpk)
  let ciphertext: Buffer
  let mac: Buffer
  if (version === 'A' || version === 'C') {
    ciphertext = cbcEncrypt('tdes', binding.encryption, Buffer.from(headerText.slice(0, 8), 'ascii'), payload)
    mac = variantMac(binding.authentication, Buffer.concat([Buffer.from(headerText, 'ascii'), ciphertext]))
  } else {
    mac = cmac(family, binding.authentication, Buffer.concat([Buffer.from(headerText, 'ascii'), payload]))
    ciphertext = cbcEncrypt(family, binding.encryption, mac, payload)
  }
  return headerText + toHex(ciphertext) + toHex(mac)
}

export interface Tr31Unwrapped {
  header: ParsedTr31Header
  key: Buffer
  /** Optional blocks by ID (the last one wins if an ID repeats). */
  optional: Record<string, string>
}

/**
 * Verify and decrypt a key block. Checks the length field, the payload characters and size, the MAC
 * (constant time), the key length, the wrapping strength and any KC (key) / KP (KBPK) check values.
 */
export function unwrapTr31(kbpk: Uint8Array, block: string): Tr31Unwrapped {
  const header = parseHeader(block)
  const { version } = header
  if (header.declaredLength !== block.length) {
    fail(
      'length',
      `the key block length field says ${header.declaredLength} but the block has ${block.length} characters`,
    )
  }
  checkKbpk(version, kbpk)
  const family = FAMILY[version]
  const size = blockSize(family)
  if (header.text.length % size !== 0) fail('format', `the header is not a multiple of ${size} characters`)
  const macChars = 2 * MAC_LENGTH[version]
  const body = block.slice(header.text.length)
  if (!/^[0-9A-F]*$/.test(body)) fail('format', 'the encrypted key and MAC must be upper-case hex')
  const encryptedChars = body.length - macChars
  if (encryptedChars < 2 * size || encryptedChars % (2 * size) !== 0) {
    fail('format', `the encrypted key must be a non-zero multiple of ${size} bytes`)
  }
  const ciphertext = Buffer.from(body.slice(0, encryptedChars), 'hex')
  const mac = Buffer.from(body.slice(encryptedChars), 'hex')
  const headerBytes = Buffer.from(header.text, 'ascii')
  const binding = deriveBindingKeys(version, kbpk)
  let payload: Buffer
  if (version === 'A' || version === 'C') {
    const expected = variantMac(binding.authentication, Buffer.concat([headerBytes, ciphertext]))
    if (!constantTimeEqual(expected, mac)) fail('mac', 'key block MAC verification failed')
    payload = cbcDecrypt('tdes', binding.encryption, headerBytes.subarray(0, 8), ciphertext)
  } else {
    payload = cbcDecrypt(family, binding.encryption, mac, ciphertext)
    const expected = cmac(family, binding.authentication, Buffer.concat([headerBytes, payload]))
    if (!constantTimeEqual(expected, mac)) fail('mac', 'key block MAC verification failed')
  }
  const bits = payload.readUInt16BE(0)
  if (bits === 0 || bits % 8 !== 0 || 2 + bits / 8 > payload.length) {
    fail('format', 'the decrypted key length is invalid')
  }
  const key = Buffer.from(payload.subarray(2, 2 + bits / 8))
  checkKeyFitsAlgorithm(header.algorithm, key)
  assertWrappingStrength(version, kbpk, header.algorithm, key)
  const optional: Record<string, string> = {}
  for (const b of header.optionalBlocks) optional[b.id] = b.data
  if (optional.KC !== undefined)
    checkCheckValueBlock('KC', optional.KC, familyOfAlgorithm(header.algorithm), key)
  if (optional.KP !== undefined) checkCheckValueBlock('KP', optional.KP, family, kbpk)
  return { header, key, optional }
}

const KCV_METHOD_CODES: Record<string, KcvMethod> = { '00': 'legacy', '01': 'cmac' }

/** KC / KP data: 2-digit method (00 legacy, 01 CMAC) then the check value in hex. */
export function checkValueBlock(
  id: 'KC' | 'KP',
  family: CipherFamily,
  key: Uint8Array,
  method?: KcvMethod,
): Tr31OptionalBlock {
  const chosen = method ?? (family === 'aes' ? 'cmac' : 'legacy')
  return { id, data: `${chosen === 'cmac' ? '01' : '00'}${toHex(keyCheckValue(family, key, chosen))}` }
}

function checkCheckValueBlock(
  id: string,
  data: string,
  family: CipherFamily | 'other',
  key: Uint8Array,
): void {
  const method = KCV_METHOD_CODES[data.slice(0, 2)]
  if (!method || !/^([0-9A-F]{2})+$/.test(data.slice(2)) || family === 'other') {
    fail('format', `optional block ${id} is not a check value this station can verify`)
  }
  const actual = keyCheckValue(family, key, method)
  const claimed = Buffer.from(data.slice(2), 'hex')
  if (claimed.length > actual.length || !constantTimeEqual(actual.subarray(0, claimed.length), claimed)) {
    fail('kcv', `optional block ${id} does not match the ${id === 'KC' ? 'wrapped key' : 'KBPK'}`)
  }
}
