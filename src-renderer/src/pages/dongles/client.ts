/**
 * The Dongles page's calls to the server: JSON through the shared API client; the multipart import, the
 * label and backup downloads through fetch with the session's bearer token; live events through EventSource
 * with a single-use ticket (EventSource cannot send an Authorization header).
 */
import type {
  BenchRunView,
  DonglePage,
  DongleView,
  ImportJob,
  ProgrammerView,
} from '../../../../src-server/dongles/model'
import { ApiError, toApiError, type Problem } from '../../lib/api'
import { api, session } from '../../lib/session.svelte'

export type { BenchRunView, DongleView, ImportJob, ProgrammerView }
export type InventoryPage = { items: DongleView[]; nextAfter?: string; total: number }
export type { DonglePage }

export type DongleEvent =
  | { type: 'device'; programmerId: string; change: 'attached' | 'detached' }
  | { type: 'programmers' }
  | { type: 'bench'; run: BenchRunView }
  | { type: 'import'; job: ImportJob }

export interface InventoryFilter {
  state?: string
  kind?: string
  batch?: string
  serial?: string
  cardholderId?: string
}

export function listTokens(filter: InventoryFilter, after?: string, limit = 25): Promise<InventoryPage> {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(filter)) if (v) q.set(k, String(v).trim())
  if (after) q.set('after', after)
  q.set('limit', String(limit))
  return api.request('GET', `/api/dongles?${q}`)
}

export function getToken(serial: string): Promise<DongleView> {
  return api.request('GET', `/api/dongles/tokens/${encodeURIComponent(serial)}`)
}

export function tokenAction<T = DongleView>(serial: string, action: string, body: unknown = {}): Promise<T> {
  return api.request('POST', `/api/dongles/tokens/${encodeURIComponent(serial)}/${action}`, { body })
}

async function authorizedFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  if (session.token) headers.set('Authorization', `Bearer ${session.token}`)
  let response: Response
  try {
    response = await fetch(path, { ...init, headers })
  } catch (error) {
    throw toApiError(error)
  }
  if (!response.ok) {
    let problem: Problem = { type: 'about:blank', title: 'The request was refused.', status: response.status }
    try {
      problem = (await response.json()) as Problem
    } catch {
      // keep the generic words
    }
    throw new ApiError(response.status, problem)
  }
  return response
}

export async function startImport(form: FormData): Promise<ImportJob> {
  return (
    await authorizedFetch('/api/dongles/imports', { method: 'POST', body: form })
  ).json() as Promise<ImportJob>
}

export function importJob(id: number): Promise<ImportJob> {
  return api.request('GET', `/api/dongles/imports/${id}`)
}

export async function downloadLabel(serial: string): Promise<Uint8Array<ArrayBuffer>> {
  const res = await authorizedFetch(`/api/dongles/tokens/${encodeURIComponent(serial)}/label`)
  return new Uint8Array(await res.arrayBuffer())
}

export async function downloadBackup(
  password: string,
  approver: { username: string; password: string; totp?: string },
): Promise<Uint8Array<ArrayBuffer>> {
  const res = await authorizedFetch('/api/dongles/exports', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ password, approver }),
  })
  return new Uint8Array(await res.arrayBuffer())
}

export function programmers(): Promise<ProgrammerView[]> {
  return api.request('GET', '/api/dongles/programmers')
}

export function addProgrammer(name: string, url: string): Promise<ProgrammerView> {
  return api.request('POST', '/api/dongles/programmers', { body: { name, url } })
}

export function startRun(programmerId: string, params: Record<string, unknown>): Promise<BenchRunView> {
  return api.request('POST', '/api/dongles/bench/runs', { body: { programmerId, params } })
}

export function sendTouch(runId: number, code: string): Promise<void> {
  return api.request('POST', `/api/dongles/bench/runs/${runId}/touch`, { body: { code } })
}

/** Subscribes to the server's dongle events; reconnects with a fresh ticket when the stream ends. */
export function subscribe(onEvent: (event: DongleEvent) => void): () => void {
  let source: EventSource | null = null
  let timer: ReturnType<typeof setTimeout> | undefined
  let closed = false
  const connect = async () => {
    if (closed) return
    try {
      const { ticket } = await api.request<{ ticket: string }>('POST', '/api/dongles/events/tickets')
      if (closed) return
      source = new EventSource(`/api/dongles/events?ticket=${encodeURIComponent(ticket)}`)
      for (const type of ['device', 'programmers', 'bench', 'import']) {
        source.addEventListener(type, (e) =>
          onEvent(JSON.parse((e as MessageEvent<string>).data) as DongleEvent),
        )
      }
      source.onerror = () => {
        source?.close()
        source = null
        timer = setTimeout(connect, 3000)
      }
    } catch {
      timer = setTimeout(connect, 5000)
    }
  }
  void connect()
  return () => {
    closed = true
    clearTimeout(timer)
    source?.close()
  }
}
