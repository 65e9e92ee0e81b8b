import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Loads the shared known-answer vectors. CI puts shared/ beside the repository, a developer's worktree may
 * sit deeper, so walk up from here to the first ancestor holding shared/reference/vectors.json.
 */
export interface VectorCase {
  description: string
  inputs: Record<string, unknown>
  expected: Record<string, unknown>
  source: string
}

function findVectorsFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, 'shared', 'reference', 'vectors.json')
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) throw new Error('shared/reference/vectors.json not found beside the repository')
    dir = parent
  }
}

let cache: Record<string, VectorCase[]> | undefined

export function vectors(section: string): VectorCase[] {
  cache ??= JSON.parse(readFileSync(findVectorsFile(), 'utf8')) as Record<string, VectorCase[]>
  const cases = cache[section]
  if (!Array.isArray(cases) || cases.length === 0) throw new Error(`vectors.json has no "${section}" section`)
  return cases
}

export const hex = (s: unknown): Buffer => Buffer.from(String(s), 'hex')
