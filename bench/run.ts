/**
 * Benchmark runner: `npm run bench [filter]`. Each `bench/**\/*.bench.ts` measures its subject and a
 * baseline in the same run (the machines are shared and noisy: only ratios are comparable across runs),
 * and this prints `name  value  baseline  ratio` per result.
 */
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export interface BenchResult {
  name?: string
  value: number
  baseline: number
  unit: string
  /** What the baseline is, targets, scaling: printed under the row. */
  note?: string
}

export interface Bench {
  name: string
  run(): Promise<BenchResult | BenchResult[]>
}

const root = fileURLToPath(new URL('.', import.meta.url))

function findBenches(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) return findBenches(path)
    return entry.endsWith('.bench.ts') ? [path] : []
  })
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US')
  return n.toPrecision(4)
}

async function main(): Promise<void> {
  const filter = process.argv[2]
  const files = findBenches(root)
    .filter((f) => !filter || relative(root, f).includes(filter))
    .sort()
  const rows: string[][] = [['name', 'value', 'baseline', 'ratio', 'unit']]
  const notes: string[] = []
  let failed = 0
  for (const file of files) {
    let name = relative(root, file)
    try {
      // Inside the try: a bench whose set-up throws is reported, and the others still run.
      const bench = (await import(pathToFileURL(file).href)).default as Bench
      name = bench.name
      process.stderr.write(`running ${bench.name}…\n`)
      const results = [await bench.run()].flat()
      for (const r of results) {
        const row = r.name ? `${bench.name}: ${r.name}` : bench.name
        rows.push([row, fmt(r.value), fmt(r.baseline), (r.value / r.baseline).toFixed(3), r.unit])
        if (r.note) notes.push(`${row}: ${r.note}`)
      }
    } catch (err) {
      failed++
      rows.push([name, 'FAILED', '', '', (err as Error).message])
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  for (const r of rows)
    console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '))
  if (notes.length) console.log('\n' + notes.map((n) => `- ${n}`).join('\n'))
  process.exitCode = failed ? 1 : 0
}

await main()
