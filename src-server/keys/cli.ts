import { cvvCore } from '../acs/auth-values/cvv'
import {
  mastercardSpa2DsTransIdGenerator,
  mastercardSpa2GoCavvGenerator,
} from '../acs/auth-values/mastercard-spa2'
import type { AuthMethod, AuthValueGenerator, AuthValueInput } from '../acs/auth-values/strategy'
import { SECOND_FACTOR, visaCavvBytes } from '../acs/auth-values/visa-cavv'
import type { EciStatus } from '../acs/auth-values/eci'
import { desDecrypt, desEncrypt } from '../crypto/block'
import { KeyInputError, parseHex, toHex } from './crypto/bytes'
import type { CipherFamily } from './crypto/cbc'
import { deriveAesDukptKeys, parseAesKsn, type AesDukptKeyType } from './crypto/dukpt-aes'
import { deriveTdesDukptKeys, parseTdesKsn } from './crypto/dukpt-tdes'
import { keyCheckValue, type KcvMethod } from './crypto/kcv'
import { decipherFormat4, decodePinBlock, encipherFormat4, encodePinBlock } from './crypto/pinblock'
import {
  checkValueBlock,
  unwrapTr31,
  wrapTr31,
  type Tr31OptionalBlock,
  type Tr31Unwrapped,
  type Tr31Version,
} from './crypto/tr31'

/**
 * `ims crypto <command> --flag value ...`: one JSON-able object per call with every derived value in hex.
 * The caller (bin/ims) prints it; bad flags throw an Error whose message says what is wrong.
 */
type Flags = Record<string, string | true>

interface CommandSpec {
  /** Flags that take a value. */
  values: string[]
  /** Flags that are switches. */
  switches?: string[]
  run(flags: Flags): Record<string, unknown>
}

function parseFlags(command: string, spec: CommandSpec, args: string[]): Flags {
  const flags: Flags = {}
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg)
    // Say where, not what: a stray argument may well be a key typed without its flag.
    if (!m)
      throw new Error(
        `ims crypto ${command}: unexpected argument at position ${i + 1} (flags are --name value)`,
      )
    const [, name, inline] = m
    if (spec.switches?.includes(name)) {
      if (inline !== undefined) throw new Error(`ims crypto ${command}: --${name} takes no value`)
      flags[name] = true
    } else if (spec.values.includes(name)) {
      const value = inline ?? args[++i]
      if (value === undefined || (inline === undefined && value.startsWith('--'))) {
        throw new Error(`ims crypto ${command}: --${name} needs a value`)
      }
      flags[name] = value
    } else {
      throw new Error(`ims crypto ${command}: unknown flag --${name}`)
    }
  }
  return flags
}

function required(flags: Flags, name: string): string {
  const v = flags[name]
  if (typeof v !== 'string' || v === '') throw new Error(`missing --${name}`)
  return v
}

function optional(flags: Flags, name: string): string | undefined {
  const v = flags[name]
  return typeof v === 'string' ? v : undefined
}

function oneOf<T extends string>(flags: Flags, name: string, allowed: readonly T[], fallback?: T): T {
  const v = optional(flags, name) ?? fallback
  if (v === undefined) throw new Error(`missing --${name} (one of ${allowed.join(', ')})`)
  if (!allowed.includes(v as T)) throw new Error(`--${name} must be one of ${allowed.join(', ')}`)
  return v as T
}

const ALGORITHMS = ['tdes', 'aes128', 'aes192', 'aes256'] as const
type Algorithm = (typeof ALGORITHMS)[number]
const familyOf = (a: Algorithm): CipherFamily => (a === 'tdes' ? 'tdes' : 'aes')
const AES_LENGTH = { aes128: 16, aes192: 24, aes256: 32 } as const

function keyFor(flags: Flags, name: string, algorithm: Algorithm): Buffer {
  return parseHex(
    `--${name}`,
    required(flags, name),
    algorithm === 'tdes' ? [8, 16, 24] : [AES_LENGTH[algorithm]],
  )
}

function kcvPair(family: CipherFamily, key: Uint8Array) {
  return family === 'aes'
    ? { kcv: toHex(keyCheckValue('aes', key, 'cmac')), kcvMethod: 'cmac' }
    : { kcv: toHex(keyCheckValue('tdes', key, 'legacy')), kcvMethod: 'legacy' }
}

const COMMANDS: Record<string, CommandSpec> = {
  kcv: {
    values: ['key', 'algorithm', 'method'],
    run(flags) {
      const algorithm = oneOf(flags, 'algorithm', ALGORITHMS, 'tdes')
      const family = familyOf(algorithm)
      const method = oneOf<KcvMethod>(
        flags,
        'method',
        ['legacy', 'cmac'],
        family === 'aes' ? 'cmac' : 'legacy',
      )
      if (family === 'aes' && method === 'legacy') throw new Error('AES keys use the cmac KCV method')
      const key = keyFor(flags, 'key', algorithm)
      return { command: 'kcv', algorithm, method, kcv: toHex(keyCheckValue(family, key, method)) }
    },
  },

  dukpt: {
    values: ['bdk', 'ksn', 'algorithm', 'working-key', 'pin', 'pan'],
    run(flags) {
      const algorithm = oneOf(flags, 'algorithm', ALGORITHMS, 'tdes')
      const pin = optional(flags, 'pin')
      const pan = optional(flags, 'pan')
      if ((pin === undefined) !== (pan === undefined)) throw new Error('--pin and --pan go together')
      if (algorithm === 'tdes') {
        const bdk = parseHex('--bdk', required(flags, 'bdk'), [16])
        const ksn = parseHex('--ksn', required(flags, 'ksn'), [10])
        if (optional(flags, 'working-key')) throw new Error('--working-key applies to AES DUKPT only')
        const k = deriveTdesDukptKeys(bdk, ksn)
        const out: Record<string, unknown> = {
          command: 'dukpt',
          algorithm,
          ksn: toHex(ksn),
          counter: parseTdesKsn(ksn).counter,
          bdkKcv: toHex(keyCheckValue('tdes', bdk)),
          ipek: toHex(k.ipek),
          ipekKcv: toHex(keyCheckValue('tdes', k.ipek)),
          transactionKey: toHex(k.transactionKey),
          pinKey: toHex(k.pinKey),
          macRequestKey: toHex(k.macRequestKey),
          macResponseKey: toHex(k.macResponseKey),
          dataRequestKey: toHex(k.dataRequestKey),
          dataResponseKey: toHex(k.dataResponseKey),
        }
        if (pin !== undefined && pan !== undefined) {
          const clear = encodePinBlock(0, pin, pan)
          Object.assign(out, {
            pinBlockFormat: 0,
            clearPinBlock: toHex(clear),
            encryptedPinBlock: toHex(desEncrypt(k.pinKey, clear)),
          })
        }
        return out
      }
      const bdk = parseHex('--bdk', required(flags, 'bdk'), [AES_LENGTH[algorithm]])
      const ksn = parseHex('--ksn', required(flags, 'ksn'), [12])
      const workingKeyType = oneOf<AesDukptKeyType>(
        flags,
        'working-key',
        ['tdes2', 'tdes3', 'aes128', 'aes192', 'aes256'],
        algorithm,
      )
      const k = deriveAesDukptKeys(bdk, ksn, workingKeyType)
      const { initialKeyId, counter } = parseAesKsn(ksn)
      const out: Record<string, unknown> = {
        command: 'dukpt',
        algorithm,
        ksn: toHex(ksn),
        initialKeyId: toHex(initialKeyId),
        counter: counter.toString(16).toUpperCase().padStart(8, '0'),
        bdkKcv: toHex(keyCheckValue('aes', bdk)),
        initialKey: toHex(k.initialKey),
        initialKeyKcv: toHex(keyCheckValue('aes', k.initialKey)),
        derivationKey: toHex(k.derivationKey),
        workingKeyType,
        pinKey: toHex(k.pinKey),
        macGenerationKey: toHex(k.macGenerationKey),
        macVerificationKey: toHex(k.macVerificationKey),
        dataEncryptionKey: toHex(k.dataEncryptionKey),
        dataDecryptionKey: toHex(k.dataDecryptionKey),
      }
      if (pin !== undefined && pan !== undefined) {
        if (!workingKeyType.startsWith('aes')) throw new Error('PIN block format 4 needs an AES working key')
        const f4 = encipherFormat4(k.pinKey, pin, pan)
        Object.assign(out, {
          pinBlockFormat: 4,
          clearPinField: toHex(f4.pinField),
          panField: toHex(f4.panField),
          encryptedPinBlock: toHex(f4.block),
        })
      }
      return out
    },
  },

  'tr31-wrap': {
    values: [
      'kbpk',
      'key',
      'version',
      'usage',
      'algorithm',
      'mode',
      'exportability',
      'key-version',
      'ks',
      'ik',
    ],
    switches: ['kc', 'kp'],
    run(flags) {
      const version = oneOf<Tr31Version>(flags, 'version', ['A', 'B', 'C', 'D'], 'D')
      const kbpkFamily: CipherFamily = version === 'D' ? 'aes' : 'tdes'
      const kbpk = parseHex('--kbpk', required(flags, 'kbpk'), kbpkFamily === 'aes' ? [16, 24, 32] : [16, 24])
      const keyAlgorithm = oneOf(
        flags,
        'algorithm',
        ['tdes', 'aes'] as const,
        version === 'D' ? 'aes' : 'tdes',
      )
      const key = parseHex(
        '--key',
        required(flags, 'key'),
        keyAlgorithm === 'aes' ? [16, 24, 32] : [8, 16, 24],
      )
      const optionalBlocks: Tr31OptionalBlock[] = []
      const ks = optional(flags, 'ks')
      if (ks !== undefined) optionalBlocks.push({ id: 'KS', data: toHex(parseHex('--ks', ks, [10])) })
      const ik = optional(flags, 'ik')
      if (ik !== undefined) optionalBlocks.push({ id: 'IK', data: toHex(parseHex('--ik', ik, [8])) })
      if (flags.kc) optionalBlocks.push(checkValueBlock('KC', keyAlgorithm, key))
      if (flags.kp) optionalBlocks.push(checkValueBlock('KP', kbpkFamily, kbpk))
      const block = wrapTr31({
        kbpk,
        key,
        header: {
          version,
          keyUsage: optional(flags, 'usage') ?? 'K0',
          algorithm: keyAlgorithm === 'aes' ? 'A' : 'T',
          modeOfUse: optional(flags, 'mode') ?? 'B',
          keyVersionNumber: optional(flags, 'key-version') ?? '00',
          exportability: optional(flags, 'exportability') ?? 'E',
          optionalBlocks,
        },
      })
      // Describe the block from an unwrap of it: what is reported is what a receiver will see.
      return { command: 'tr31-wrap', block, ...describeBlock(unwrapTr31(kbpk, block), kbpk) }
    },
  },

  'tr31-unwrap': {
    values: ['kbpk', 'block'],
    run(flags) {
      const kbpk = parseHex('--kbpk', required(flags, 'kbpk'), [16, 24, 32])
      const result = unwrapTr31(kbpk, required(flags, 'block'))
      return { command: 'tr31-unwrap', key: toHex(result.key), ...describeBlock(result, kbpk) }
    },
  },

  pinblock: {
    values: ['format', 'pin', 'pan', 'key', 'block'],
    run(flags) {
      const format = Number(oneOf(flags, 'format', ['0', '1', '3', '4'] as const, '0')) as 0 | 1 | 3 | 4
      const pan = optional(flags, 'pan')
      const keyHex = optional(flags, 'key')
      const block = optional(flags, 'block')
      if (format === 4) {
        if (!keyHex) throw new Error('PIN block format 4 needs --key (an AES key)')
        if (!pan) throw new Error('PIN block format 4 needs --pan')
        const key = parseHex('--key', keyHex, [16, 24, 32])
        if (block !== undefined) {
          return {
            command: 'pinblock',
            format,
            pin: decipherFormat4(key, parseHex('--block', block, [16]), pan),
          }
        }
        const f4 = encipherFormat4(key, required(flags, 'pin'), pan)
        return {
          command: 'pinblock',
          format,
          clearPinField: toHex(f4.pinField),
          panField: toHex(f4.panField),
          encryptedPinBlock: toHex(f4.block),
          keyKcv: toHex(keyCheckValue('aes', key)),
        }
      }
      const key = keyHex === undefined ? undefined : parseHex('--key', keyHex, [8, 16, 24])
      if (block !== undefined) {
        const bytes = parseHex('--block', block, [8])
        const clear = key ? desDecrypt(key, bytes) : bytes
        return {
          command: 'pinblock',
          format,
          pin: decodePinBlock(format, clear, pan),
          clearPinBlock: toHex(clear),
        }
      }
      const clear = encodePinBlock(format, required(flags, 'pin'), pan)
      return {
        command: 'pinblock',
        format,
        clearPinBlock: toHex(clear),
        ...(key
          ? { encryptedPinBlock: toHex(desEncrypt(key, clear)), keyKcv: toHex(keyCheckValue('tdes', key)) }
          : {}),
      }
    },
  },

  cavv: {
    values: ['cvk', 'pan', 'atn', 'status', 'method', 'key-indicator', 'version-action'],
    run(flags) {
      const cvk = parseHex('--cvk', required(flags, 'cvk'), [16])
      const pan = panFlag(flags)
      const atn = required(flags, 'atn')
      if (!/^\d{16}$/.test(atn)) throw new Error('--atn must be 16 digits')
      const status = oneOf<EciStatus>(flags, 'status', ['Y', 'A', 'N', 'U', 'R'], 'Y')
      const method = oneOf(flags, 'method', Object.keys(SECOND_FACTOR) as AuthMethod[], 'sms-otp')
      const keyIndicator = optional(flags, 'key-indicator') ?? '01'
      if (!/^\d{2}$/.test(keyIndicator)) throw new Error('--key-indicator must be 2 digits')
      const versionAction = Number(optional(flags, 'version-action') ?? '0')
      if (!Number.isInteger(versionAction) || versionAction < 0 || versionAction > 255) {
        throw new Error('--version-action must be 0-255')
      }
      const keys = { a: cvk.subarray(0, 8), b: cvk.subarray(8, 16) }
      const input: AuthValueInput = {
        pan,
        transStatus: status,
        messageCategory: '01',
        method,
        dsTransID: '',
        atn,
      }
      const bytes = visaCavvBytes(input, { keyIndicator, keys: () => keys, versionAction })
      const resultsCode = toHex(bytes.subarray(0, 1)).slice(1)
      return {
        command: 'cavv',
        cvkKcv: toHex(keyCheckValue('tdes', cvk)),
        cvvOutput: cvvCore(pan, atn.slice(-4), resultsCode + SECOND_FACTOR[method], keys.a, keys.b),
        cavv: toHex(bytes),
        cavvBase64: bytes.toString('base64'),
      }
    },
  },

  aav: {
    values: [
      'key',
      'pan',
      'variant',
      'ds-trans-id',
      'merchant-name',
      'amount',
      'currency',
      'sequence-number',
    ],
    run(flags) {
      const key = parseHex('--key', required(flags, 'key'))
      if (key.length < 16 || key.length > 64) throw new Error('--key must be 32 to 128 hex digits')
      const pan = panFlag(flags)
      const variant = oneOf(flags, 'variant', ['go-cavv', 'dstransid'] as const, 'go-cavv')
      const dsTransID = required(flags, 'ds-trans-id')
      if (
        !/^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/.test(dsTransID)
      ) {
        throw new Error('--ds-trans-id must be a UUID')
      }
      const amount = optional(flags, 'amount') ?? '0'
      const currency = optional(flags, 'currency') ?? '000'
      if (!/^\d{1,12}$/.test(amount)) throw new Error('--amount must be minor units (digits)')
      if (!/^\d{3}$/.test(currency)) throw new Error('--currency must be a 3-digit ISO 4217 code')
      const seq = optional(flags, 'sequence-number')
      if (seq !== undefined && !/^\d{1,10}$/.test(seq)) throw new Error('--sequence-number must be digits')
      let generator: AuthValueGenerator
      if (variant === 'go-cavv') {
        generator = mastercardSpa2GoCavvGenerator({
          key,
          ...(seq !== undefined ? { sequenceNumber: () => Number(seq) } : {}),
        })
      } else {
        if (seq !== undefined) throw new Error('--sequence-number applies to the go-cavv variant only')
        generator = mastercardSpa2DsTransIdGenerator({ key })
      }
      const value = generator.generate({
        pan,
        transStatus: 'Y',
        messageCategory: '01',
        method: 'sms-otp',
        dsTransID,
        merchantName: optional(flags, 'merchant-name') ?? '',
        purchaseAmount: amount,
        purchaseCurrency: currency,
      })
      const aav = Buffer.from(value.authenticationValue, 'base64')
      return {
        command: 'aav',
        variant,
        iav: toHex(aav.subarray(2, 6)),
        aav: toHex(aav),
        aavBase64: value.authenticationValue,
      }
    },
  },
}

function panFlag(flags: Flags): string {
  const pan = required(flags, 'pan')
  if (!/^\d{12,19}$/.test(pan)) throw new Error('--pan must be 12 to 19 digits')
  return pan
}

function describeBlock({ header, optional, key }: Tr31Unwrapped, kbpk: Buffer) {
  const family: CipherFamily = header.version === 'D' ? 'aes' : 'tdes'
  return {
    header: header.text,
    version: header.version,
    length: header.declaredLength,
    keyUsage: header.keyUsage,
    algorithm: header.algorithm,
    modeOfUse: header.modeOfUse,
    keyVersionNumber: header.keyVersionNumber,
    exportability: header.exportability,
    optionalBlocks: optional,
    ...kcvPair(header.algorithm === 'A' ? 'aes' : 'tdes', key),
    kbpkKcv: kcvPair(family, kbpk).kcv,
  }
}

export function runCryptoCommand(argv: string[]): Record<string, unknown> {
  const [command, ...rest] = argv
  const spec = command === undefined ? undefined : COMMANDS[command]
  if (!spec) {
    throw new Error(`usage: ims crypto <${Object.keys(COMMANDS).join(' | ')}> [--flag value ...]`)
  }
  try {
    return spec.run(parseFlags(command, spec, rest))
  } catch (err) {
    // Key-input and key-block errors are already free of secrets; say which command they came from.
    if (err instanceof KeyInputError || (err instanceof Error && err.name === 'Tr31Error')) {
      throw new Error(`ims crypto ${command}: ${err.message}`, { cause: err })
    }
    throw err
  }
}
