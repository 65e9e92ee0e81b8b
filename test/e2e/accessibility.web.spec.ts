import { axePath, seriousViolations } from './axe'
import { E2E_ADMIN } from './server-fixture'
import { expect, test } from './console'

test.describe('accessibility (axe-core)', () => {
  // An init script is injected by the browser outside the page's CSP, unlike a <script> tag.
  test.beforeEach(async ({ page }) => {
    await page.addInitScript({ path: axePath })
  })

  for (const colorScheme of ['light', 'dark'] as const) {
    test(`sign-in page and frame in the ${colorScheme} theme`, async ({ consolePage, page }) => {
      await page.emulateMedia({ colorScheme })
      await consolePage.open()
      await expect(page.getByLabel('Username')).toBeVisible()
      expect(await seriousViolations(page), 'sign-in page').toEqual([])

      await consolePage.signIn(E2E_ADMIN.username, 'wrong-password-for-axe')
      await expect(page.getByRole('alert')).toBeVisible()
      expect(await seriousViolations(page), 'sign-in page with an error').toEqual([])

      await consolePage.signIn(E2E_ADMIN.username, E2E_ADMIN.password)
      await expect(page.getByText(/The IMS server is running/)).toBeVisible()
      expect(await seriousViolations(page), 'dashboard').toEqual([])

      await consolePage.navLink('Cardholders').click()
      await expect(consolePage.heading).toHaveText('Cardholders')
      expect(await seriousViolations(page), 'a planned area').toEqual([])

      await consolePage.navLink('Settings').click()
      await expect(page.getByText(/master key|running in a web browser/).first()).toBeVisible()
      expect(await seriousViolations(page), 'settings').toEqual([])
    })
  }
})
