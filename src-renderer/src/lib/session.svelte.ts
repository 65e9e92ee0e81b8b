import { ApiClient, ApiError, type CurrentSession, type SessionResponse } from './api'

/** The bearer token lives in sessionStorage: it survives a reload but not the closing of the tab or window. */
const TOKEN_KEY = 'ims.session.token'
/** setTimeout's maximum delay; a longer session is re-checked when the timer fires. */
const MAX_TIMER_MS = 2_147_483_647

export type SessionStatus = 'restoring' | 'signed-out' | 'signed-in'

export class SessionState {
  status = $state<SessionStatus>('restoring')
  current = $state<CurrentSession | null>(null)
  /** A sentence for the sign-in page: why the operator is back there. */
  notice = $state<string | null>(null)
  /** Set when the stored session could not be checked (server unreachable). */
  restoreError = $state<ApiError | null>(null)

  #token: string | null
  #expiryTimer: ReturnType<typeof setTimeout> | undefined

  constructor(private readonly storage: Storage) {
    this.#token = storage.getItem(TOKEN_KEY)
  }

  get token(): string | null {
    return this.#token
  }

  /** On start-up: a token left in this tab is checked with the server before the frame shows. */
  async restore(api: ApiClient): Promise<void> {
    this.restoreError = null
    if (!this.#token) {
      this.status = 'signed-out'
      return
    }
    this.status = 'restoring'
    try {
      this.#accept(await api.currentSession())
    } catch (error) {
      // A 401 already went through expire(); anything else means we could not ask.
      if (!(error instanceof ApiError && error.status === 401)) {
        this.restoreError = error instanceof ApiError ? error : null
        this.status = 'signed-out'
      }
    }
  }

  signIn(response: SessionResponse): void {
    const { token, ...current } = response
    this.#token = token
    this.storage.setItem(TOKEN_KEY, token)
    this.notice = null
    this.#accept(current)
  }

  async signOut(api: ApiClient): Promise<void> {
    try {
      await api.deleteSession()
    } catch {
      // Signing out locally must work even when the server cannot be reached; the token expires by itself.
    }
    this.#clear('You have signed out.')
  }

  /** Ends the session locally after the server ended it on purpose (a password change), saying why. */
  end(notice: string): void {
    this.#clear(notice)
  }

  expire(): void {
    if (this.#token === null && this.status === 'signed-out') return
    this.#clear('Your session has expired. Sign in again.')
  }

  #accept(current: CurrentSession): void {
    this.current = current
    this.status = 'signed-in'
    this.#scheduleExpiry(current.expiresAt)
  }

  #scheduleExpiry(expiresAt: string): void {
    clearTimeout(this.#expiryTimer)
    const remaining = Date.parse(expiresAt) - Date.now()
    if (Number.isNaN(remaining)) return
    this.#expiryTimer = setTimeout(
      () => (remaining > MAX_TIMER_MS ? this.#scheduleExpiry(expiresAt) : this.expire()),
      Math.min(Math.max(remaining, 0), MAX_TIMER_MS),
    )
  }

  #clear(notice: string): void {
    clearTimeout(this.#expiryTimer)
    this.#token = null
    this.storage.removeItem(TOKEN_KEY)
    this.current = null
    this.notice = notice
    this.status = 'signed-out'
  }
}

export const session = new SessionState(sessionStorage)

export const api = new ApiClient({
  getToken: () => session.token,
  onUnauthorized: () => session.expire(),
})
