import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Test-only loader for the shared known-answer file. CI clones the repository with `shared/` beside it; a
 * worktree sits one level deeper, so walk up to the first ancestor that has shared/reference/vectors.json.
 */
export function referenceVectors<T = Record<string, unknown>>(section: string): T[] {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, 'shared', 'reference', 'vectors.json')
    if (existsSync(candidate)) {
      const cases = (JSON.parse(readFileSync(candidate, 'utf8')) as Record<string, unknown>)[section]
      if (!Array.isArray(cases) || cases.length === 0)
        throw new Error(`vectors.json has no "${section}" section`)
      return cases as T[]
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error('shared/reference/vectors.json not found beside the repository')
    dir = parent
  }
}
