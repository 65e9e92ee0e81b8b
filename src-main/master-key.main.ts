import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { safeStorage } from 'electron'
import { chooseMasterKeySource, type MasterKeySource } from './policy/master-key-source.std'
import { MASTER_KEY_BYTES, masterKeyMessage, type MainToServerMessage } from './policy/server-handshake.std'

/**
 * The master key sealed by the OS keychain (safeStorage), kept in the data folder beside the data it opens;
 * the plaintext never touches the disk. The CLI recognises this file and explains that the key is in the
 * keychain (see src-server/crypto/master-key.ts).
 */
const SEALED_KEY_FILE = join('keys', 'master.key.sealed')
const KEY_FILE = join('keys', 'master.key')

export interface MasterKeySetup {
  source: MasterKeySource
  /** First message for every server start (restarts included). */
  message: MainToServerMessage
}

async function writeSealed(path: string, plaintext: string): Promise<void> {
  const sealed = await safeStorage.encryptStringAsync(plaintext)
  const temporary = `${path}.tmp`
  await writeFile(temporary, sealed, { mode: 0o600 })
  await rename(temporary, path)
}

async function unsealOrCreate(dataDir: string): Promise<Buffer> {
  const path = join(dataDir, SEALED_KEY_FILE)
  let sealed: Buffer | null
  try {
    sealed = await readFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    sealed = null
  }

  if (sealed === null) {
    // First start: a fresh random key. Never done when a sealed key exists but cannot be opened, because a new
    // key would make every stored PAN and data key unreadable.
    const key = randomBytes(MASTER_KEY_BYTES)
    await mkdir(join(dataDir, 'keys'), { recursive: true, mode: 0o700 })
    await writeSealed(path, key.toString('base64'))
    return key
  }

  let unsealed: { result: string; shouldReEncrypt: boolean }
  try {
    unsealed = await safeStorage.decryptStringAsync(sealed)
  } catch {
    throw new Error(`The master key in ${path} could not be unlocked with the operating system keychain.`)
  }
  const key = Buffer.from(unsealed.result, 'base64')
  if (key.byteLength !== MASTER_KEY_BYTES) throw new Error(`The sealed master key in ${path} is damaged.`)
  if (unsealed.shouldReEncrypt) await writeSealed(path, unsealed.result)
  return key
}

/** Decides where the master key lives and prepares the message that hands it to the server. */
export async function setUpMasterKey(dataDir: string): Promise<MasterKeySetup> {
  const source = chooseMasterKeySource({
    keyFileExists: existsSync(join(dataDir, KEY_FILE)),
    platform: process.platform,
    asyncEncryptionAvailable: await safeStorage.isAsyncEncryptionAvailable(),
    linuxBackend: process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : undefined,
  })
  if (source.mode === 'key-file') {
    console.warn(`Master key: using the server's key file (0600) instead of the keychain. ${source.reason}`)
    return { source, message: { type: 'master-key-file' } }
  }
  const key = await unsealOrCreate(dataDir)
  const message = masterKeyMessage(key)
  key.fill(0)
  return { source, message }
}
