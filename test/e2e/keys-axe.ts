import { createRequire } from 'node:module'
import type { Page } from '@playwright/test'

/** axe-core for the keys and terminals specs: add `axePath` as an init script, then ask for findings. */
export const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js')

interface AxeViolation {
  id: string
  impact: string | null
  help: string
  nodes: { target: unknown[] }[]
}

/** Serious and critical findings (WCAG 2.1 AA and best practice), one line each. */
export async function seriousViolations(page: Page): Promise<string[]> {
  const { violations } = (await page.evaluate(() =>
    (window as unknown as { axe: { run(c: unknown, o: unknown): Promise<unknown> } }).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice'] },
    }),
  )) as { violations: AxeViolation[] }
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`,
    )
}
