import { availableParallelism } from 'node:os'
import { setImmediate } from 'node:timers/promises'
import { ReportBuilder, type ImportReport } from '../import-report'
import {
  importPskcInParallel,
  PARALLEL_MAX_BYTES,
  PARALLEL_MIN_BYTES,
  PART_BYTES,
  startPartReaders,
} from './parallel'
import { addPackage, readHeader, readPackages, type Keys, type PskcImportOptions } from './read'
import { KeyPackageSplitter, PskcFormatError, type Segment } from './xml-split'

export type { PskcImportOptions } from './read'

export type PskcSource = string | Uint8Array | AsyncIterable<string | Uint8Array>

export interface PskcThreadOptions {
  /**
   * Worker threads for a large file (PARALLEL_MIN_BYTES to PARALLEL_MAX_BYTES) given as bytes, or as a stream
   * with its `size`. Default: one per core, at most four; 0 reads on the calling thread.
   */
  workers?: number
  /** The size in bytes of a streamed input, if known: a large one is read into memory for the workers. */
  size?: number
}

/** A large string input is fed to the splitter in slices so progress is reported as it goes. */
const SLICE_CHARS = 1 << 20
const MAX_WORKERS = 4

/** Parse workers for a large file unless told otherwise: one per core, at most four. */
export function defaultParseWorkers(): number {
  return Math.min(availableParallelism(), MAX_WORKERS)
}

/**
 * Imports OATH seeds from a PSKC (RFC 6030) file: plain, pre-shared-key or PBKDF2 protected. The result is
 * all-or-nothing, with every error located by line and element. A large file is read into memory and parsed by
 * worker threads, a part each (./parallel.ts); anything else is streamed a KeyPackage at a time on this thread.
 */
export async function importPskc(
  source: PskcSource,
  options: PskcImportOptions & PskcThreadOptions = {},
): Promise<ImportReport> {
  const size =
    typeof source === 'string' ? undefined : source instanceof Uint8Array ? source.length : options.size
  const workers = options.workers ?? defaultParseWorkers()
  if (workers === 0 || size === undefined || size < PARALLEL_MIN_BYTES || size > PARALLEL_MAX_BYTES) {
    return importPskcStream(source, options)
  }
  // The workers start while the file is read.
  const readers = startPartReaders(Math.min(workers, Math.ceil(size / PART_BYTES)))
  let bytes: Uint8Array
  try {
    bytes = await gather(source as Uint8Array | AsyncIterable<string | Uint8Array>)
  } catch (err) {
    void readers.then(
      (r) => r.close(),
      () => undefined,
    )
    throw err
  }
  // Undefined when the file cannot be cut into parts that read alone: then it is read in one piece, which also
  // gives the exact report for a file that is not well-formed.
  return (await importPskcInParallel(bytes, options, readers)) ?? importPskcStream(bytes, options)
}

/** The whole input in shared memory, which the parse workers read without a copy of their own. */
async function gather(source: Uint8Array | AsyncIterable<string | Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  if (source instanceof Uint8Array) chunks.push(source)
  else for await (const chunk of source) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  const shared = new Uint8Array(new SharedArrayBuffer(chunks.reduce((n, c) => n + c.length, 0)))
  let at = 0
  for (const chunk of chunks) {
    shared.set(chunk, at)
    at += chunk.length
  }
  return shared
}

/** Streams the input through the splitter on this thread, a slice at a time. */
async function importPskcStream(source: PskcSource, options: PskcImportOptions): Promise<ImportReport> {
  const report = new ReportBuilder(options)
  const splitter = new KeyPackageSplitter()
  let keys: Keys | null = null
  const handle = (segments: Segment[]) => {
    const packages: Extract<Segment, { kind: 'package' }>[] = []
    for (const segment of segments) {
      if (segment.kind === 'header') keys = readHeader(segment, options, report)
      else packages.push(segment)
    }
    if (keys === null) return
    readPackages(packages, keys, options).forEach((result, i) =>
      addPackage(report, packages[i].index, result),
    )
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
  const chunks = source instanceof Uint8Array ? sliceBytes(source) : source
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

/** Bytes in slices, with a turn of the event loop between them so a server keeps answering meanwhile. */
async function* sliceBytes(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += SLICE_CHARS) {
    if (i > 0) await setImmediate()
    yield bytes.subarray(i, i + SLICE_CHARS)
  }
}
