import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { Bench } from '../../bench/run'

/**
 * `npm run bench` is not part of `npm test`, so a benchmark whose set-up goes stale (a rule set the
 * validator now refuses, a moved module) would only show when someone runs it. Loading each one here runs
 * its module-level set-up; the measurements themselves stay in `npm run bench`.
 */
const root = join(__dirname, '../../bench')
const benches = (dir: string): string[] =>
  readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) return benches(path)
    return entry.endsWith('.bench.ts') ? [path] : []
  })

describe('benchmarks', () => {
  it.each(benches(root).map((file) => relative(root, file)))('%s loads and names itself', async (file) => {
    const bench = (await import(pathToFileURL(join(root, file)).href)).default as Bench
    expect(typeof bench.name).toBe('string')
    expect(typeof bench.run).toBe('function')
  })
})
