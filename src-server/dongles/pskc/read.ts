import { XMLParser, XMLValidator } from 'fast-xml-parser'
import type { OathAlgorithm } from '../../otp/oath'
import type { ImportOptions, ReportBuilder, SeedRecord } from '../import-report'
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
import { PskcFormatError, type Segment } from './xml-split'

/**
 * Reading the parts of a PSKC document the splitter cuts out: the KeyContainer header (keys) and KeyPackages
 * (seeds). KeyPackages are read into plain results, so the same code runs on the importing thread and in the
 * parse workers (./parallel.ts); `addPackage` turns a result into report entries.
 */

export interface PskcImportOptions extends ImportOptions, DecryptOptions {
  /** For files protected with a password (PBKDF2, RFC 6030 §6.2). */
  password?: string
  /** For files encrypted under a pre-shared key (RFC 6030 §6.1). */
  preSharedKey?: Uint8Array
}

/** The file's keys, from its header: what every encrypted value is decrypted and MAC-checked with. */
export interface Keys {
  encryptionKey?: Buffer
  macHash?: string
  macKey?: Buffer
}

export type HeaderSegment = Extract<Segment, { kind: 'header' }>
export type PackageSegment = Extract<Segment, { kind: 'package' }>

/** An error or warning inside one KeyPackage; `path` is the element below the KeyPackage ('' for itself). */
export interface PackageIssue {
  line: number
  path: string
  message: string
  warning?: true
}

/** What one KeyPackage yields: its seed (only when no error), and its issues in document order. */
export interface PackageResult {
  line: number
  seed?: SeedRecord
  issues: PackageIssue[]
}

/** Both spellings of each profile: RFC 6030 names them `pskc:hotp` and, in places, `pskc#hotp`. */
const HOTP_ALGORITHMS = new Set([
  'urn:ietf:params:xml:ns:keyprov:pskc:hotp',
  'urn:ietf:params:xml:ns:keyprov:pskc#hotp',
])
const TOTP_ALGORITHMS = new Set([
  'urn:ietf:params:xml:ns:keyprov:pskc:totp',
  'urn:ietf:params:xml:ns:keyprov:pskc#totp',
])
/** Companion keys (a PIN protecting an OTP key, Figure 5) that are not tokens themselves. */
const NON_TOKEN_ALGORITHMS = new Set(['urn:ietf:params:xml:ns:keyprov:pskc:pin'])

const PARSE_BATCH = 64
/**
 * The largest TOTP clock drift accepted on import, in time steps (either way): 10,000 steps is over three days
 * at 30 s, far beyond any real token clock (our own resync searches ±6 h). A larger value is a broken file.
 */
export const MAX_DRIFT_STEPS = 10_000

const PARSER_OPTIONS = {
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  // Element prefixes are removed beforehand by tidy() (done here, it cost a sixth of the parse time). Attributes
  // keep theirs: PSKC's are unqualified, and python3-pskc does not read a prefixed one either.
  removeNSPrefix: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // Measured on 100,000 KeyPackages: the parser's entity pass and its path strings for callbacks (jPath) took
  // over half of the parse time, for values that almost never hold an entity. No entity can be declared (the
  // splitter refuses every DOCTYPE), so only the predefined ones and character references remain, and
  // decodeXmlText() resolves those in the few values that contain '&'.
  processEntities: false,
  jPath: false,
  // Elements as ordered lists of children, as the parser builds them, instead of objects keyed by child name:
  // that conversion was a fifth of the parse time, and finding a child in a list of a few is as quick.
  preserveOrder: true,
}
const parser = new XMLParser(PARSER_OPTIONS)

/** One item of the parser's ordered output: an element `{[name]: children, ':@'?: attributes}`, or text. */
type Item = { [name: string]: unknown }
/** An element: its children in document order and its attributes (names prefixed with '@'). */
interface El {
  children: Item[]
  attrs?: Record<string, unknown>
}
const NO_ELEMENT: El = { children: [] }
/**
 * What tidy() removes: element name prefixes (`<pskc:Key` → `<Key`, `</pskc:Key` → `</Key`) and whitespace
 * between tags, which the parser drops anyway (trimValues) but reads a character at a time. Comments, CDATA
 * sections and processing instructions match first and are kept whole, so nothing inside them changes; '<'
 * cannot occur in text or attribute values (the splitter refuses it in a value).
 */
const TIDY =
  /(<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>)|(<\/?)[^\s<>/!?:=]+:|(>)[ \t\r\n]+(?=<)/g

/** A well-formed fragment as the parser should get it (see TIDY). */
function tidy(xml: string): string {
  return xml.replace(TIDY, '$1$2$3')
}

/** A problem inside one KeyPackage (or the header), named by its element path. */
class EntryError extends Error {
  constructor(
    readonly element: string,
    message: string,
  ) {
    super(message)
  }
}

/** Reads the KeyContainer header: version and keys. Returns null (with the error reported) if unusable. */
export function readHeader(segment: HeaderSegment, options: PskcImportOptions, report: ReportBuilder) {
  const fail = (message: string, element = 'KeyContainer') => {
    report.error({ line: segment.line, element, message })
    return null
  }
  const root = child(parseSegment(segment), 'KeyContainer', '')
  if (root === undefined) return fail(`root element is ${segment.rootName}, not KeyContainer`)
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
        const node = asNode(macKey, 'MACMethod/MACKey')
        keys.macKey = decrypt(
          node,
          keys.encryptionKey,
          cipherBytes(node, 'MACMethod/MACKey'),
          'MACMethod/MACKey',
          {},
        ).plain
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

function resolveEncryptionKey(node: El, options: PskcImportOptions): Buffer {
  const enc = asNode(node, 'EncryptionKey')
  const derived = child(enc, 'DerivedKey', 'EncryptionKey')
  if (derived !== undefined) {
    if (options.password === undefined) {
      throw new EntryError('EncryptionKey', 'the file is password-protected (PBKDF2): a password is needed')
    }
    const method = asNode(child(derived, 'KeyDerivationMethod', 'DerivedKey'), 'KeyDerivationMethod')
    if (attr(method, 'Algorithm') !== PBKDF2) {
      throw new EntryError(
        'KeyDerivationMethod',
        `unsupported key derivation ${attr(method, 'Algorithm') ?? '(none)'}`,
      )
    }
    const params = asNode(child(method, 'PBKDF2-params', 'KeyDerivationMethod'), 'PBKDF2-params')
    const salt = base64(
      text(asNode(child(params, 'Salt', 'PBKDF2-params'), 'Salt'), 'Specified', 'Salt'),
      'Salt/Specified',
    )
    const iterations = integer(
      text(params, 'IterationCount', 'PBKDF2-params'),
      'PBKDF2-params/IterationCount',
    )
    const keyLength = integer(text(params, 'KeyLength', 'PBKDF2-params') ?? '16', 'PBKDF2-params/KeyLength')
    const prf = child(params, 'PRF', 'PBKDF2-params')
    const prfAlgorithm = (prf && attr(prf, 'Algorithm')) ?? ''
    return deriveKey(options.password, salt, iterations, keyLength, pbkdf2Hash(prfAlgorithm))
  }
  if (!options.preSharedKey) {
    const name = child(enc, 'KeyName', 'EncryptionKey') ? ' (named in KeyName)' : ''
    throw new EntryError(
      'EncryptionKey',
      `the file is encrypted with a pre-shared key${name}: the key is needed`,
    )
  }
  return Buffer.from(options.preSharedKey)
}

/** Reads KeyPackages in document order, parsing them a batch at a time. */
export function readPackages(
  segments: readonly PackageSegment[],
  keys: Keys,
  options: DecryptOptions,
): PackageResult[] {
  const results: PackageResult[] = []
  for (let i = 0; i < segments.length; i += PARSE_BATCH) {
    const batch = segments.slice(i, i + PARSE_BATCH)
    parseBatch(batch).forEach((parsed, j) => results.push(readPackage(parsed, batch[j].line, keys, options)))
  }
  return results
}

/** Adds one KeyPackage's result to the report as entry number `index`, naming its elements by that number. */
export function addPackage(report: ReportBuilder, index: number, result: PackageResult): void {
  report.entries++
  const where = `KeyPackage #${index}`
  for (const issue of result.issues) {
    const found = { line: issue.line, element: issue.path ? `${where}/${issue.path}` : where }
    if (issue.warning) report.warn({ ...found, message: issue.message })
    else report.error({ ...found, message: issue.message })
  }
  if (result.seed) report.add(result.seed, result.line, where)
  report.progress()
}

/**
 * Parses KeyPackages a batch at a time (one parser call per batch is several times faster than one per
 * package). If a batch does not parse cleanly, each package is parsed and validated on its own so the error
 * names its package and line.
 */
function parseBatch(batch: PackageSegment[]): (El | undefined | PskcFormatError)[] {
  try {
    const [root] = parser.parse(`<Batch>${tidy(batch.map((s) => s.xml).join(''))}</Batch>`) as Item[]
    const list = elements(root, 'Batch')
    if (list.length === batch.length && list.every((item) => item.KeyPackage !== undefined)) {
      return list.map((item) => element(item, 'KeyPackage'))
    }
  } catch {
    // fall through to the one-by-one parse, which locates the fault
  }
  return batch.map((segment) => {
    try {
      return child(parseSegment(segment), 'KeyPackage', '')
    } catch (err) {
      if (err instanceof PskcFormatError) return err
      throw err
    }
  })
}

/** A fragment parsed on its own, after the validator has checked it (to name the line of a fault). */
function parseSegment(segment: Segment): El {
  const valid = XMLValidator.validate(segment.xml)
  if (valid !== true) {
    throw new PskcFormatError(`not well-formed XML: ${valid.err.msg}`, segment.line + valid.err.line - 1)
  }
  return { children: parser.parse(tidy(segment.xml)) as Item[] }
}

function readPackage(
  parsed: El | undefined | PskcFormatError,
  line: number,
  keys: Keys,
  options: DecryptOptions,
): PackageResult {
  const issues: PackageIssue[] = []
  let secret: Buffer | undefined
  try {
    if (parsed instanceof PskcFormatError) throw parsed
    const node = asNode(parsed, '')
    const key = asNode(child(node, 'Key', ''), 'Key')
    const algorithm = attr(key, 'Algorithm') ?? ''
    if (NON_TOKEN_ALGORITHMS.has(algorithm)) {
      issues.push({ warning: true, line, path: 'Key', message: `skipped: ${algorithm} is not an OTP key` })
      return { line, issues }
    }
    const kind = HOTP_ALGORITHMS.has(algorithm) ? 'hotp' : TOTP_ALGORITHMS.has(algorithm) ? 'totp' : null
    if (!kind) throw new EntryError('Key', `unsupported key algorithm ${algorithm || '(none)'}`)

    const deviceNode = child(node, 'DeviceInfo', '') ?? NO_ELEMENT
    const paramsNode = child(key, 'AlgorithmParameters', 'Key') ?? NO_ELEMENT
    const formatNode = child(paramsNode, 'ResponseFormat', 'Key/AlgorithmParameters') ?? NO_ELEMENT
    const encoding = attr(formatNode, 'Encoding')
    if (encoding !== undefined && encoding !== 'DECIMAL') {
      throw new EntryError(
        'Key/AlgorithmParameters/ResponseFormat',
        `response encoding ${encoding} is not DECIMAL`,
      )
    }
    const data = asNode(child(key, 'Data', 'Key'), 'Key/Data')
    const secretNode = child(data, 'Secret', 'Key/Data')
    if (secretNode === undefined) throw new EntryError('Key/Data', 'no Secret')
    const secretPath = 'Key/Data/Secret'
    secret = readValue(asNode(secretNode, secretPath), keys, secretPath, options, issues, line)
    const counter = child(data, 'Counter', 'Key/Data')
    const interval = child(data, 'TimeInterval', 'Key/Data')
    // The token clock's offset the vendor or the previous server learnt, in time intervals: without it a token
    // whose clock runs off is refused until resynchronised. Meaningless for HOTP, so not read there.
    const drift = kind === 'totp' ? child(data, 'TimeDrift', 'Key/Data') : undefined
    const seed: SeedRecord = {
      serial: text(deviceNode, 'SerialNo', 'DeviceInfo') ?? attr(key, 'Id') ?? '',
      kind,
      secret,
      algorithm: suiteAlgorithm(
        text(paramsNode, 'Suite', 'Key/AlgorithmParameters'),
        'Key/AlgorithmParameters/Suite',
      ),
      digits: integer(attr(formatNode, 'Length') ?? '6', 'Key/AlgorithmParameters/ResponseFormat@Length'),
      counter:
        counter === undefined ? 0 : readInteger(counter, keys, 'Key/Data/Counter', options, issues, line),
      period:
        interval === undefined
          ? 30
          : readInteger(interval, keys, 'Key/Data/TimeInterval', options, issues, line),
      ...(drift === undefined
        ? {}
        : { driftSteps: readDrift(drift, keys, 'Key/Data/TimeDrift', options, issues, line) }),
      manufacturer: text(deviceNode, 'Manufacturer', 'DeviceInfo'),
      model: text(deviceNode, 'Model', 'DeviceInfo'),
      issuer: text(key, 'Issuer', 'Key'),
    }
    return { line, seed, issues }
  } catch (err) {
    secret?.fill(0)
    if (err instanceof EntryError) issues.push({ line, path: err.element, message: err.message })
    else if (err instanceof PskcCryptoError) issues.push({ line, path: '', message: err.message })
    else if (err instanceof PskcFormatError)
      issues.push({ line: err.line ?? line, path: '', message: err.message })
    else throw err
    return { line, issues }
  }
}

/** A PSKC binary value: PlainValue (base64), or EncryptedValue whose MAC is checked before decrypting. */
function readValue(
  node: El,
  keys: Keys,
  path: string,
  options: DecryptOptions,
  issues: PackageIssue[],
  line: number,
): Buffer {
  const plain = text(node, 'PlainValue', path)
  if (plain !== undefined) return base64(plain, `${path}/PlainValue`)
  const encrypted = child(node, 'EncryptedValue', path)
  if (encrypted === undefined) throw new EntryError(path, 'neither PlainValue nor EncryptedValue')
  if (!keys.encryptionKey)
    throw new EntryError(path, 'encrypted value but the file declares no EncryptionKey')
  const encryptedNode = asNode(encrypted, `${path}/EncryptedValue`)
  const cipherValue = cipherBytes(encryptedNode, `${path}/EncryptedValue`)
  if (!keys.macKey || !keys.macHash)
    throw new EntryError(path, 'encrypted value but the file has no MACMethod')
  const valueMac = base64(text(node, 'ValueMAC', path), `${path}/ValueMAC`)
  if (!macMatches(keys.macHash, keys.macKey, cipherValue, valueMac)) {
    throw new EntryError(`${path}/ValueMAC`, 'MAC mismatch: wrong key or password, or the value was altered')
  }
  const { plain: value, badPadding } = decrypt(encryptedNode, keys.encryptionKey, cipherValue, path, options)
  if (badPadding) {
    issues.push({ warning: true, line, path, message: 'invalid padding accepted (lenientPadding)' })
  }
  return value
}

function readInteger(
  node: El,
  keys: Keys,
  path: string,
  options: DecryptOptions,
  issues: PackageIssue[],
  line: number,
): number {
  const n = asNode(node, path)
  const plain = text(n, 'PlainValue', path)
  if (plain !== undefined) return integer(plain, `${path}/PlainValue`)
  const bytes = readValue(n, keys, path, options, issues, line)
  if (bytes.length === 0 || bytes.length > 6) throw new EntryError(path, 'encrypted integer out of range')
  return bytes.readUIntBE(0, bytes.length)
}

/**
 * TimeDrift: an xs:int, negative when the token's clock is slow. Plain values may carry a sign; an encrypted one
 * is unsigned big-endian, as python3-pskc writes it. Anything beyond MAX_DRIFT_STEPS is refused, not stored.
 */
function readDrift(
  node: El,
  keys: Keys,
  path: string,
  options: DecryptOptions,
  issues: PackageIssue[],
  line: number,
): number {
  const n = asNode(node, path)
  const plain = text(n, 'PlainValue', path)
  if (plain !== undefined && !/^\s*[+-]?\d{1,15}\s*$/.test(plain))
    throw new EntryError(`${path}/PlainValue`, 'not an integer')
  const steps = plain !== undefined ? Number(plain) : readInteger(n, keys, path, options, issues, line)
  if (Math.abs(steps) > MAX_DRIFT_STEPS) {
    throw new EntryError(path, `drift of ${steps} time steps is beyond ±${MAX_DRIFT_STEPS}`)
  }
  return steps === 0 ? 0 : steps // no -0
}

function decrypt(node: El, key: Buffer, data: Buffer, path: string, options: DecryptOptions) {
  const method = child(node, 'EncryptionMethod', path)
  const algorithm = method && attr(method, 'Algorithm')
  if (!algorithm) throw new EntryError(`${path}/EncryptionMethod`, 'missing encryption algorithm')
  return decryptCbc(algorithm, key, data, options)
}

function cipherBytes(node: El, path: string): Buffer {
  const cipherData = asNode(child(node, 'CipherData', path), `${path}/CipherData`)
  return base64(text(cipherData, 'CipherValue', `${path}/CipherData`), `${path}/CipherData/CipherValue`)
}

function suiteAlgorithm(suite: string | undefined, path: string): OathAlgorithm {
  if (suite === undefined || suite === '') return 'SHA1'
  const s = suite.toUpperCase().replace(/[-_]/g, '')
  if (/SHA512/.test(s)) return 'SHA512'
  if (/SHA256/.test(s)) return 'SHA256'
  if (/SHA1(?!\d)/.test(s)) return 'SHA1'
  throw new EntryError(path, `unsupported algorithm suite ${suite}`)
}

/** The child element `name` of `node` (whose path is `path`); an element given twice is an error. */
function child(node: El, name: string, path: string): El | undefined {
  let found: Item | undefined
  for (const item of node.children) {
    if (item[name] === undefined) continue
    if (found) throw new EntryError(below(path, name), `${name} appears more than once`)
    found = item
  }
  return found && element(found, name)
}

function element(item: Item, name: string): El {
  return { children: item[name] as Item[], attrs: item[':@'] as Record<string, unknown> | undefined }
}

/** The items inside the element `name` that `item` is (none if it is not that element). */
function elements(item: Item | undefined, name: string): Item[] {
  const children = item?.[name]
  return Array.isArray(children) ? (children as Item[]) : []
}

function below(path: string, name: string): string {
  return path ? `${path}/${name}` : name
}

/** An element that must have attributes or child elements, not just text. */
function asNode(value: El | undefined, path: string): El {
  if (value && (value.attrs !== undefined || value.children.some((item) => item['#text'] === undefined)))
    return value
  throw new EntryError(path, value === undefined ? 'element missing' : 'element has no content')
}

function attr(node: El, name: string): string | undefined {
  const value = node.attrs?.[`@${name}`]
  return typeof value === 'string' ? decodeXmlText(value) : undefined
}

const PREDEFINED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

/**
 * Resolves XML's five predefined entities and character references (`&#38;`, `&#x26;`). Anything else cannot
 * occur: DOCTYPEs are refused, so no other entity can be declared; an undeclared one is left as written.
 */
function decodeXmlText(value: string): string {
  if (!value.includes('&')) return value
  return value.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot|apos);/g, (whole, ref: string) => {
    if (ref[0] !== '#') return PREDEFINED_ENTITIES[ref]
    const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : Number(ref.slice(1))
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole
  })
}

/** Text content of a child element (with or without attributes); '' when it is empty. */
function text(node: El, name: string, path: string): string | undefined {
  const found = child(node, name, path)
  if (found === undefined) return undefined
  let value = ''
  for (const item of found.children) if (typeof item['#text'] === 'string') value += item['#text']
  return decodeXmlText(value)
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
