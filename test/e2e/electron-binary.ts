import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

/**
 * The Electron executable, or null when it is not installed (this machine, CI without a release job).
 * Never `require('electron')` to find it: from plain Node that starts a download and throws.
 */
export function findElectronExecutable(repo = resolve(import.meta.dirname, '../..')): string | null {
  const fromEnv = process.env.ELECTRON_EXEC_PATH
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : null
  const packageDir = join(repo, 'node_modules', 'electron')
  const pathFile = join(packageDir, 'path.txt')
  const distDir = join(packageDir, 'dist')
  if (!existsSync(pathFile) || !existsSync(distDir)) return null
  const executable = join(distDir, readFileSync(pathFile, 'utf8').trim())
  return existsSync(executable) ? executable : null
}
