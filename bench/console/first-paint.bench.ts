/**
 * Console first paint in Chromium, once the server is ready: the built console (sign-in page) loaded from
 * the real server into a fresh browser context (empty cache), timed by the page's own performance entries.
 * Baseline: a blank static page served by the same server the same way. Target: the sign-in form usable
 * within 1 s of navigation.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium, type Browser } from '@playwright/test'
import type { BenchResult } from '../run'
import { createLogger } from '../../src-server/log'
import { startServer } from '../../src-server/server'

const RUNS = 7
const BUILT_CONSOLE = resolve(import.meta.dirname, '../../out/renderer')

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

interface Timing {
  /** first-contentful-paint, ms from navigation start */
  paint: number
  /** the element waited for is in the DOM and visible, ms from navigation start */
  ready: number
}

async function load(browser: Browser, url: string, selector: string): Promise<Timing> {
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    await page.goto(url)
    await page.waitForSelector(selector, { state: 'visible' })
    const ready = await page.evaluate(() => performance.now())
    // The paint entry is queued shortly after the frame; poll until the browser has recorded it.
    const paint = await page.waitForFunction(
      () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
    )
    return { paint: (await paint.jsonValue()) as number, ready }
  } finally {
    await context.close()
  }
}

export default {
  name: 'console first paint (Chromium)',
  async run(): Promise<BenchResult[]> {
    const dataDir = mkdtempSync(join(tmpdir(), 'ims-bench-paint-'))
    const root = join(dataDir, 'console')
    // The built console plus one blank page beside it, so both are served by the same static handler.
    cpSync(BUILT_CONSOLE, root, { recursive: true })
    writeFileSync(join(root, 'blank.html'), '<!doctype html><title>blank</title><p id="blank">blank</p>')
    const srv = await startServer({
      env: { IMS_DATA_DIR: join(dataDir, 'data'), IMS_PORT: '0' },
      log: createLogger('silent'),
      consoleRoot: root,
    })
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    })
    try {
      const consoleRuns: Timing[] = []
      const blankRuns: Timing[] = []
      await load(browser, `${srv.url}/blank.html`, '#blank') // warm the browser process
      for (let i = 0; i < RUNS; i++) {
        consoleRuns.push(await load(browser, `${srv.url}/`, '#username'))
        blankRuns.push(await load(browser, `${srv.url}/blank.html`, '#blank'))
      }
      const blankPaint = median(blankRuns.map((t) => t.paint))
      return [
        {
          name: 'first contentful paint',
          value: median(consoleRuns.map((t) => t.paint)),
          baseline: blankPaint,
          unit: 'ms (median of 7, empty cache)',
          note: 'baseline: a blank static page from the same server; target < 1000 ms',
        },
        {
          name: 'sign-in form visible',
          value: median(consoleRuns.map((t) => t.ready)),
          baseline: median(blankRuns.map((t) => t.ready)),
          unit: 'ms (median of 7, empty cache)',
        },
      ]
    } finally {
      await browser.close()
      await srv.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  },
}
