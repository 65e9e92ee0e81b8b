import { AREAS } from '../../src-renderer/src/lib/areas'
import { axePath, seriousViolations } from './axe'
import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

/** Every page, at the two screen sizes operators use, in both themes: no serious axe finding, a screenshot each. */
const VIEWS = [
  { width: 1280, height: 800, colorScheme: 'light' },
  { width: 1920, height: 1080, colorScheme: 'dark' },
] as const

test.describe('every page', () => {
  test.beforeEach(async ({ page }) => {
    await page.addInitScript({ path: axePath })
  })

  for (const view of VIEWS) {
    test(`passes axe at ${view.width}×${view.height} (${view.colorScheme})`, async ({
      consolePage,
      page,
    }) => {
      test.setTimeout(90_000)
      await page.setViewportSize({ width: view.width, height: view.height })
      await page.emulateMedia({ colorScheme: view.colorScheme })
      await consolePage.open()
      await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
      await expect(consolePage.heading).toHaveText('Dashboard')
      for (const area of AREAS) {
        await consolePage.navLink(area.label).click()
        await expect(consolePage.heading).toHaveText(area.label)
        // Pages load their data after the heading: wait until nothing says it is still loading.
        await expect(
          page.getByRole('status').filter({ hasText: /^(Loading|Asking|Checking)\b/ }),
        ).toHaveCount(0)
        expect(await seriousViolations(page), `${area.label} at ${view.width}×${view.height}`).toEqual([])
        // Nothing overflows sideways at this size: the page fits the window.
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
        expect(overflow, `${area.label} horizontal overflow`).toBeLessThanOrEqual(0)
        await consolePage.screenshotTo(`${area.label} ${view.width}x${view.height} ${view.colorScheme}`)
      }
    })
  }
})
