/**
 * IPC channel names, known to main and the preload only: the renderer sees bridge functions, never channels.
 * Kept apart from the zod schemas so the sandboxed preload bundle stays tiny.
 */
export const IPC_CHANNELS = {
  openFile: 'desktop:open-file',
  saveFile: 'desktop:save-file',
  notify: 'desktop:notify',
  keychainStatus: 'desktop:keychain-status',
} as const
