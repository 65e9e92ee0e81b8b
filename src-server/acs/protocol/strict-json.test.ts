import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { findDuplicateKey, parseJsonStrict } from './strict-json'

/** Deterministic pseudo-random generator, so a failure reproduces. */
function generator(seed: number) {
  let s = seed
  const next = () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff
    return s / 0x80000000
  }
  return <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]
}

/**
 * Random JSON with the hard cases of the member count: names equal only once unescaped, quotes and
 * backslashes inside strings, colons and braces inside strings, whitespace around colons, `__proto__`,
 * and duplicates nested in the value a later duplicate discards.
 */
function randomJson(pick: ReturnType<typeof generator>, depth = 0): string {
  const kind = pick(depth > 3 ? ['scalar'] : ['scalar', 'array', 'object', 'object'])
  if (kind === 'scalar') {
    return pick(['1', '-0.5e3', 'true', 'null', '"a"', '"\\""', '"\\\\"', '"\\\\\\""', '"x:y"', '":"'])
  }
  const size = Math.floor(pick([0, 1, 2, 3, 4]))
  if (kind === 'array') {
    return `[${Array.from({ length: size }, () => randomJson(pick, depth + 1)).join(pick([',', ' , ']))}]`
  }
  const names = ['a', 'b', '\\u0061', 'a\\"', 'a\\\\', '__proto__', 'c:d', '{', '1', '']
  const members = Array.from(
    { length: size },
    () => `"${pick(names)}"${pick([':', ' :', ': '])}${randomJson(pick, depth + 1)}`,
  )
  return `{${members.join(',')}}`
}

/** Python's json module, an independent parser, says which texts repeat a member name in some object. */
function pythonSeesDuplicate(texts: string[]): boolean[] {
  const script = [
    'import json, sys',
    'def pairs(items):',
    '    names = [k for k, _ in items]',
    '    if len(set(names)) != len(names): raise KeyError("duplicate")',
    '    return dict(items)',
    'def dup(text):',
    '    try: json.loads(text, object_pairs_hook=pairs)',
    '    except KeyError: return True',
    '    return False',
    'print(json.dumps([dup(t) for t in json.load(sys.stdin)]))',
  ].join('\n')
  const out = execFileSync('python3', ['-c', script], { input: JSON.stringify(texts), encoding: 'utf8' })
  return JSON.parse(out) as boolean[]
}

describe('parseJsonStrict', () => {
  it('finds exactly the texts Python finds a repeated member name in, and names the first one', () => {
    const pick = generator(20240315)
    const texts = Array.from({ length: 3000 }, () => randomJson(pick))
    const python = pythonSeesDuplicate(texts)
    expect(python.filter(Boolean).length).toBeGreaterThan(300)
    expect(python.filter((d) => !d).length).toBeGreaterThan(300)
    texts.forEach((text, i) => {
      const expected = python[i]
        ? { ok: false, reason: 'duplicate', path: findDuplicateKey(text) }
        : { ok: true, value: JSON.parse(text) as unknown }
      expect(parseJsonStrict(text), text).toEqual(expected)
    })
  })

  it('sees a duplicate hidden in a value that a later duplicate replaces', () => {
    expect(parseJsonStrict('{"a":{"x":1,"x":2},"a":3}')).toEqual({
      ok: false,
      reason: 'duplicate',
      path: 'a.x',
    })
  })

  it('counts names that are equal only once unescaped, and __proto__, as members', () => {
    expect(parseJsonStrict('{"a":1,"\\u0061":2}')).toEqual({ ok: false, reason: 'duplicate', path: 'a' })
    expect(parseJsonStrict('{"__proto__":1,"__proto__":2}')).toEqual({
      ok: false,
      reason: 'duplicate',
      path: '__proto__',
    })
    expect(parseJsonStrict('{"__proto__":{"a":1},"b":"\\\\\\":"}').ok).toBe(true)
  })

  it('handles nesting deeper than the call stack', () => {
    const depth = 200_000
    expect(parseJsonStrict('['.repeat(depth) + ']'.repeat(depth)).ok).toBe(true)
    const nested = '{"a":'.repeat(depth) + '{"x":1,"x":2}' + '}'.repeat(depth)
    const r = parseJsonStrict(nested)
    expect(r.ok ? '' : r.reason).toBe('duplicate')
  })

  it('reports invalid JSON as a syntax error', () => {
    expect(parseJsonStrict('{"a":1,}')).toEqual({ ok: false, reason: 'syntax' })
  })
})
