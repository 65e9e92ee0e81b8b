import type { KeychainStatus } from '../../src-renderer/src/lib/bridge'

/**
 * Where the desktop app keeps the server's master key. The OS keychain (through safeStorage) is preferred; on
 * Linux, safeStorage's `basic_text` backend encrypts with a hard-coded key, i.e. not at all, so it is refused and
 * the server falls back to its own 0600 key file, exactly as in headless mode.
 */
export type MasterKeySource = { mode: 'keychain'; backend: string } | { mode: 'key-file'; reason: string }

export interface KeychainFacts {
  platform: NodeJS.Platform
  asyncEncryptionAvailable: boolean
  /** safeStorage.getSelectedStorageBackend(), Linux only. */
  linuxBackend?: string
  /** The data folder already has a 0600 key file (made by `ims init` or a headless server). */
  keyFileExists?: boolean
}

export function chooseMasterKeySource({
  platform,
  asyncEncryptionAvailable,
  linuxBackend,
  keyFileExists,
}: KeychainFacts): MasterKeySource {
  // The data in that folder is encrypted under that key: a keychain key of our own would not open it.
  if (keyFileExists) {
    return {
      mode: 'key-file',
      reason: 'The data folder already has its key file (made by "ims init" or a headless server).',
    }
  }
  if (!asyncEncryptionAvailable) {
    return { mode: 'key-file', reason: 'The operating system keychain is not available.' }
  }
  if (platform === 'linux') {
    if (linuxBackend === 'basic_text' || linuxBackend === 'unknown' || linuxBackend === undefined) {
      return {
        mode: 'key-file',
        reason:
          'No secret service (GNOME Keyring or KWallet) was found; a plain-text keychain would not protect the key.',
      }
    }
    return { mode: 'keychain', backend: linuxBackend }
  }
  return { mode: 'keychain', backend: platform === 'darwin' ? 'macOS Keychain' : 'Windows DPAPI' }
}

export function keychainStatusOf(source: MasterKeySource): KeychainStatus {
  return source.mode === 'keychain'
    ? { mode: 'keychain', backend: source.backend }
    : { mode: 'key-file', reason: source.reason }
}
