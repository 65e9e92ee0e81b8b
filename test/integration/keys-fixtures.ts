import { authenticator } from 'otplib'
import { expect } from 'vitest'
import type { TestServer } from '../helpers/server'

/** The second admin whose approval making a key custodian needs (dual control); see secondAdmin. */
export const SECOND_ADMIN = { username: 'admin2', password: 'Second-admin-lantern-4410' }

/**
 * Creates the second admin on first use (while the first is alone, so alone) and returns their credentials,
 * to pass as `approver`.
 */
export async function secondAdmin(
  srv: TestServer,
  adminToken: string,
): Promise<{ username: string; password: string }> {
  const list = (await (await srv.api('/api/operators', { token: adminToken })).json()) as {
    username: string
  }[]
  if (list.some((o) => o.username === SECOND_ADMIN.username)) return SECOND_ADMIN
  const res = await srv.api('/api/operators', {
    method: 'POST',
    token: adminToken,
    json: { ...SECOND_ADMIN, displayName: 'Second admin', role: 'admin' },
  })
  expect(res.status, await res.clone().text()).toBe(201)
  return SECOND_ADMIN
}

/** Shared set-up for the keys-*.test.ts files: operators of each role, custodians with TOTP enrolled. */
export async function createOperator(
  srv: TestServer,
  adminToken: string,
  username: string,
  role: 'admin' | 'bench' | 'key-custodian' | 'supervisor',
): Promise<{ username: string; password: string }> {
  const password = `Vault-lantern-${username.length}-river-8812`
  const res = await srv.api('/api/operators', {
    method: 'POST',
    token: adminToken,
    json: {
      username,
      displayName: username,
      role,
      password,
      // Custodians, and admins once there are two, are made under dual control.
      ...((role === 'key-custodian' || role === 'admin') && { approver: await secondAdmin(srv, adminToken) }),
    },
  })
  expect(res.status, await res.clone().text()).toBe(201)
  return { username, password }
}

/**
 * A key custodian who enrolled TOTP and signed in with it. The sign-in code is the next 30 s step's code
 * (the server accepts ±1 step), because the enrolment code's step can never be used again.
 */
export async function custodianWithTotp(
  srv: TestServer,
  adminToken: string,
  username: string,
): Promise<{ token: string; secret: string }> {
  const { password } = await createOperator(srv, adminToken, username, 'key-custodian')
  const first = await srv.login(username, password)
  const begin = (await (await srv.api('/api/me/totp', { method: 'POST', token: first })).json()) as {
    secret: string
  }
  const confirm = await srv.api('/api/me/totp/confirm', {
    method: 'POST',
    token: first,
    json: { code: totpAt(begin.secret, Date.now()) },
  })
  expect(confirm.status).toBe(204)
  const next = totpAt(begin.secret, Date.now() + 30_000)
  const res = await srv.api('/api/session', { method: 'POST', json: { username, password, totp: next } })
  expect(res.status, await res.clone().text()).toBe(201)
  return { token: ((await res.json()) as { token: string }).token, secret: begin.secret }
}

/** The code for a given time, from a private copy (the shared instance's clock is left alone). */
export function totpAt(secret: string, epochMs: number): string {
  const totp = authenticator.clone()
  totp.options = { epoch: epochMs }
  return totp.generate(secret)
}

export async function expectProblem(
  res: Response,
  status: number,
): Promise<{ title: string; detail?: string }> {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/)
  const body = (await res.json()) as { status: number; title: string; detail?: string }
  expect(body.status).toBe(status)
  return body
}
