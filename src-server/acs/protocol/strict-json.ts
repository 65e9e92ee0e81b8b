/**
 * JSON parsing that reports duplicate member names.
 *
 * EMV 3DS answers a duplicated data element with Erro 204, but `JSON.parse` silently keeps the last
 * value. We let the native parser decide validity (fast, exact), then run one linear scan over the
 * already-valid text that tracks the member names of every open object.
 */
export type StrictJsonResult =
  | { ok: true; value: unknown }
  | { ok: false; reason: 'syntax' }
  | { ok: false; reason: 'duplicate'; path: string }

export function parseJsonStrict(text: string): StrictJsonResult {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, reason: 'syntax' }
  }
  const duplicate = findDuplicateKey(text)
  return duplicate === undefined ? { ok: true, value } : { ok: false, reason: 'duplicate', path: duplicate }
}

interface Frame {
  isObject: boolean
  keys: Set<string> | undefined
  /** Dotted path of this container (for error details). */
  path: string
  /** The next string literal in this object is a member name. */
  expectKey: boolean
  lastKey: string
}

/** Returns the dotted path of the first duplicated member name, or undefined. Input must be valid JSON. */
export function findDuplicateKey(text: string): string | undefined {
  const stack: Frame[] = []
  let i = 0
  const n = text.length
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 0x22 /* " */) {
      const start = i
      i++
      let escaped = false
      while (i < n) {
        const d = text.charCodeAt(i)
        if (d === 0x5c) {
          escaped = true
          i += 2
          continue
        }
        if (d === 0x22) break
        i++
      }
      const top = stack[stack.length - 1]
      if (top && top.isObject && top.expectKey) {
        const raw = text.slice(start + 1, i)
        const key = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : raw
        top.keys ??= new Set()
        if (top.keys.has(key)) return join(top.path, key)
        top.keys.add(key)
        top.lastKey = key
        top.expectKey = false
      }
      i++
      continue
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const parent = stack[stack.length - 1]
      const path = !parent ? '' : parent.isObject ? join(parent.path, parent.lastKey) : `${parent.path}[]`
      stack.push({ isObject: c === 0x7b, keys: undefined, path, expectKey: c === 0x7b, lastKey: '' })
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop()
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1]
      if (top && top.isObject) top.expectKey = true
    }
    i++
  }
  return undefined
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`
}
