import { defineConfig } from '@playwright/test'

/**
 * Two projects:
 * - web: the real server (started by test/e2e/global-setup.ts on a temporary data folder) and Debian's
 *   Chromium, against the same built renderer the desktop app ships (run `npm run build` first);
 * - electron: desktop smoke tests that skip themselves when no Electron binary is installed.
 */
export default defineConfig({
  testDir: 'test/e2e',
  globalSetup: './test/e2e/global-setup.ts',
  // One server, one admin account: specs run in order so sign-in failures cannot lock a parallel test out.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  timeout: 30_000,
  reporter: [['list'], ['html', { open: 'never' }]],
  use: { trace: 'retain-on-failure' },
  projects: [
    {
      name: 'web',
      testMatch: /.*\.web\.spec\.ts$/,
      use: {
        browserName: 'chromium',
        launchOptions: {
          executablePath: '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            '--disable-quic',
          ],
        },
      },
    },
    {
      name: 'electron',
      testMatch: /.*\.electron\.spec\.ts$/,
    },
  ],
})
