/**
 * JSON parsing that reports duplicate member names.
 *
 * EMV 3DS answers a duplicated data element with Erro 204, but `JSON.parse` silently keeps the last
 * value. We let the native parser decide validity (fast, exact), then compare the number of members
 * written in the text with the number of members the parsed value kept: they are equal exactly when no
 * object repeats a name (a repeated name loses a member, and a discarded earlier value can only hide
 * more). Only when they differ do we pay for the scan that names the first duplicate.
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
  if (countWrittenMembers(text) === countKeptMembers(value)) return { ok: true, value }
  const duplicate = findDuplicateKey(text)
  return duplicate === undefined ? { ok: true, value } : { ok: false, reason: 'duplicate', path: duplicate }
}

/**
 * Index of the quote closing the string literal that opens at `open`. Input must be valid JSON.
 * `indexOf` skips string contents natively: long values (deviceInfo, base64url, kilobytes) dominate the
 * text, and a character-by-character loop over them was the largest cost of the duplicate check.
 */
function stringEnd(text: string, open: number): number {
  let close = text.indexOf('"', open + 1)
  for (;;) {
    // A quote is escaped when an odd run of backslashes precedes it (the opening quote stops the run).
    let before = close - 1
    while (text.charCodeAt(before) === 0x5c /* \ */) before--
    if ((close - 1 - before) % 2 === 0) return close
    close = text.indexOf('"', close + 1)
  }
}

/** Members written in valid JSON text: outside string literals a colon only ever follows a member name. */
function countWrittenMembers(text: string): number {
  let count = 0
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22 /* " */) i = stringEnd(text, i)
    else if (c === 0x3a /* : */) count++
  }
  return count
}

/**
 * Members of every object in a `JSON.parse` result (own enumerable string keys, which is all it creates,
 * `__proto__` included). Iterative: `JSON.parse` accepts nesting deeper than the call stack.
 */
function countKeptMembers(value: unknown): number {
  let count = 0
  const pending: unknown[] = [value]
  while (pending.length > 0) {
    const v = pending.pop()
    if (typeof v !== 'object' || v === null) continue
    const isArray = Array.isArray(v)
    const children: unknown[] = isArray ? v : Object.values(v)
    if (!isArray) count += children.length
    for (let i = 0; i < children.length; i++) {
      const child = children[i]
      if (typeof child === 'object' && child !== null) pending.push(child)
    }
  }
  return count
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
      i = stringEnd(text, start)
      const top = stack[stack.length - 1]
      if (top && top.isObject && top.expectKey) {
        const raw = text.slice(start + 1, i)
        const key = raw.includes('\\') ? (JSON.parse(text.slice(start, i + 1)) as string) : raw
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
