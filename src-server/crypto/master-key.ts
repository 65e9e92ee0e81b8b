import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

/**
 * The master key (32 bytes) sits at the top of the key hierarchy and only ever wraps data keys.
 * Headless: a 0600 key file in the data folder, or IMS_MASTER_KEY (base64). Desktop: the Electron shell
 * unwraps it with the OS keychain and hands it over a MessagePort (see standalone.ts).
 */
export class MasterKeyError extends Error {
  override name = 'MasterKeyError'
}

export function masterKeyPath(dataDir: string): string {
  return join(dataDir, 'keys', 'master.key')
}

export function decodeMasterKey(text: string, source: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64')
  if (key.length !== 32)
    throw new MasterKeyError(`${source} must hold 32 bytes in base64, found ${key.length}`)
  return key
}

export function readMasterKeyFile(dataDir: string): Buffer {
  const file = masterKeyPath(dataDir)
  if (!existsSync(file)) {
    throw new MasterKeyError(`no master key at ${file}: run "npx ims init" first, or set IMS_MASTER_KEY`)
  }
  if (process.platform !== 'win32') {
    const mode = statSync(file).mode & 0o777
    if (mode & 0o077) {
      throw new MasterKeyError(
        `${file} is readable by others (mode ${mode.toString(8)}); run "chmod 600 ${file}" and start again`,
      )
    }
  }
  return decodeMasterKey(readFileSync(file, 'utf8'), file)
}

/** Creates a new master key file (0600) and refuses to overwrite an existing one. */
export function createMasterKeyFile(dataDir: string): Buffer {
  const file = masterKeyPath(dataDir)
  if (existsSync(file)) throw new MasterKeyError(`${file} already exists; refusing to replace a master key`)
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  const key = randomBytes(32)
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' })
  chmodSync(file, 0o600)
  return key
}

export function loadMasterKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  if (env.IMS_MASTER_KEY) return decodeMasterKey(env.IMS_MASTER_KEY, 'IMS_MASTER_KEY')
  return readMasterKeyFile(dataDir)
}
