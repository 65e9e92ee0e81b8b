import { HOME_PATH } from './areas'

/**
 * Hash-based routing (`#/cardholders`): deep links work the same under app://console/ in the desktop window and
 * under the server's / in a browser, and no server-side fallback route is needed.
 */
function pathOfHash(hash: string): string {
  if (!hash.startsWith('#/')) return '/'
  const path = hash.slice(1).split('?')[0]
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
}

/** `#/transactions?id=42` → `id=42`: a page's own state, such as the record it shows. */
function queryOfHash(hash: string): string {
  const at = hash.indexOf('?')
  return at < 0 ? '' : hash.slice(at + 1)
}

export class HashRouter {
  path = $state(pathOfHash(location.hash))
  query = $state(queryOfHash(location.hash))

  constructor() {
    window.addEventListener('hashchange', () => {
      this.path = pathOfHash(location.hash)
      this.query = queryOfHash(location.hash)
    })
    if (this.path === '/') this.replace(HOME_PATH)
  }

  /** A parameter of the current page's query, e.g. `param('id')`. */
  param(name: string): string | null {
    for (const pair of this.query.split('&')) {
      const [key, value = ''] = pair.split('=')
      if (decodeURIComponent(key) === name) return decodeURIComponent(value)
    }
    return null
  }

  /** Changes the current page's query without a new history entry (the page stays, its record changes). */
  setQuery(params: Record<string, string>): void {
    const query = Object.entries(params)
      .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
      .join('&')
    history.replaceState(history.state, '', `#${this.path}${query ? `?${query}` : ''}`)
    this.query = query
  }

  /** Replaces the current entry, so "back" does not return to a bare "#/". */
  replace(path: string): void {
    history.replaceState(history.state, '', `#${path}`)
    this.path = path
  }
}

export const router = new HashRouter()
