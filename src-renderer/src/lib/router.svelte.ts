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

export class HashRouter {
  path = $state(pathOfHash(location.hash))

  constructor() {
    window.addEventListener('hashchange', () => (this.path = pathOfHash(location.hash)))
    if (this.path === '/') this.replace(HOME_PATH)
  }

  /** Replaces the current entry, so "back" does not return to a bare "#/". */
  replace(path: string): void {
    history.replaceState(history.state, '', `#${path}`)
    this.path = path
  }
}

export const router = new HashRouter()
