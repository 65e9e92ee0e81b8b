import { Worker } from 'node:worker_threads'
import { ReportBuilder, type ImportReport } from '../import-report'
import { unpack, type PartOutcome, type PartTask } from './part'
import {
  addPackage,
  readHeader,
  type HeaderSegment,
  type PackageResult,
  type PskcImportOptions,
} from './read'
import { KeyPackageSplitter, PskcFormatError } from './xml-split'

/**
 * Reads a large PSKC file with worker threads. The file is cut into parts of about PART_BYTES just before
 * KeyPackage start tags, found by a plain byte search; this thread reads the header (everything before the
 * first KeyPackage: version, keys, PBKDF2) and the workers split, parse, MAC-check and decrypt one part each.
 * Results are merged in document order, so package numbers, lines, duplicate checks and the report are those of
 * the one-piece read.
 *
 * The byte search cannot tell markup from a comment or CDATA section that happens to contain a KeyPackage tag,
 * so each part's splitter checks that its part ended directly inside the root, between two KeyPackages: the
 * state the next part starts in. Every byte is tokenised by one splitter, so the DOCTYPE/entity refusal covers
 * the whole file. When any part cannot be read on its own (a cut inside markup, a file that is not well-formed
 * or not UTF-8), this returns undefined and the caller reads the file in one piece, which gives the exact report.
 */

/** Below this, starting workers costs more than it saves. */
export const PARALLEL_MIN_BYTES = 1 << 20
/** Above this (half a million tokens and more) the file is streamed instead of held in memory. */
export const PARALLEL_MAX_BYTES = 512 << 20
/** About 2,000 KeyPackages: small enough to keep both cores busy to the end and progress moving. */
export const PART_BYTES = 2 << 20

interface Part {
  start: number
  end: number
}

/**
 * Imports `bytes` with the parse workers `readers` (started by the caller, so they boot while it reads the
 * file) and closes them; undefined when the file has to be read in one piece instead.
 */
export async function importPskcInParallel(
  bytes: Uint8Array,
  options: PskcImportOptions,
  readers: Promise<PartReaders>,
  partBytes = PART_BYTES,
): Promise<ImportReport | undefined> {
  try {
    return await readInParts(bytes, options, readers, partBytes)
  } finally {
    await (await readers).close()
  }
}

async function readInParts(
  bytes: Uint8Array,
  options: PskcImportOptions,
  started: Promise<PartReaders>,
  partBytes: number,
): Promise<ImportReport | undefined> {
  // Workers read their parts from shared memory: no copy per part.
  const shared =
    bytes.buffer instanceof SharedArrayBuffer ? bytes : new Uint8Array(new SharedArrayBuffer(bytes.length))
  if (shared !== bytes) shared.set(bytes)
  const buf = Buffer.from(shared.buffer, shared.byteOffset, shared.length)
  const parts = cutParts(buf, partBytes)
  if (!parts) return undefined
  const head = readHead(buf.subarray(0, parts[0].start))
  if (!head) return undefined

  const report = new ReportBuilder(options)
  report.bytes = parts[0].start
  const keys = readHeader(head.header, options, report)
  if (!keys) {
    report.progress(true)
    return report.finish()
  }
  // Copies of their own: a pooled Buffer would carry its whole pool slab to the workers.
  const taskKeys = {
    encryptionKey: keys.encryptionKey && new Uint8Array(keys.encryptionKey),
    macHash: keys.macHash,
    macKey: keys.macKey && new Uint8Array(keys.macKey),
  }
  const readers = await started
  const outcomes: Promise<PartOutcome>[] = []
  const send = () => {
    const k = outcomes.length
    if (k >= parts.length) return
    const task: PartTask = {
      bytes: shared.subarray(parts[k].start, parts[k].end),
      rootName: head.header.rootName,
      last: k === parts.length - 1,
      keys: taskKeys,
      lenientPadding: options.lenientPadding,
    }
    outcomes.push(readers.read(task))
  }
  // Two parts queued per worker, so none waits for its next part while this thread merges.
  for (let i = 0; i < readers.size * 2; i++) send()
  let merged = 0
  try {
    let line = head.newlines
    for (; merged < parts.length; merged++) {
      const outcome = await outcomes[merged]
      send()
      if (!outcome.ok) {
        report.discard()
        return undefined
      }
      for (const result of unpack(outcome)) addPackage(report, report.entries + 1, shiftLines(result, line))
      line += outcome.newlines
      report.bytes = parts[merged].end
    }
  } catch (err) {
    report.discard()
    throw err
  } finally {
    // Parts read but not merged (the import stopped early) still hold secrets.
    for (const later of outcomes.slice(merged + 1)) later.then(zeroSecrets, () => undefined)
    taskKeys.encryptionKey?.fill(0)
    taskKeys.macKey?.fill(0)
  }
  report.progress(true)
  if (report.entries === 0 && !report.failed) report.error({ message: 'the file contains no KeyPackage' })
  return report.finish()
}

const LT = 0x3c
const COLON = 0x3a

/**
 * Parts starting at KeyPackage start tags about `partBytes` apart (the first at the first one), or undefined when
 * the file has none. The first tag found gives the name (with its prefix) the later cuts look for.
 */
function cutParts(buf: Buffer, partBytes: number): Part[] | undefined {
  let first = -1
  let tag = ''
  for (let i = buf.indexOf('KeyPackage'); i >= 0 && first < 0; i = buf.indexOf('KeyPackage', i + 1)) {
    if (!endsName(buf[i + 10])) continue
    let lt = i - 1
    if (buf[lt] === COLON) {
      // Back over a namespace prefix.
      lt--
      while (lt > 0 && i - lt < 64 && !endsName(buf[lt]) && buf[lt] !== LT) lt--
    }
    if (buf[lt] !== LT) continue
    first = lt
    tag = buf.toString('latin1', lt, i + 10)
  }
  if (first < 0) return undefined
  const starts = [first]
  for (let from = first + partBytes; from < buf.length;) {
    let next = buf.indexOf(tag, from, 'latin1')
    while (next >= 0 && !endsName(buf[next + tag.length])) next = buf.indexOf(tag, next + 1, 'latin1')
    if (next < 0) break
    starts.push(next)
    from = next + partBytes
  }
  return starts.map((start, k) => ({ start, end: starts[k + 1] ?? buf.length }))
}

/** Whitespace, '/' or '>': what may follow an element name. */
function endsName(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x09 || byte === 0x0d || byte === 0x2f || byte === 0x3e
}

/** The header from the bytes before the first KeyPackage, if they end cleanly inside the root. */
function readHead(bytes: Buffer): { header: HeaderSegment; newlines: number } | undefined {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    const splitter = new KeyPackageSplitter()
    const segments = splitter.push(text)
    const rest = splitter.endPart()
    if (!rest) return undefined
    const [header, ...others] = [...segments, ...rest]
    if (header?.kind !== 'header' || others.length > 0) return undefined
    return { header, newlines: text.split('\n').length - 1 }
  } catch (err) {
    if (err instanceof PskcFormatError || err instanceof TypeError) return undefined
    throw err
  }
}

/** A part's lines count from its own first line; `offset` is the number of lines before it. */
function shiftLines(result: PackageResult, offset: number): PackageResult {
  result.line += offset
  for (const issue of result.issues) issue.line += offset
  return result
}

function zeroSecrets(outcome: PartOutcome): void {
  if (outcome.ok) new Uint8Array(outcome.secrets).fill(0)
}

interface Pending {
  resolve(outcome: PartOutcome): void
  reject(err: Error): void
}

/**
 * Starts `count` parse workers for one import. The promise is observed here, so a failure to start surfaces
 * where it is awaited, not as an unhandled rejection while the caller reads the file.
 */
export function startPartReaders(count: number): Promise<PartReaders> {
  const started = PartReaders.start(count)
  started.catch(() => undefined)
  return started
}

/**
 * Parse workers for one import; each answers its parts in the order it got them. A worker that fails (an
 * exception, running out of memory) fails every part not yet answered and every later one: the import stops
 * with an internal error rather than wait for an answer that cannot come.
 */
export class PartReaders {
  private readonly workers: { worker: Worker; pending: Pending[] }[] = []
  private failure: Error | undefined
  private closing = false

  private constructor(spawn: () => Worker, count: number) {
    for (let i = 0; i < count; i++) {
      const slot = { worker: spawn(), pending: [] as Pending[] }
      slot.worker.on('message', (outcome: PartOutcome) => slot.pending.shift()?.resolve(outcome))
      slot.worker.on('error', (err) => this.fail(err))
      slot.worker.on('exit', (code) => {
        if (!this.closing) this.fail(new Error(`a PSKC parse worker stopped (exit code ${code})`))
        // Parts still queued when the import stops early are abandoned: they read as not readable alone.
        for (const p of slot.pending.splice(0)) p.resolve({ ok: false })
      })
      this.workers.push(slot)
    }
  }

  static async start(count: number): Promise<PartReaders> {
    return new PartReaders(await workerFactory(), Math.max(1, count))
  }

  get size(): number {
    return this.workers.length
  }

  read(task: PartTask): Promise<PartOutcome> {
    if (this.failure) return Promise.reject(this.failure)
    const slot = this.workers.reduce((a, b) => (b.pending.length < a.pending.length ? b : a))
    const outcome = new Promise<PartOutcome>((resolve, reject) => {
      slot.pending.push({ resolve, reject })
      slot.worker.postMessage(task)
    })
    // Awaited in document order by the caller; this keeps a failure of a later part from going unhandled.
    outcome.catch(() => undefined)
    return outcome
  }

  async close(): Promise<void> {
    this.closing = true
    await Promise.all(this.workers.map((w) => w.worker.terminate()))
  }

  private fail(err: Error): void {
    this.failure ??= err
    for (const slot of this.workers) for (const p of slot.pending.splice(0)) p.reject(this.failure)
  }
}

/**
 * How to start a parse worker. The bundled server (electron-vite) emits ./parse-worker as a file of its own
 * (`?modulePath`); from the TypeScript sources (tests, tsx, the `ims` CLI) the worker first registers tsx, which
 * a worker thread does not inherit.
 */
async function workerFactory(): Promise<() => Worker> {
  if (import.meta.url.endsWith('.ts')) {
    const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'))
    const entry = JSON.stringify(new URL('./parse-worker.ts', import.meta.url).href)
    const source = `import(${tsx}).then((tsx) => { tsx.register(); return import(${entry}) })`
    return () => new Worker(source, { eval: true })
  }
  const { default: path } = await import('./parse-worker?modulePath')
  return () => new Worker(path)
}
