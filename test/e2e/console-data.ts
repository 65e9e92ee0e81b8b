import type { APIRequestContext } from '@playwright/test'
import { E2E_ADMIN } from './server-fixture'

/**
 * Data the console specs need but the console does not create (issuers and card ranges belong to Settings,
 * incoming SMS to the phones): made through the real API, as another operator or a phone would.
 */
export async function apiToken(
  request: APIRequestContext,
  username: string = E2E_ADMIN.username,
  password: string = E2E_ADMIN.password,
): Promise<string> {
  const response = await request.post('/api/session', { data: { username, password } })
  if (response.status() !== 201) throw new Error(`sign-in of ${username} failed: ${response.status()}`)
  return ((await response.json()) as { token: string }).token
}

export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` }
}

/**
 * The lab's demo issuer: card ranges for every Visa and Mastercard BIN with their keys, the demo rule set
 * and the demo cardholders (public scheme test numbers). Idempotent.
 */
export async function ensureDemo(request: APIRequestContext, token: string): Promise<{ issuerId: number }> {
  const response = await request.post('/api/lab/demo', { headers: bearer(token) })
  if (response.status() !== 200) throw new Error(`demo: ${response.status()} ${await response.text()}`)
  return (await response.json()) as { issuerId: number }
}

export async function labPurchase(
  request: APIRequestContext,
  token: string,
  input: Record<string, unknown>,
): Promise<{ id: string; acsTransID: string; ares: Record<string, string> }> {
  const response = await request.post('/api/lab/purchases', { headers: bearer(token), data: input })
  if (response.status() !== 201) throw new Error(`purchase: ${response.status()} ${await response.text()}`)
  return (await response.json()) as { id: string; acsTransID: string; ares: Record<string, string> }
}

/** Test card numbers with a valid Luhn digit: the n-th under a prefix. */
export function testPan(prefix: string, n: number): string {
  const partial = prefix + String(n).padStart(15 - prefix.length, '0')
  let sum = 0
  for (let i = 0; i < partial.length; i++) {
    let d = Number(partial[partial.length - 1 - i])
    if (i % 2 === 0) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return partial + String((10 - (sum % 10)) % 10)
}

export async function enrolOne(
  request: APIRequestContext,
  token: string,
  card: { pan: string; name: string; mobile: string },
): Promise<{ id: number }> {
  const response = await request.post('/api/cardholders', {
    headers: bearer(token),
    data: { ...card, expiry: '2812', language: 'en', method: 'sms-otp' },
  })
  if (response.status() !== 201) throw new Error(`enrol: ${response.status()} ${await response.text()}`)
  return (await response.json()) as { id: number }
}

/** An incoming SMS, exactly as a modem would deliver it. */
export async function smsFrom(request: APIRequestContext, token: string, from: string, text: string) {
  const response = await request.post('/api/virtual-phone/reply', {
    headers: bearer(token),
    data: { from, text },
  })
  if (response.status() !== 201) throw new Error(`virtual phone: ${response.status()}`)
}

/** Creates an operator account (once) and returns its credentials. */
export async function ensureOperator(
  request: APIRequestContext,
  token: string,
  username: string,
  role: string,
): Promise<{ username: string; password: string }> {
  // The server refuses a password that contains the username.
  const password = `E2E-Secret-${Math.random().toString(36).slice(2)}-Pass`
  const response = await request.post('/api/operators', {
    headers: bearer(token),
    data: { username, displayName: `E2E ${username}`, role, password },
  })
  if (response.status() !== 201 && response.status() !== 409) {
    throw new Error(`operator ${username}: ${response.status()} ${await response.text()}`)
  }
  return { username, password }
}

/**
 * Runs `work` with a second admin, whose credentials approve what is under dual control (making or resetting
 * key custodians). The account is an agent again afterwards: later specs expect one admin (the operators spec
 * checks that the last one cannot be demoted), and while it is the only admin account the console's admin
 * makes it an admin again alone (the one admin change made alone, see operators/service.ts).
 */
export async function withSecondAdmin<T>(
  request: APIRequestContext,
  token: string,
  work: (approver: { username: string; password: string }) => Promise<T>,
): Promise<T> {
  const approver = { username: 'e2e-admin2', password: 'E2E-Second-Lantern-River-42' }
  const setRole = async (id: number, role: 'admin' | 'agent') => {
    const response = await request.patch(`/api/operators/${id}`, { headers: bearer(token), data: { role } })
    if (response.status() !== 200) throw new Error(`second admin as ${role}: ${response.status()}`)
  }
  const created = await request.post('/api/operators', {
    headers: bearer(token),
    data: { ...approver, displayName: 'E2E second admin', role: 'admin' },
  })
  let id: number
  if (created.status() === 201) id = ((await created.json()) as { id: number }).id
  else if (created.status() === 409) {
    const list = (await (await request.get('/api/operators', { headers: bearer(token) })).json()) as {
      id: number
      username: string
    }[]
    id = list.find((o) => o.username === approver.username)!.id
    await setRole(id, 'admin')
  } else throw new Error(`second admin: ${created.status()} ${await created.text()}`)
  try {
    return await work(approver)
  } finally {
    await setRole(id, 'agent')
  }
}

/**
 * An OATH HOTP token (6 digits) put in the inventory as bench staff would (a seed file import) and assigned to a
 * cardholder.
 */
export async function assignToken(
  request: APIRequestContext,
  token: string,
  cardholderId: number,
  serial: string,
  secret: Buffer,
): Promise<void> {
  const imported = await request.post('/api/dongles/imports', {
    headers: bearer(token),
    multipart: {
      file: {
        name: `${serial}.csv`,
        mimeType: 'text/csv',
        buffer: Buffer.from(`${serial},${secret.toString('hex')},hotp,6\n`),
      },
    },
  })
  if (imported.status() !== 202)
    throw new Error(`token import: ${imported.status()} ${await imported.text()}`)
  let job = (await imported.json()) as { id: number; status: string }
  while (job.status === 'parsing' || job.status === 'importing') {
    await new Promise((resolve) => setTimeout(resolve, 50))
    job = (await (
      await request.get(`/api/dongles/imports/${job.id}`, { headers: bearer(token) })
    ).json()) as typeof job
  }
  if (job.status !== 'done') throw new Error(`token import: ${job.status}`)
  const assigned = await request.post(`/api/dongles/tokens/${encodeURIComponent(serial)}/assign`, {
    headers: bearer(token),
    data: { cardholderId },
  })
  if (assigned.status() !== 200) throw new Error(`assign: ${assigned.status()} ${await assigned.text()}`)
}
