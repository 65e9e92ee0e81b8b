/**
 * Typed client of the console API. Types come from the server's contract (type-only import: no zod in the
 * bundle). Every failure becomes an {@link ApiError} carrying an RFC 9457 problem, so pages can always say in
 * words what went wrong.
 */
import type {
  CurrentSession,
  Health,
  Problem,
  SessionRequest,
  SessionResponse,
} from '../../../src-server/contract'

export type { CurrentSession, Health, Problem, SessionRequest, SessionResponse }

export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title)
  }
}

const REQUEST_TIMEOUT_MS = 15_000

/** Words for answers that carry no problem document (a proxy error page, an empty body...). */
function fallbackProblem(status: number): Problem {
  const title =
    status === 401
      ? 'You are not signed in.'
      : status === 403
        ? 'You are not allowed to do this.'
        : status === 404
          ? 'Not found.'
          : status === 429
            ? 'Too many requests; wait a moment and try again.'
            : status >= 500
              ? 'The IMS server had a problem.'
              : 'The request was refused.'
  return { type: 'about:blank', title, status }
}

function isProblem(value: unknown): value is Problem {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as Record<string, unknown>
  return typeof candidate.title === 'string' && typeof candidate.status === 'number'
}

async function problemOf(response: Response): Promise<Problem> {
  const type = response.headers.get('content-type') ?? ''
  if (type.includes('json')) {
    try {
      const body: unknown = await response.json()
      if (isProblem(body)) return body
    } catch {
      // An unreadable body is reported like an absent one.
    }
  }
  return fallbackProblem(response.status)
}

/** Turns anything thrown into an ApiError, so callers have one shape to show. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error
  if (error instanceof DOMException && error.name === 'TimeoutError') {
    return new ApiError(0, {
      type: 'about:blank',
      title: 'The IMS server did not answer in time.',
      detail: 'Try again; if it keeps happening, check that the server is running.',
      status: 0,
    })
  }
  return new ApiError(0, {
    type: 'about:blank',
    title: 'Cannot reach the IMS server.',
    detail: 'Check that the server is running and this computer can reach it, then try again.',
    status: 0,
  })
}

export interface ApiClientOptions {
  /** Bearer token of the current session, if any. */
  getToken: () => string | null
  /** Called when an authenticated call answers 401: the session has expired or was revoked. */
  onUnauthorized: (error: ApiError) => void
  fetch?: typeof fetch
}

interface RequestOptions {
  /** Sent as JSON. */
  body?: unknown
  /** Sent as is, for uploads such as enrolment CSV files. */
  text?: { contentType: string; data: string }
  /** False only for signing in and the health probe. */
  authenticated?: boolean
}

/** A file answered by the server (report exports), with the name it proposes. */
export interface DownloadedFile {
  name: string
  bytes: Uint8Array<ArrayBuffer>
}

/** `attachment; filename="x.csv"` → `x.csv`; only a bare file name is kept. */
function fileNameOf(disposition: string | null, fallback: string): string {
  const match = /filename="?([^";]+)"?/i.exec(disposition ?? '')
  const name = match?.[1].split(/[\\/]/).pop()
  return name && name.length > 0 ? name : fallback
}

export class ApiClient {
  constructor(private readonly options: ApiClientOptions) {}

  /** Sends a request and returns the successful response; every failure becomes an ApiError. */
  private async send(
    method: string,
    path: string,
    { body, text, authenticated = true }: RequestOptions,
    accept: string,
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: accept }
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    if (text !== undefined) headers['Content-Type'] = text.contentType
    if (authenticated) {
      const token = this.options.getToken()
      if (token) headers.Authorization = `Bearer ${token}`
    }
    const doFetch = this.options.fetch ?? fetch
    let response: Response
    try {
      response = await doFetch(path, {
        method,
        headers,
        body: text !== undefined ? text.data : body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      })
    } catch (error) {
      throw toApiError(error)
    }
    if (!response.ok) {
      const error = new ApiError(response.status, await problemOf(response))
      if (authenticated && response.status === 401) this.options.onUnauthorized(error)
      throw error
    }
    return response
  }

  /** A file the server sends as an attachment (exports). */
  async download(path: string, fallbackName: string): Promise<DownloadedFile> {
    const response = await this.send('GET', path, {}, '*/*')
    try {
      const bytes = new Uint8Array(await response.arrayBuffer())
      return { name: fileNameOf(response.headers.get('content-disposition'), fallbackName), bytes }
    } catch (error) {
      throw toApiError(error)
    }
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options, 'application/json')
    if (response.status === 204) return undefined as T
    try {
      return (await response.json()) as T
    } catch {
      throw new ApiError(response.status, {
        type: 'about:blank',
        title: 'The IMS server sent an answer the console cannot read.',
        status: response.status,
      })
    }
  }

  health(): Promise<Health> {
    return this.request('GET', '/health', { authenticated: false })
  }

  createSession(credentials: SessionRequest): Promise<SessionResponse> {
    return this.request('POST', '/api/session', { body: credentials, authenticated: false })
  }

  currentSession(): Promise<CurrentSession> {
    return this.request('GET', '/api/session')
  }

  deleteSession(): Promise<void> {
    return this.request('DELETE', '/api/session')
  }
}

/** A problem found in the console before asking the server (a file too large, nothing to save), in words. */
export function localError(title: string, detail?: string): ApiError {
  return new ApiError(0, { type: 'about:blank', title, ...(detail ? { detail } : {}), status: 0 })
}
