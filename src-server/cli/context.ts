import { existsSync } from 'node:fs'
import { loadConfig } from '../config'
import { runKnownAnswerTests } from '../crypto/kat'
import { masterKeyPath, obtainMasterKey, sealedMasterKeyPath } from '../crypto/master-key'
import { createLogger } from '../log'
import { createServices, type Services } from '../services'
import { databasePath } from '../store/db'
import { VERSION } from '../version'

/**
 * Opens the data folder for a CLI command. CLI commands may run beside a live server: SQLite's own locking
 * keeps the database consistent, and the server's lock only stops a second *server*.
 */
export function openForCli(options: { createKey?: boolean } = {}): Services {
  const config = loadConfig()
  runKnownAnswerTests()
  const log = createLogger(process.env.IMS_LOG_LEVEL ?? 'warn', undefined)
  const { key } = obtainMasterKey(config.dataDir, process.env, { create: options.createKey ?? false })
  return createServices(config, log, key, VERSION, { restartWal: false })
}

export function isInitialised(): boolean {
  const config = loadConfig()
  return (
    existsSync(databasePath(config.dataDir)) &&
    (existsSync(masterKeyPath(config.dataDir)) ||
      existsSync(sealedMasterKeyPath(config.dataDir)) ||
      !!process.env.IMS_MASTER_KEY)
  )
}

export function cliActor(): string {
  return `cli:${process.env.USER ?? process.env.USERNAME ?? 'unknown'}`
}
