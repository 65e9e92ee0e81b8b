import { z } from 'zod'
import type { NotifyOptions, OpenFileOptions, SaveFileOptions } from '../../src-renderer/src/lib/bridge'
import { MAX_BRIDGE_FILE_BYTES } from '../../src-renderer/src/lib/bridge'
import { isInternalUrl } from './app-url.std'

const FileFilter = z.strictObject({
  name: z.string().min(1).max(100),
  extensions: z
    .array(
      z.string().regex(/^(\*|[A-Za-z0-9]{1,10})$/, 'an extension is letters and digits, without the dot'),
    )
    .min(1)
    .max(20),
})

export const OpenFileRequest = z
  .strictObject({
    title: z.string().max(200).optional(),
    filters: z.array(FileFilter).max(20).optional(),
  })
  .optional()

/** A bare file name: the renderer proposes a name, never a folder. */
const BareFileName = z
  .string()
  .min(1)
  .max(255)
  .refine((name) => !/[/\\\0]/.test(name) && name !== '.' && name !== '..', 'a file name without folders')

export const SaveFileRequest = z.strictObject({
  title: z.string().max(200).optional(),
  suggestedName: BareFileName,
  filters: z.array(FileFilter).max(20).optional(),
  content: z.union([
    z.string().max(MAX_BRIDGE_FILE_BYTES),
    z.instanceof(Uint8Array).refine((bytes) => bytes.byteLength <= MAX_BRIDGE_FILE_BYTES, 'file too large'),
  ]),
})

export const NotifyRequest = z.strictObject({
  title: z.string().min(1).max(200),
  body: z.string().max(1000),
})

/** Channels that take no argument accept exactly that. */
export const NoArguments = z.undefined()

// Compile-time proof that the schemas accept exactly what the renderer's bridge interface sends.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const schemasMatchBridge: [
  Same<z.infer<typeof OpenFileRequest>, OpenFileOptions | undefined>,
  Same<z.infer<typeof SaveFileRequest>, SaveFileOptions>,
  Same<z.infer<typeof NotifyRequest>, NotifyOptions>,
] = [true, true, true]
void schemasMatchBridge

/** The frame that sent an IPC message, reduced to what the check needs (null when it has gone away). */
export interface IpcSenderFrame {
  url: string
  isTopFrame: boolean
}

/** Only the console's own top-level document may call the bridge: no iframe, no navigated-away page. */
export function isTrustedIpcSender(frame: IpcSenderFrame | null | undefined): boolean {
  return frame != null && frame.isTopFrame && isInternalUrl(frame.url)
}
