/** Shared between the global setup and the specs: who exists on the e2e server and where it listens. */
export const E2E_ADMIN = { username: 'admin', password: 'e2e-Correct-Horse-Battery-42' } as const

/** Set by the global setup in the environment the test workers inherit. */
export const BASE_URL_ENV = 'IMS_E2E_BASE_URL'

export function e2eBaseUrl(): string {
  const url = process.env[BASE_URL_ENV]
  if (!url)
    throw new Error(`${BASE_URL_ENV} is not set: the Playwright global setup did not start the server.`)
  return url
}
