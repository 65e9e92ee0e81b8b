import pino, { type Logger } from 'pino'
import { maskPansInText } from './crypto/mask'

export type { Logger }

/**
 * Field names whose values never reach a log line, wherever they appear. Values are replaced, not removed,
 * so a reader can still see that the field was there.
 */
const SECRET_KEYS = [
  'password',
  'newPassword',
  'currentPassword',
  'pan',
  'acctNumber',
  'otp',
  'code',
  'pin',
  'totp',
  'secret',
  'seed',
  'key',
  'masterKey',
  'token',
  'apiKey',
  'authorization',
  'cookie',
  'cvv',
]
const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  'req.headers.authorization',
  'req.headers.cookie',
]

/**
 * The server's structured logger. Besides the key-based redaction, every string argument and message is
 * scrubbed of anything that looks like a PAN (13–19 digits passing Luhn), which catches PANs inside
 * free text such as an upstream error message.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'ims' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? maskPansInText(a) : a))
          method.apply(this, scrubbed as Parameters<typeof method>)
        },
      },
      formatters: {
        log(object) {
          return scrubObject(object) as Record<string, unknown>
        },
      },
    },
    destination,
  )
}

function scrubObject(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskPansInText(value)
  if (depth > 6 || value === null || typeof value !== 'object') return value
  if (value instanceof Error) return { type: value.name, message: maskPansInText(value.message) }
  if (Array.isArray(value)) return value.map((v) => scrubObject(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = scrubObject(v, depth + 1)
  return out
}
