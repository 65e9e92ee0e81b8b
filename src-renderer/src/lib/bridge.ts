/**
 * Shell capabilities the console may use: file dialogs, notifications and the keychain status. In the desktop
 * app the preload exposes an implementation as `window.desktop` (functions only, backed by IPC to main); in a
 * browser {@link webBridge} gives the closest web equivalent, so every page works in both.
 */

export interface FileFilter {
  /** Shown in the dialog, e.g. "CSV files". */
  name: string
  /** Extensions without the dot, e.g. ["csv"]; "*" for all files. */
  extensions: string[]
}

export interface OpenFileOptions {
  title?: string
  filters?: FileFilter[]
}

export interface OpenedFile {
  /** File name without its folder: the renderer never learns local paths. */
  name: string
  bytes: Uint8Array<ArrayBuffer>
}

export interface SaveFileOptions {
  title?: string
  /** File name proposed to the operator, without any folder. */
  suggestedName: string
  filters?: FileFilter[]
  content: string | Uint8Array<ArrayBuffer>
}

export interface NotifyOptions {
  title: string
  body: string
}

/** Where the server's master key comes from, for the Settings page. */
export type KeychainStatus =
  { mode: 'keychain'; backend: string } | { mode: 'key-file'; reason: string } | { mode: 'not-applicable' }

export interface DesktopBridge {
  /** Lets the operator pick one file; null when cancelled. */
  openFile(options?: OpenFileOptions): Promise<OpenedFile | null>
  /** Lets the operator choose where to save; false when cancelled. */
  saveFile(options: SaveFileOptions): Promise<boolean>
  /** Shows a system notification; false when notifications are unavailable or refused. */
  notify(options: NotifyOptions): Promise<boolean>
  keychainStatus(): Promise<KeychainStatus>
}

/** Upper bound for files read or written through the bridge (enrolment CSVs, key files, exports). */
export const MAX_BRIDGE_FILE_BYTES = 20 * 1024 * 1024

declare global {
  interface Window {
    desktop?: DesktopBridge
  }
}

function acceptAttribute(filters: FileFilter[] | undefined): string {
  const extensions = (filters ?? []).flatMap((filter) => filter.extensions).filter((ext) => ext !== '*')
  return extensions.map((ext) => `.${ext}`).join(',')
}

/** Browser implementation: a file input, a download link and the Notification API. */
export const webBridge: DesktopBridge = {
  openFile(options) {
    return new Promise((resolve, reject) => {
      const input = document.createElement('input')
      input.type = 'file'
      input.accept = acceptAttribute(options?.filters)
      input.addEventListener('cancel', () => resolve(null))
      input.addEventListener('change', () => {
        const file = input.files?.[0]
        if (!file) return resolve(null)
        if (file.size > MAX_BRIDGE_FILE_BYTES) {
          return reject(new Error(`The file is larger than ${MAX_BRIDGE_FILE_BYTES / 1024 / 1024} MB.`))
        }
        file
          .arrayBuffer()
          .then((buffer) => resolve({ name: file.name, bytes: new Uint8Array(buffer) }), reject)
      })
      input.click()
    })
  },

  async saveFile({ suggestedName, content }) {
    const url = URL.createObjectURL(new Blob([content]))
    try {
      const link = document.createElement('a')
      link.href = url
      link.download = suggestedName
      link.click()
    } finally {
      // The download has been handed to the browser; the object URL is no longer needed after this task.
      setTimeout(() => URL.revokeObjectURL(url), 0)
    }
    // A browser does not say whether the operator kept the download.
    return true
  },

  async notify({ title, body }) {
    if (typeof Notification === 'undefined') return false
    const permission =
      Notification.permission === 'default' ? await Notification.requestPermission() : Notification.permission
    if (permission !== 'granted') return false
    new Notification(title, { body })
    return true
  },

  async keychainStatus() {
    return { mode: 'not-applicable' }
  },
}

/** The bridge of this window: the desktop one when the preload provided it, else the web fallback. */
export function getBridge(): DesktopBridge {
  return window.desktop ?? webBridge
}

export function isDesktop(): boolean {
  return window.desktop !== undefined
}
