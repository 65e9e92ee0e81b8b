import { readFile, stat, writeFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { BrowserWindow, dialog, ipcMain, Notification, type IpcMainInvokeEvent } from 'electron'
import { z } from 'zod'
import { MAX_BRIDGE_FILE_BYTES, type KeychainStatus, type OpenedFile } from '../src-renderer/src/lib/bridge'
import { IPC_CHANNELS } from './policy/ipc-channels.std'
import {
  isTrustedIpcSender,
  NoArguments,
  NotifyRequest,
  OpenFileRequest,
  SaveFileRequest,
} from './policy/ipc-contract.std'

/**
 * Registers one handler with the two checks every bridge call gets: the sender must be the console's top frame
 * on app://console, and the payload must match its schema. Anything else is refused before the handler runs.
 */
function handle<Schema extends z.ZodType, Result>(
  channel: string,
  schema: Schema,
  handler: (input: z.infer<Schema>, event: IpcMainInvokeEvent) => Promise<Result>,
): void {
  ipcMain.handle(channel, async (event, ...args: unknown[]) => {
    const frame = event.senderFrame
    if (!isTrustedIpcSender(frame ? { url: frame.url, isTopFrame: frame.parent === null } : null)) {
      throw new Error('Refused: this page may not use the desktop bridge.')
    }
    if (args.length > 1) throw new Error(`Refused: ${channel} takes at most one argument.`)
    const parsed = schema.safeParse(args[0])
    if (!parsed.success)
      throw new Error(`Refused: invalid ${channel} request. ${z.prettifyError(parsed.error)}`)
    return handler(parsed.data, event)
  })
}

export interface BridgeDependencies {
  keychainStatus: () => KeychainStatus
}

export function registerBridgeIpc({ keychainStatus }: BridgeDependencies): void {
  handle(IPC_CHANNELS.openFile, OpenFileRequest, async (options, event): Promise<OpenedFile | null> => {
    const owner = BrowserWindow.fromWebContents(event.sender)
    const dialogOptions = {
      title: options?.title,
      filters: options?.filters,
      properties: ['openFile' as const],
    }
    const choice = owner
      ? await dialog.showOpenDialog(owner, dialogOptions)
      : await dialog.showOpenDialog(dialogOptions)
    const path = choice.filePaths[0]
    if (choice.canceled || path === undefined) return null
    if ((await stat(path)).size > MAX_BRIDGE_FILE_BYTES) {
      throw new Error(`The file is larger than ${MAX_BRIDGE_FILE_BYTES / 1024 / 1024} MB.`)
    }
    // Only the bytes and the bare name go back: the renderer never learns local folder names.
    return { name: basename(path), bytes: new Uint8Array(await readFile(path)) }
  })

  handle(
    IPC_CHANNELS.saveFile,
    SaveFileRequest,
    async ({ title, suggestedName, filters, content }, event) => {
      const owner = BrowserWindow.fromWebContents(event.sender)
      const dialogOptions = { title, defaultPath: suggestedName, filters }
      const choice = owner
        ? await dialog.showSaveDialog(owner, dialogOptions)
        : await dialog.showSaveDialog(dialogOptions)
      if (choice.canceled || !choice.filePath) return false
      await writeFile(choice.filePath, content)
      return true
    },
  )

  handle(IPC_CHANNELS.notify, NotifyRequest, async ({ title, body }) => {
    if (!Notification.isSupported()) return false
    new Notification({ title, body }).show()
    return true
  })

  handle(IPC_CHANNELS.keychainStatus, NoArguments, async () => keychainStatus())
}
