/**
 * The only bridge between the console and the desktop shell. It exposes plain functions; ipcRenderer and the
 * channel names stay here, so a compromised page cannot send arbitrary IPC. Main validates every call again.
 * Built as CommonJS (out/preload/preload.cjs): sandboxed preloads cannot be ES modules.
 */
import { contextBridge, ipcRenderer } from 'electron'
import type { DesktopBridge } from '../src-renderer/src/lib/bridge'
import { IPC_CHANNELS } from './policy/ipc-channels.std'

const desktop = {
  openFile: (options) => ipcRenderer.invoke(IPC_CHANNELS.openFile, options),
  saveFile: (options) => ipcRenderer.invoke(IPC_CHANNELS.saveFile, options),
  notify: (options) => ipcRenderer.invoke(IPC_CHANNELS.notify, options),
  keychainStatus: () => ipcRenderer.invoke(IPC_CHANNELS.keychainStatus),
} satisfies DesktopBridge

contextBridge.exposeInMainWorld('desktop', desktop)
