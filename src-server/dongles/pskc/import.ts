import { XMLParser, XMLValidator } from 'fast-xml-parser'
import type { OathAlgorithm } from '../../otp/oath'
import { ReportBuilder, type ImportOptions, type ImportReport } from '../import-report'
import {
  PBKDF2,
  PskcCryptoError,
  decryptCbc,
  deriveKey,
  macHashName,
  macMatches,
  pbkdf2Hash,
  type DecryptOptions,
} from './crypto'
import { KeyPackageSplitter, PskcFormatError, type Segment } from './xml-split'

export interface PskcImportOptions extends ImportOptions, DecryptOptions {
  /** For files protected with a password (PBKDF2, RFC 6030 §6.2). */
  password?: string
  /** For files encrypted under a pre-shared key (RFC 6030 §6.1). */
  preSharedKey?: Uint8Array
}

export type PskcSource = string | Uint8Array | AsyncIterable<string | Uint8Array>

const PSKC_HOTP = 'urn:ietf:params:xml:ns:keyprov:pskc:hotp'
const TOTP_ALGORITHMS = new Set([
  'urn:ietf:params:xml:ns:keyprov:pskc:totp',
  'urn:ietf:params:xml:ns:keyprov:pskc#totp',
])
/** Companion keys (a PIN protecting an OTP key, Figure 5) that are not tokens themselves. */
const NON_TOKEN_ALGORITHMS = new Set(['urn:ietf:params:xml:ns:keyprov:pskc:pin'])
/** A large string input is fed to the splitter in slices so progress is reported as it goes. */
const SLICE_CHARS = 1 << 20

const PARSE_BATCH = 64

const PARSER_OPTIONS = {
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // Measured on 100,000 KeyPackages: the parser's entity pass and its path strings for callbacks (jPath) took
  // over half of the parse time, for values that almost never hold an entity. No entity can be declared (the
  // splitter refuses every DOCTYPE), so only the predefined ones and character references remain, and
  // decodeXmlText() resolves those in the few values that contain '&'.
  processEntities: false,
  jPath: false,
}
const parser = new XMLParser(PARSER_OPTIONS)

type XNode = { [name: string]: unknown }

/** A problem inside one KeyPackage, named by its element path. */
class EntryError extends Error {
  constructor(
    readonly element: string,
    message: string,
  ) {
    super(message)
  }
}

interface Keys {
  encryptionKey?: Buffer
  macHash?: string
  macKey?: Buffer
}

/**
 * Imports OATH seeds from a PSKC (RFC 6030) file: plain, pre-shared-key or PBKDF2 protected. Streams the input a
 * KeyPackage at a time; the result is all-or-nothing, with every error located by line and element.
 */
export async function importPskc(source: PskcSource, options: PskcImportOptions = {}): Promise<ImportReport> {
  const report = new ReportBuilder(options)
  const splitter = new KeyPackageSplitter()
  let keys: Keys | null = null
  const handle = (segments: Segment[]) => {
    const packages: PackageSegment[] = []
    for (const segment of segments) {
      if (segment.kind === 'header') keys = readHeader(segment, options, report)
      else packages.push(segment)
    }
    const k = keys
    if (k === null) return
    for (let i = 0; i < packages.length; i += PARSE_BATCH) {
      const batch = packages.slice(i, i + PARSE_BATCH)
      parseBatch(batch).forEach((parsed, j) => readPackage(batch[j], parsed, k, options, report))
    }
  }
  try {
    for await (const text of decodeSource(source, (n) => (report.bytes += n))) {
      handle(splitter.push(text))
      if (keys === null && report.failed) break
    }
    if (!report.failed) splitter.end()
  } catch (err) {
    if (err instanceof PskcFormatError)
      report.error({ line: err.line, element: err.element, message: err.message })
    else if (err instanceof TypeError && /encoded data/.test(err.message)) {
      report.error({ message: 'file is not valid UTF-8 text' })
    } else throw err
  }
  report.progress(true)
  if (report.entries === 0 && !report.failed) report.error({ message: 'the file contains no KeyPackage' })
  return report.finish()
}

type PackageSegment = Extract<Segment, { kind: 'package' }>

/**
 * Parses KeyPackages a batch at a time (one parser call per batch is several times faster than one per
 * package). If a batch does not parse cleanly, each package is parsed and validated on its own so the error
 * names its package and line.
 */
function parseBatch(batch: PackageSegment[]): unknown[] {
  try {
    const parsed = parser.parse(`<Batch>${batch.map((s) => s.xml).join('')}</Batch>`) as XNode
    const found = (parsed.Batch as XNode | undefined)?.KeyPackage
    // (An isArray option would do, but makes the parser build a path string for every element.)
    const list = Array.isArray(found) ? found : [found]
    if (list.length === batch.length) return list
  } catch {
    // fall through to the one-by-one parse, which locates the fault
  }
  return batch.map((segment) => {
    try {
      return parseSegment(segment).KeyPackage
    } catch (err) {
      if (err instanceof PskcFormatError) return err
      throw err
    }
  })
}

async function* decodeSource(source: PskcSource, count: (bytes: number) => void): AsyncGenerator<string> {
  if (typeof source === 'string') {
    for (let i = 0; i < source.length; i += SLICE_CHARS) {
      const slice = source.slice(i, i + SLICE_CHARS)
      count(slice.length)
      yield slice
    }
    return
  }
  const decoder = new TextDecoder('utf-8', { fatal: true })
  const chunks = source instanceof Uint8Array ? [source] : source
  for await (const chunk of chunks) {
    if (typeof chunk === 'string') {
      count(chunk.length)
      yield chunk
    } else {
      count(chunk.length)
      yield decoder.decode(chunk, { stream: true })
    }
  }
  yield decoder.decode()
}

function parseSegment(segment: Segment): XNode {
  const valid = XMLValidator.validate(segment.xml)
  if (valid !== true) {
    throw new PskcFormatError(`not well-formed XML: ${valid.err.msg}`, segment.line + valid.err.line - 1)
  }
  return parser.parse(segment.xml) as XNode
}

function readHeader(
  segment: Extract<Segment, { kind: 'header' }>,
  options: PskcImportOptions,
  report: ReportBuilder,
) {
  const fail = (message: string, element = 'KeyContainer') => {
    report.error({ line: segment.line, element, message })
    return null
  }
  const found = child(parseSegment(segment), 'KeyContainer', '')
  // An empty <KeyContainer> parses as '', one with attributes as an object.
  if (found === undefined) return fail(`root element is ${segment.rootName}, not KeyContainer`)
  const root: XNode = typeof found === 'object' && found !== null ? (found as XNode) : {}
  if (attr(root, 'Version') !== '1.0')
    return fail(`unsupported PSKC version ${attr(root, 'Version') ?? '(none)'}`)
  try {
    const keys: Keys = {}
    const encryptionKey = child(root, 'EncryptionKey', 'KeyContainer')
    if (encryptionKey !== undefined) keys.encryptionKey = resolveEncryptionKey(encryptionKey, options)
    const macMethod = child(root, 'MACMethod', 'KeyContainer')
    if (macMethod !== undefined) {
      const method = asNode(macMethod, 'KeyContainer/MACMethod')
      keys.macHash = macHashName(attr(method, 'Algorithm') ?? '')
      const macKey = child(method, 'MACKey', 'MACMethod')
      if (macKey === undefined) {
        // Pre-RFC drafts MAC with the encryption key itself; accept it but say so.
        keys.macKey = keys.encryptionKey
        report.warn({
          line: segment.line,
          element: 'MACMethod',
          message: 'no MACKey: the encryption key is used',
        })
      } else {
        if (!keys.encryptionKey)
          return fail('MACKey is encrypted but the file names no encryption key', 'MACKey')
        keys.macKey = decryptField(
          asNode(macKey, 'MACMethod/MACKey'),
          keys.encryptionKey,
          'MACMethod/MACKey',
          {},
        )
      }
    }
    return keys
  } catch (err) {
    if (err instanceof PskcCryptoError) {
      return fail(err.message.replace(/^decryption failed/, 'cannot decrypt the MAC key'), 'MACMethod')
    }
    if (err instanceof EntryError) return fail(err.message, err.element)
    throw err
  }
}

function resolveEncryptionKey(node: unknown, options: PskcImportOptions): Buffer {
  const enc = asNode(node, 'EncryptionKey')
  const derived = child(enc, 'DerivedKey', 'EncryptionKey')
  if (derived !== undefined) {
    if (options.password === undefined) {
      throw new EntryError('EncryptionKey', 'the file is password-protected (PBKDF2): a password is needed')
    }
    const method = asNode(child(derived as XNode, 'KeyDerivationMethod', 'DerivedKey'), 'KeyDerivationMethod')
    if (attr(method, 'Algorithm') !== PBKDF2) {
      throw new EntryError(
        'KeyDerivationMethod',
        `unsupported key derivation ${attr(method, 'Algorithm') ?? '(none)'}`,
      )
    }
    const params = asNode(child(method, 'PBKDF2-params', 'KeyDerivationMethod'), 'PBKDF2-params')
    const salt = base64(
      text(asNode(child(params, 'Salt', 'PBKDF2-params'), 'Salt'), 'Specified'),
      'Salt/Specified',
    )
    const iterations = integer(text(params, 'IterationCount'), 'PBKDF2-params/IterationCount')
    const keyLength = integer(text(params, 'KeyLength') ?? '16', 'PBKDF2-params/KeyLength')
    const prf = child(params, 'PRF', 'PBKDF2-params')
    const prfAlgorithm =
      typeof prf === 'object' && prf !== null ? (attr(prf as XNode, 'Algorithm') ?? '') : ''
    return deriveKey(options.password, salt, iterations, keyLength, pbkdf2Hash(prfAlgorithm))
  }
  if (!options.preSharedKey) {
    const name = typeof child(enc, 'KeyName', 'EncryptionKey') === 'string' ? ' (named in KeyName)' : ''
    throw new EntryError(
      'EncryptionKey',
      `the file is encrypted with a pre-shared key${name}: the key is needed`,
    )
  }
  return Buffer.from(options.preSharedKey)
}

function readPackage(
  segment: PackageSegment,
  parsed: unknown,
  keys: Keys,
  options: PskcImportOptions,
  report: ReportBuilder,
): void {
  report.entries++
  const where = `KeyPackage #${segment.index}`
  try {
    if (parsed instanceof PskcFormatError) throw parsed
    const node = asNode(parsed, where)
    const key = asNode(child(node, 'Key', where), `${where}/Key`)
    const algorithm = attr(key, 'Algorithm') ?? ''
    if (NON_TOKEN_ALGORITHMS.has(algorithm)) {
      report.warn({
        line: segment.line,
        element: `${where}/Key`,
        message: `skipped: ${algorithm} is not an OTP key`,
      })
      return
    }
    const kind = algorithm === PSKC_HOTP ? 'hotp' : TOTP_ALGORITHMS.has(algorithm) ? 'totp' : null
    if (!kind) throw new EntryError(`${where}/Key`, `unsupported key algorithm ${algorithm || '(none)'}`)

    const device = child(node, 'DeviceInfo', where)
    const deviceNode = device && typeof device === 'object' ? (device as XNode) : {}
    const params = child(key, 'AlgorithmParameters', `${where}/Key`)
    const paramsNode = params && typeof params === 'object' ? (params as XNode) : {}
    const format = child(paramsNode, 'ResponseFormat', 'AlgorithmParameters')
    const formatNode = format && typeof format === 'object' ? (format as XNode) : {}
    const encoding = attr(formatNode, 'Encoding')
    if (encoding !== undefined && encoding !== 'DECIMAL') {
      throw new EntryError(
        `${where}/Key/AlgorithmParameters/ResponseFormat`,
        `response encoding ${encoding} is not DECIMAL`,
      )
    }
    const data = asNode(child(key, 'Data', `${where}/Key`), `${where}/Key/Data`)
    const secretNode = child(data, 'Secret', 'Data')
    if (secretNode === undefined) throw new EntryError(`${where}/Key/Data`, 'no Secret')
    const secretPath = `${where}/Key/Data/Secret`
    const secret = readValue(asNode(secretNode, secretPath), keys, secretPath, options, report, segment.line)
    const counter = child(data, 'Counter', 'Data')
    const interval = child(data, 'TimeInterval', 'Data')
    report.add(
      {
        serial: text(deviceNode, 'SerialNo') ?? attr(key, 'Id') ?? '',
        kind,
        secret,
        algorithm: suiteAlgorithm(text(paramsNode, 'Suite'), `${where}/Key/AlgorithmParameters/Suite`),
        digits: integer(
          attr(formatNode, 'Length') ?? '6',
          `${where}/Key/AlgorithmParameters/ResponseFormat@Length`,
        ),
        counter:
          counter === undefined
            ? 0
            : readInteger(counter, keys, `${where}/Key/Data/Counter`, options, report, segment.line),
        period:
          interval === undefined
            ? 30
            : readInteger(interval, keys, `${where}/Key/Data/TimeInterval`, options, report, segment.line),
        manufacturer: text(deviceNode, 'Manufacturer'),
        model: text(deviceNode, 'Model'),
        issuer: text(key, 'Issuer'),
      },
      segment.line,
      where,
    )
  } catch (err) {
    if (err instanceof EntryError)
      report.error({ line: segment.line, element: err.element, message: err.message })
    else if (err instanceof PskcCryptoError)
      report.error({ line: segment.line, element: where, message: err.message })
    else if (err instanceof PskcFormatError)
      report.error({ line: err.line, element: where, message: err.message })
    else throw err
  } finally {
    report.progress()
  }
}

/** A PSKC binary value: PlainValue (base64), or EncryptedValue whose MAC is checked before decrypting. */
function readValue(
  node: XNode,
  keys: Keys,
  path: string,
  options: PskcImportOptions,
  report: ReportBuilder,
  line: number,
): Buffer {
  const plain = child(node, 'PlainValue', path)
  if (plain !== undefined) return base64(typeof plain === 'string' ? plain : undefined, `${path}/PlainValue`)
  const encrypted = child(node, 'EncryptedValue', path)
  if (encrypted === undefined) throw new EntryError(path, 'neither PlainValue nor EncryptedValue')
  if (!keys.encryptionKey)
    throw new EntryError(path, 'encrypted value but the file declares no EncryptionKey')
  const encryptedNode = asNode(encrypted, `${path}/EncryptedValue`)
  const cipherValue = cipherBytes(encryptedNode, `${path}/EncryptedValue`)
  if (!keys.macKey || !keys.macHash)
    throw new EntryError(path, 'encrypted value but the file has no MACMethod')
  const valueMac = base64(text(node, 'ValueMAC'), `${path}/ValueMAC`)
  if (!macMatches(keys.macHash, keys.macKey, cipherValue, valueMac)) {
    throw new EntryError(`${path}/ValueMAC`, 'MAC mismatch: wrong key or password, or the value was altered')
  }
  const { plain: value, badPadding } = decrypt(encryptedNode, keys.encryptionKey, cipherValue, path, options)
  if (badPadding) report.warn({ line, element: path, message: 'invalid padding accepted (lenientPadding)' })
  return value
}

function readInteger(
  node: unknown,
  keys: Keys,
  path: string,
  options: PskcImportOptions,
  report: ReportBuilder,
  line: number,
): number {
  const n = asNode(node, path)
  const plain = child(n, 'PlainValue', path)
  if (plain !== undefined) return integer(typeof plain === 'string' ? plain : undefined, `${path}/PlainValue`)
  const bytes = readValue(n, keys, path, options, report, line)
  if (bytes.length === 0 || bytes.length > 6) throw new EntryError(path, 'encrypted integer out of range')
  return bytes.readUIntBE(0, bytes.length)
}

function decryptField(node: XNode, key: Buffer, path: string, options: DecryptOptions): Buffer {
  return decrypt(node, key, cipherBytes(node, path), path, options).plain
}

function decrypt(node: XNode, key: Buffer, data: Buffer, path: string, options: DecryptOptions) {
  const method = child(node, 'EncryptionMethod', path)
  const algorithm = method && typeof method === 'object' ? attr(method as XNode, 'Algorithm') : undefined
  if (!algorithm) throw new EntryError(`${path}/EncryptionMethod`, 'missing encryption algorithm')
  return decryptCbc(algorithm, key, data, options)
}

function cipherBytes(node: XNode, path: string): Buffer {
  const cipherData = asNode(child(node, 'CipherData', path), `${path}/CipherData`)
  return base64(text(cipherData, 'CipherValue'), `${path}/CipherData/CipherValue`)
}

function suiteAlgorithm(suite: string | undefined, path: string): OathAlgorithm {
  if (suite === undefined || suite === '') return 'SHA1'
  const s = suite.toUpperCase().replace(/[-_]/g, '')
  if (/SHA512/.test(s)) return 'SHA512'
  if (/SHA256/.test(s)) return 'SHA256'
  if (/SHA1(?!\d)/.test(s)) return 'SHA1'
  throw new EntryError(path, `unsupported algorithm suite ${suite}`)
}

function child(node: unknown, name: string, path: string): unknown {
  if (!node || typeof node !== 'object') return undefined
  const value = (node as XNode)[name]
  if (Array.isArray(value)) throw new EntryError(`${path}/${name}`, `${name} appears more than once`)
  return value
}

function asNode(value: unknown, path: string): XNode {
  if (value && typeof value === 'object') return value as XNode
  throw new EntryError(path, value === undefined ? 'element missing' : 'element has no content')
}

function attr(node: XNode, name: string): string | undefined {
  const value = node[`@${name}`]
  return typeof value === 'string' ? decodeXmlText(value) : undefined
}

const PREDEFINED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

/**
 * Resolves XML's five predefined entities and character references (`&#38;`, `&#x26;`). Anything else cannot
 * occur: DOCTYPEs are refused, so no other entity can be declared; an undeclared one is left as written.
 */
export function decodeXmlText(value: string): string {
  if (!value.includes('&')) return value
  return value.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot|apos);/g, (whole, ref: string) => {
    if (ref[0] !== '#') return PREDEFINED_ENTITIES[ref]
    const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : Number(ref.slice(1))
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole
  })
}

/** Text content of a child element (with or without attributes). */
function text(node: XNode, name: string): string | undefined {
  const value = child(node, name, '')
  if (typeof value === 'string') return decodeXmlText(value)
  if (value && typeof value === 'object') {
    const inner = (value as XNode)['#text']
    return typeof inner === 'string' ? decodeXmlText(inner) : ''
  }
  return undefined
}

function base64(value: string | undefined, path: string): Buffer {
  if (value === undefined) throw new EntryError(path, 'value missing')
  const compact = value.replace(/\s+/g, '')
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(compact)) {
    throw new EntryError(path, 'not valid base64')
  }
  return Buffer.from(compact, 'base64')
}

function integer(value: string | undefined, path: string): number {
  if (value === undefined || !/^\s*\d{1,15}\s*$/.test(value))
    throw new EntryError(path, 'not a non-negative integer')
  return Number(value)
}
