import { randomUUID } from 'node:crypto'
import { expect, test } from '@playwright/test'
import { startTestServer, type TestServer } from '../helpers/server'

/**
 * The 3DS Method as a cardholder's browser runs it: the 3DS Server's page posts threeDSMethodData to the ACS
 * Method URL in a hidden iframe; the ACS page must post the same threeDSMethodData back to the notification
 * URL at once (the 3DS Server gives up after 10 s and sets threeDSCompInd=N).
 */
let srv: TestServer
test.beforeAll(async () => {
  srv = await startTestServer()
})
test.afterAll(async () => {
  await srv?.stop()
})

const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

test('the Method page posts threeDSMethodData back to the notification URL within 10 s', async ({ page }) => {
  const notificationURL = 'http://localhost:9/method-notification' // answered by page.route, never by a server
  const data = encode({ threeDSServerTransID: randomUUID(), threeDSMethodNotificationURL: notificationURL })
  const posted = new Promise<string>((resolve) =>
    page.route(notificationURL, async (route) => {
      resolve(route.request().postData() ?? '')
      await route.fulfill({ contentType: 'text/html', body: '<p>ok</p>' })
    }),
  )
  const started = Date.now()
  await page.setContent(
    `<iframe name="method" title="3DS Method" hidden></iframe>
     <form method="post" target="method" action="${srv.url}/acs/v2/method">
       <input type="hidden" name="threeDSMethodData" value="${data}">
     </form>`,
  )
  await page.locator('form').evaluate((form: HTMLFormElement) => form.submit())
  const body = await posted
  expect(Date.now() - started).toBeLessThan(10_000)
  expect(new URLSearchParams(body).get('threeDSMethodData')).toBe(data)
})

test('invalid threeDSMethodData gets a plain 400, not a page', async () => {
  const res = await fetch(`${srv.url}/acs/v2/method`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `threeDSMethodData=${encode({ threeDSServerTransID: 'not-a-uuid', threeDSMethodNotificationURL: 'x' })}`,
  })
  expect(res.status).toBe(400)
  expect(await res.text()).toMatch(/Invalid threeDSMethodData: threeDSServerTransID/)
})
