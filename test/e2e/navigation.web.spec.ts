import { readFileSync } from 'node:fs'
import { AREAS } from '../../src-renderer/src/lib/areas'
import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

/**
 * Areas whose page is still the planned-area placeholder, read from the sources (pages/index.ts maps each area
 * to its component): when a capability builds its page, this test follows without being edited.
 */
const pagesDir = new URL('../../src-renderer/src/pages/', import.meta.url)
const PLANNED = new Set(
  [...readFileSync(new URL('index.ts', pagesDir), 'utf8').matchAll(/^\s+(\w+): (\w+Page),$/gm)]
    .filter(([, , component]) =>
      readFileSync(new URL(`${component}.svelte`, pagesDir), 'utf8').includes('PlannedArea'),
    )
    .map(([, id]) => id),
)

test.describe('navigation', () => {
  test.beforeEach(async ({ consolePage }) => {
    await consolePage.open()
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await expect(consolePage.heading).toHaveText('Dashboard')
  })

  test('every area is reachable with the keyboard alone, with a visible focus', async ({
    consolePage,
    page,
  }) => {
    for (const area of AREAS) {
      const link = consolePage.navLink(area.label)
      await consolePage.focusByKeyboard(link)
      const outline = await link.evaluate((element) => {
        const style = getComputedStyle(element)
        return { style: style.outlineStyle, width: parseFloat(style.outlineWidth) }
      })
      expect(outline.style, `focus outline of ${area.label}`).not.toBe('none')
      expect(outline.width).toBeGreaterThanOrEqual(2)

      await page.keyboard.press('Enter')
      await expect(page).toHaveURL(new RegExp(`#${area.path}$`))
      await expect(consolePage.heading).toHaveText(area.label)
      // Focus moves to the new page's heading, so the next Shift+Tab starts from the page.
      await expect(consolePage.heading).toBeFocused()
      await expect(link).toHaveAttribute('aria-current', 'page')
      await consolePage.screenshotTo(`page ${area.label}`)
    }
  })

  test('areas not built yet say so and show no data', async ({ consolePage, page }) => {
    for (const area of AREAS.filter((a) => PLANNED.has(a.id))) {
      await consolePage.navLink(area.label).click()
      await expect(consolePage.heading).toHaveText(area.label)
      // Built pages never show the placeholder; placeholders never show data.
      if (await page.getByRole('heading', { name: 'Not built yet' }).isVisible()) {
        await expect(page.getByRole('table')).toHaveCount(0)
      }
    }
  })

  test('deep links and unknown addresses', async ({ consolePage, page }) => {
    await page.goto('/#/keys')
    await expect(consolePage.heading).toHaveText('Keys & PEDs')
    await page.goto('/#/no-such-page')
    await expect(consolePage.heading).toHaveText('Page not found')
    await page.getByRole('link', { name: 'Go to the dashboard' }).click()
    await expect(consolePage.heading).toHaveText('Dashboard')
  })

  test('the skip link jumps to the page content', async ({ consolePage, page }) => {
    await page.getByRole('button', { name: 'Skip to content' }).focus()
    await page.keyboard.press('Enter')
    await expect(consolePage.heading).toBeFocused()
  })
})

test.describe('theme', () => {
  test('follows the system preference until the operator chooses, then remembers the choice', async ({
    consolePage,
    page,
  }) => {
    await page.emulateMedia({ colorScheme: 'dark' })
    await consolePage.open()
    const html = page.locator('html')
    await expect(html).toHaveAttribute('data-theme', 'dark')
    await page.emulateMedia({ colorScheme: 'light' })
    await expect(html).toHaveAttribute('data-theme', 'light')

    const toggle = page.getByRole('button', { name: 'Dark theme' })
    await expect(toggle).toHaveAttribute('aria-pressed', 'false')
    await toggle.click()
    await expect(html).toHaveAttribute('data-theme', 'dark')
    await expect(toggle).toHaveAttribute('aria-pressed', 'true')

    await page.reload()
    await expect(html).toHaveAttribute('data-theme', 'dark')
    await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
    await expect(consolePage.heading).toHaveText('Dashboard')
    await consolePage.screenshotTo('dashboard dark')

    await consolePage.navLink('Settings').click()
    await page.getByLabel('Follow the system').check()
    await expect(html).toHaveAttribute('data-theme', 'light')
    expect(await page.evaluate(() => localStorage.getItem('ims.theme'))).toBeNull()
    await expect(page.getByText('The console is running in a web browser.')).toBeVisible()
  })
})
