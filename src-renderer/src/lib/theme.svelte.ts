/**
 * Light/dark theme. An explicit choice is remembered in localStorage; without one the theme follows the
 * operating system's prefers-color-scheme, live.
 */
export type Theme = 'light' | 'dark'

const STORAGE_KEY = 'ims.theme'

function readStoredTheme(): Theme | null {
  try {
    const value = localStorage.getItem(STORAGE_KEY)
    return value === 'light' || value === 'dark' ? value : null
  } catch {
    return null
  }
}

export class ThemeState {
  /** The operator's explicit choice; null = follow the system. */
  chosen = $state<Theme | null>(readStoredTheme())
  #systemDark = $state(false)
  current: Theme = $derived(this.chosen ?? (this.#systemDark ? 'dark' : 'light'))

  constructor() {
    const query = window.matchMedia('(prefers-color-scheme: dark)')
    this.#systemDark = query.matches
    query.addEventListener('change', (event) => (this.#systemDark = event.matches))
    $effect.root(() => {
      $effect(() => {
        document.documentElement.dataset.theme = this.current
      })
    })
  }

  choose(theme: Theme | null): void {
    this.chosen = theme
    try {
      if (theme === null) localStorage.removeItem(STORAGE_KEY)
      else localStorage.setItem(STORAGE_KEY, theme)
    } catch {
      // Storage can be disabled; the choice then lasts for this page only.
    }
  }

  toggle(): void {
    this.choose(this.current === 'dark' ? 'light' : 'dark')
  }
}

export const theme = new ThemeState()
