import type { SeedRecord } from '../import-report'
import { readPackages, type Keys, type PackageIssue, type PackageResult, type PackageSegment } from './read'
import { KeyPackageSplitter, PskcFormatError } from './xml-split'

/**
 * One part of a PSKC document for a parse worker: the bytes from one KeyPackage start tag up to another (or to
 * the end of the file), with the file's keys. Lines in the outcome count from the part's first line.
 */
export interface PartTask {
  /** The part's bytes: a view of the file in shared memory (SharedArrayBuffer), or bytes of its own. */
  bytes: Uint8Array
  /** The root element's name as written, which the part is directly inside. */
  rootName: string
  /** The part ends the file (it closes the root); the others end just before a KeyPackage start tag. */
  last: boolean
  keys: { encryptionKey?: Uint8Array; macHash?: string; macKey?: Uint8Array }
  lenientPadding?: boolean
}

/** A KeyPackage result on the wire: the secret travels in the part's one secrets buffer, up to `secretEnd`. */
export interface WireResult {
  line: number
  issues: PackageIssue[]
  seed?: Omit<SeedRecord, 'secret'> & { secretEnd: number }
}

/**
 * `ok: false` when the part cannot be read on its own: the cut fell inside markup or a KeyPackage, or the part
 * is not well-formed or not UTF-8. The caller then reads the whole file in one piece for the exact report.
 */
export type PartOutcome =
  { ok: true; newlines: number; results: WireResult[]; secrets: ArrayBuffer } | { ok: false }

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Splits and reads one part; returns the outcome and the buffers to transfer (not copy) with it. */
export function readPart(task: PartTask): { outcome: PartOutcome; transfer: ArrayBuffer[] } {
  const failed = { outcome: { ok: false as const }, transfer: [] }
  let text: string
  try {
    text = decoder.decode(task.bytes)
  } catch {
    return failed
  }
  const splitter = new KeyPackageSplitter(task.rootName)
  const packages: PackageSegment[] = []
  try {
    for (const segment of splitter.push(text)) if (segment.kind === 'package') packages.push(segment)
    if (task.last) splitter.end()
    else if (!splitter.endPart()) return failed
  } catch (err) {
    if (err instanceof PskcFormatError) return failed
    throw err
  }
  const keys: Keys = {
    encryptionKey: task.keys.encryptionKey && Buffer.from(task.keys.encryptionKey),
    macHash: task.keys.macHash,
    macKey: task.keys.macKey && Buffer.from(task.keys.macKey),
  }
  try {
    const results = readPackages(packages, keys, { lenientPadding: task.lenientPadding })
    const { wire, secrets } = pack(results)
    return {
      outcome: { ok: true, newlines: countNewlines(text), results: wire, secrets },
      transfer: [secrets],
    }
  } finally {
    keys.encryptionKey?.fill(0)
    keys.macKey?.fill(0)
  }
}

/** Moves every secret into one buffer of their own (zeroing the originals) so they cross threads in one piece. */
function pack(results: PackageResult[]): { wire: WireResult[]; secrets: ArrayBuffer } {
  let total = 0
  for (const r of results) total += r.seed?.secret.length ?? 0
  const secrets = new ArrayBuffer(total)
  const view = new Uint8Array(secrets)
  let end = 0
  const wire = results.map(({ line, issues, seed }): WireResult => {
    if (!seed) return { line, issues }
    const { secret, ...rest } = seed
    view.set(secret, end)
    end += secret.length
    secret.fill(0)
    return { line, issues, seed: { ...rest, secretEnd: end } }
  })
  return { wire, secrets }
}

/** The results of a part again, each seed's secret a view into the part's secrets buffer. */
export function unpack(outcome: Extract<PartOutcome, { ok: true }>): PackageResult[] {
  let start = 0
  return outcome.results.map(({ line, issues, seed }): PackageResult => {
    if (!seed) return { line, issues }
    const { secretEnd, ...rest } = seed
    const secret = Buffer.from(outcome.secrets, start, secretEnd - start)
    start = secretEnd
    return { line, issues, seed: { ...rest, secret } }
  })
}

function countNewlines(text: string): number {
  let n = 0
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++
  return n
}
