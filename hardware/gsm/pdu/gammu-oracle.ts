/** Test helper: runs python3-gammu (gammu-oracle.py) as an independent PDU encoder/decoder. */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const PYTHON = '/usr/bin/python3'
const SCRIPT = fileURLToPath(new URL('./gammu-oracle.py', import.meta.url))

/** Why the oracle cannot run on this machine, or undefined when it can. */
export function gammuOracleMissing(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`
  try {
    execFileSync(PYTHON, ['-c', 'import gammu'], { stdio: 'ignore' })
    return undefined
  } catch {
    return 'python3-gammu is not installed (apt-get install python3-gammu)'
  }
}

export interface GammuMessage {
  type: string
  number: string
  smsc: string | null
  coding: string
  text: string
  udh_type: string
  udh_id8: number
  udh_id16: number
  part: number
  parts: number
  reference: number
  delivery_status: number
  DateTime?: string
  SMSCDateTime?: string
}

export function gammu<T>(request: object): T {
  const out = execFileSync(PYTHON, [SCRIPT], { input: JSON.stringify(request), encoding: 'utf8' })
  return JSON.parse(out) as T
}

export const gammuDecode = (pdus: string[]) =>
  gammu<{ messages: GammuMessage[]; linked: string[] }>({ op: 'decode', pdus })
