import { test as base, expect, type Locator, type Page } from '@playwright/test'
import { e2eBaseUrl } from './server-fixture'

/** Page model of the console: specs read as operator actions, not selectors. */
export class ConsolePage {
  constructor(readonly page: Page) {}

  async open(hashPath?: string): Promise<void> {
    await this.page.goto(hashPath ? `/#${hashPath}` : '/')
  }

  get heading(): Locator {
    return this.page.getByRole('heading', { level: 1 })
  }

  get navigation(): Locator {
    return this.page.getByRole('navigation', { name: 'Areas' })
  }

  navLink(label: string): Locator {
    return this.navigation.getByRole('link', { name: label, exact: true })
  }

  get operatorRole(): Locator {
    return this.page.getByTestId('operator-role')
  }

  async signIn(username: string, password: string): Promise<void> {
    await this.page.getByLabel('Username').fill(username)
    await this.page.getByLabel('Password').fill(password)
    await this.page.getByRole('button', { name: 'Sign in' }).click()
  }

  async signOut(): Promise<void> {
    await this.page.getByRole('button', { name: 'Sign out' }).click()
  }

  /** Moves focus with the keyboard only (Shift+Tab from where it is) until `target` has it. */
  async focusByKeyboard(target: Locator, maxPresses = 60): Promise<void> {
    for (let i = 0; i < maxPresses; i++) {
      await this.page.keyboard.press('Shift+Tab')
      if (await target.evaluate((element) => element === document.activeElement)) return
    }
    throw new Error(`Could not reach ${target} with the keyboard in ${maxPresses} presses.`)
  }

  async screenshotTo(name: string): Promise<void> {
    await base
      .info()
      .attach(name, { body: await this.page.screenshot({ fullPage: true }), contentType: 'image/png' })
  }
}

interface CspViolation {
  directive: string
  blocked: string
  sample: string
}

declare global {
  interface Window {
    __cspViolations?: CspViolation[]
  }
}

export const test = base.extend<{ consolePage: ConsolePage; pageGuards: void }>({
  // eslint-disable-next-line no-empty-pattern
  baseURL: async ({}, use) => use(e2eBaseUrl()),
  consolePage: async ({ page }, use) => use(new ConsolePage(page)),
  /** Every web test fails on an uncaught page error or a Content-Security-Policy violation. */
  pageGuards: [
    async ({ page }, use) => {
      const pageErrors: string[] = []
      page.on('pageerror', (error) => pageErrors.push(error.message))
      await page.addInitScript(() => {
        window.__cspViolations = []
        document.addEventListener('securitypolicyviolation', (event) => {
          window.__cspViolations!.push({
            directive: event.violatedDirective,
            blocked: event.blockedURI,
            sample: event.sample,
          })
        })
      })
      await use()
      const violations = page.isClosed()
        ? []
        : await page.evaluate(() => window.__cspViolations ?? []).catch(() => [] as CspViolation[])
      expect(violations, 'Content-Security-Policy violations').toEqual([])
      expect(pageErrors, 'uncaught errors in the page').toEqual([])
    },
    { auto: true },
  ],
})

export { expect }
