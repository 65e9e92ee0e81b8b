import { readFileSync } from 'node:fs'
import { expect } from 'vitest'
import { testPan } from '../helpers/cards'
import type { TestServer } from '../helpers/server'

export const fixture = (name: string) =>
  readFileSync(new URL(`../../src-server/dongles/fixtures/${name}`, import.meta.url))

export async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T
}

/** Uploads a seed file as the console does (multipart/form-data) and waits for the import to finish. */
export async function importFile(
  srv: TestServer,
  token: string,
  name: string,
  content: Uint8Array | string,
  fields: Record<string, string> = {},
): Promise<{ status: number; job: ImportJobBody }> {
  const form = new FormData()
  form.set('file', new Blob([typeof content === 'string' ? content : new Uint8Array(content)]), name)
  for (const [k, v] of Object.entries(fields)) form.set(k, v)
  const res = await srv.api('/api/dongles/imports', { method: 'POST', token, body: form })
  if (res.status !== 202) return { status: res.status, job: (await res.json()) as ImportJobBody }
  let job = await json<ImportJobBody>(res)
  while (job.status === 'parsing' || job.status === 'importing') {
    await new Promise((r) => setTimeout(r, 20))
    job = await json<ImportJobBody>(await srv.api(`/api/dongles/imports/${job.id}`, { token }))
  }
  return { status: 202, job }
}

export interface ImportJobBody {
  id: number
  status: string
  inserted: number
  total: number
  entries: number
  percent: number
  errors: { line?: number; element?: string; message: string }[]
  warnings: { line?: number; element?: string; message: string }[]
}

export async function inventoryCount(srv: TestServer, token: string): Promise<number> {
  return (await json<{ total: number }>(await srv.api('/api/dongles?limit=1', { token }))).total
}

/** An issuer with a Visa range and `n` cardholders using the dongle method; returns their ids. */
export async function cardholders(srv: TestServer, token: string, n: number): Promise<number[]> {
  const issuer = await json<{ id: number }>(
    await srv.api('/api/issuers', {
      method: 'POST',
      token,
      json: { name: 'Dongle Bank', acsReferenceNumber: 'ACSREF-D' },
    }),
  )
  const range = await srv.api('/api/card-ranges', {
    method: 'POST',
    token,
    json: { issuerId: issuer.id, brand: 'visa', startPrefix: '4', endPrefix: '4' },
  })
  expect(range.status).toBe(201)
  const ids: number[] = []
  for (let i = 1; i <= n; i++) {
    const res = await srv.api('/api/cardholders', {
      method: 'POST',
      token,
      json: {
        pan: testPan('424242', i),
        expiry: '2912',
        name: `Holder ${i}`,
        mobile: `+4477009000${String(i).padStart(2, '0')}`,
        language: 'en',
        method: 'dongle',
      },
    })
    expect(res.status).toBe(201)
    ids.push((await json<{ id: number }>(res)).id)
  }
  return ids
}
