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

/** A visa range for every PAN starting with 4 (created once per server). */
export async function ensureCardRange(request: APIRequestContext, token: string): Promise<void> {
  const ranges = (await (
    await request.get('/api/card-ranges', { headers: bearer(token) })
  ).json()) as unknown[]
  if (ranges.length > 0) return
  const issuer = await request.post('/api/issuers', {
    headers: bearer(token),
    data: { name: 'E2E Bank', acsReferenceNumber: 'E2E-ACS-1' },
  })
  const { id } = (await issuer.json()) as { id: number }
  const range = await request.post('/api/card-ranges', {
    headers: bearer(token),
    data: { issuerId: id, brand: 'visa', startPrefix: '4', endPrefix: '4' },
  })
  if (range.status() !== 201) throw new Error(`card range: ${range.status()} ${await range.text()}`)
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
