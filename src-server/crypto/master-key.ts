import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeSync,
} from 'node:fs'
import { dirname, join } from 'node:path'
import { databasePath } from '../store/db'

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

/** Written by the desktop app: the master key sealed by the OS keychain, which only the desktop app can open. */
export function sealedMasterKeyPath(dataDir: string): string {
  return join(dataDir, 'keys', 'master.key.sealed')
}

export function readMasterKeyFile(dataDir: string): Buffer {
  const file = masterKeyPath(dataDir)
  if (!existsSync(file) && existsSync(sealedMasterKeyPath(dataDir))) {
    throw new MasterKeyError(
      `the master key of ${dataDir} is held by the desktop app's OS keychain; use the desktop app, or set IMS_MASTER_KEY`,
    )
  }
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

/**
 * Creates a new master key file (0600), durably, and refuses to overwrite an existing one or to start a
 * folder whose database is already there: that database's data keys are wrapped under its own master key,
 * which a new one cannot open (a folder restored without its key file).
 */
export function createMasterKeyFile(dataDir: string): Buffer {
  const file = masterKeyPath(dataDir)
  if (existsSync(file)) throw new MasterKeyError(`${file} already exists; refusing to replace a master key`)
  if (existsSync(sealedMasterKeyPath(dataDir))) {
    throw new MasterKeyError(
      `${dataDir} already has a master key in the desktop keychain; refusing to make another`,
    )
  }
  if (existsSync(databasePath(dataDir))) {
    throw new MasterKeyError(
      `${dataDir} has a database but no master key (${file}): restore the key file from your key backup, or set IMS_MASTER_KEY; a new key could not read what the database holds`,
    )
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  const key = randomBytes(32)
  const fd = openSync(file, 'wx', 0o600)
  try {
    writeSync(fd, key.toString('base64') + '\n')
    // On disk before anything is encrypted under it: a power cut must not leave a database without its key.
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  chmodSync(file, 0o600)
  syncDirectory(dirname(file))
  return key
}

/** Makes a new directory entry durable (Linux, macOS); Windows cannot open a directory and needs nothing. */
function syncDirectory(dir: string): void {
  if (process.platform === 'win32') return
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

export function loadMasterKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  if (env.IMS_MASTER_KEY) return decodeMasterKey(env.IMS_MASTER_KEY, 'IMS_MASTER_KEY')
  return readMasterKeyFile(dataDir)
}

/**
 * The master key of a data folder: IMS_MASTER_KEY, else the key file, else — on a folder's first use, when
 * the caller allows it — a new key file.
 */
export function obtainMasterKey(
  dataDir: string,
  env: NodeJS.ProcessEnv,
  options: { create: boolean },
): { key: Buffer; created: boolean } {
  if (options.create && !env.IMS_MASTER_KEY && !existsSync(masterKeyPath(dataDir))) {
    return { key: createMasterKeyFile(dataDir), created: true }
  }
  return { key: loadMasterKey(dataDir, env), created: false }
}
