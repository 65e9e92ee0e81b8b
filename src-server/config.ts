import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { z } from 'zod'

/** Settings an operator may put in `<dataDir>/config.json`; every field is optional. */
export const ConfigFile = z
  .object({
    host: z.string().min(1).optional(),
    port: z.number().int().min(0).max(65535).optional(),
    /** Extra `Host` header values the console API accepts when the server is not bound to loopback. */
    allowedHosts: z.array(z.string().min(1)).optional(),
    session: z
      .object({
        absoluteMinutes: z
          .number()
          .int()
          .min(5)
          .max(24 * 60)
          .optional(),
        idleMinutes: z
          .number()
          .int()
          .min(1)
          .max(8 * 60)
          .optional(),
      })
      .strict()
      .optional(),
    limits: z
      .object({
        jsonBodyBytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .optional(),
        uploadBytes: z
          .number()
          .int()
          .min(1024)
          .max(1024 * 1024 * 1024)
          .optional(),
        requestTimeoutMs: z.number().int().min(1000).max(600_000).optional(),
      })
      .strict()
      .optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
    /** The directory servers' listener with mutual TLS (off unless a port is given). */
    acsTls: z
      .object({
        host: z.string().min(1).optional(),
        port: z.number().int().min(0).max(65535),
      })
      .strict()
      .optional(),
  })
  .strict()
export type ConfigFile = z.infer<typeof ConfigFile>

export interface Config {
  dataDir: string
  host: string
  port: number
  allowedHosts: string[]
  sessionAbsoluteMs: number
  sessionIdleMs: number
  jsonBodyBytes: number
  uploadBytes: number
  requestTimeoutMs: number
  logLevel: NonNullable<ConfigFile['logLevel']>
  /** Where the mutual-TLS listener for directory servers binds; undefined: no such listener. */
  acsTls?: { host: string; port: number }
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Where the data folder lives when IMS_DATA_DIR is not set: the platform's per-user application data folder. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === 'win32' && env.APPDATA) return join(env.APPDATA, 'issuer-ops-suite')
  if (process.platform === 'darwin')
    return join(homedir(), 'Library', 'Application Support', 'issuer-ops-suite')
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'issuer-ops-suite')
}

export function resolveDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.IMS_DATA_DIR?.trim()
  if (!dir) return defaultDataDir(env)
  return isAbsolute(dir) ? dir : resolve(dir)
}

function parsePort(value: string, name = 'IMS_PORT'): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) {
    throw new ConfigError(`${name} must be a port number between 0 and 65535, got "${value}"`)
  }
  return Number(value)
}

/** Reads environment and `<dataDir>/config.json`; environment wins. Every problem is reported in words. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = resolveDataDir(env)
  const file = join(dataDir, 'config.json')
  let fromFile: ConfigFile = {}
  if (existsSync(file)) {
    let raw: unknown
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'))
    } catch (err) {
      throw new ConfigError(`${file} is not valid JSON: ${(err as Error).message}`)
    }
    const parsed = ConfigFile.safeParse(raw)
    if (!parsed.success) {
      const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`)
      throw new ConfigError(`${file} has invalid settings:\n${lines.join('\n')}`)
    }
    fromFile = parsed.data
  }
  const host = env.IMS_HOST?.trim() || fromFile.host || '127.0.0.1'
  const port =
    env.IMS_PORT !== undefined && env.IMS_PORT !== '' ? parsePort(env.IMS_PORT) : (fromFile.port ?? 8787)
  const acsTlsPort =
    env.IMS_ACS_TLS_PORT !== undefined && env.IMS_ACS_TLS_PORT !== ''
      ? parsePort(env.IMS_ACS_TLS_PORT, 'IMS_ACS_TLS_PORT')
      : fromFile.acsTls?.port
  return {
    dataDir,
    host,
    port,
    ...(acsTlsPort !== undefined
      ? { acsTls: { host: env.IMS_ACS_TLS_HOST?.trim() || fromFile.acsTls?.host || host, port: acsTlsPort } }
      : {}),
    allowedHosts: fromFile.allowedHosts ?? [],
    sessionAbsoluteMs: (fromFile.session?.absoluteMinutes ?? 8 * 60) * 60_000,
    sessionIdleMs: (fromFile.session?.idleMinutes ?? 30) * 60_000,
    jsonBodyBytes: fromFile.limits?.jsonBodyBytes ?? 256 * 1024,
    uploadBytes: fromFile.limits?.uploadBytes ?? 256 * 1024 * 1024,
    requestTimeoutMs: fromFile.limits?.requestTimeoutMs ?? 30_000,
    logLevel: (env.IMS_LOG_LEVEL as Config['logLevel']) || fromFile.logLevel || 'info',
  }
}
