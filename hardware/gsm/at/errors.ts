/**
 * Named errors of the AT channel. `+CMS ERROR` (27.005 §3.2.5) and `+CME ERROR` (27.007 §9.2) codes
 * are decoded into a stable name and a `retryable` verdict the pool uses to decide between moving a
 * message to another modem and giving up on it.
 */

export class AtError extends Error {
  /** Whether sending the same thing again (here or on another modem) can succeed. */
  readonly retryable: boolean
  /**
   * Set when the failure came after an SMS PDU was written (a timeout or a cut link between `> ` and
   * `+CMGS:`, or a later part of a multipart send): the network may already have the message, so a
   * resend can duplicate it.
   */
  maybeSent = false
  constructor(message: string, retryable: boolean) {
    super(message)
    this.name = 'AtError'
    this.retryable = retryable
  }
}

/** The modem answered plain `ERROR` (no extended error reporting, or an unknown command). */
export class AtCommandError extends AtError {
  constructor(readonly command: string) {
    super(`modem answered ERROR to ${command}`, true)
    this.name = 'AtCommandError'
  }
}

export class AtTimeoutError extends AtError {
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`no final result for ${command} within ${timeoutMs} ms`, true)
    this.name = 'AtTimeoutError'
  }
}

/** The transport closed (cable pulled, USB re-enumeration, pty cut) while a command was pending. */
export class ChannelClosedError extends AtError {
  constructor(reason: string) {
    super(`AT channel closed: ${reason}`, true)
    this.name = 'ChannelClosedError'
  }
}

const CMS_ERRORS: Record<number, [name: string, retryable: boolean]> = {
  // Network RP-cause / TP-FCS values below 256 (24.011 §8.2.5.4, 23.040 §9.2.3.22).
  1: ['UNASSIGNED_NUMBER', false],
  8: ['OPERATOR_BARRING', false],
  10: ['CALL_BARRED', false],
  21: ['SHORT_MESSAGE_REJECTED', false],
  27: ['DESTINATION_OUT_OF_SERVICE', true],
  28: ['UNIDENTIFIED_SUBSCRIBER', false],
  29: ['FACILITY_REJECTED', false],
  30: ['UNKNOWN_SUBSCRIBER', false],
  38: ['NETWORK_OUT_OF_ORDER', true],
  41: ['TEMPORARY_FAILURE', true],
  42: ['CONGESTION', true],
  47: ['RESOURCES_UNAVAILABLE', true],
  50: ['FACILITY_NOT_SUBSCRIBED', false],
  69: ['FACILITY_NOT_IMPLEMENTED', false],
  96: ['INVALID_MANDATORY_INFORMATION', false],
  111: ['PROTOCOL_ERROR', true],
  // 27.005 §3.2.5 ME/TA values.
  300: ['ME_FAILURE', true],
  301: ['SMS_SERVICE_RESERVED', true],
  302: ['OPERATION_NOT_ALLOWED', false],
  303: ['OPERATION_NOT_SUPPORTED', false],
  304: ['INVALID_PDU_PARAMETER', false],
  305: ['INVALID_TEXT_PARAMETER', false],
  310: ['SIM_NOT_INSERTED', true],
  311: ['SIM_PIN_REQUIRED', true],
  312: ['PH_SIM_PIN_REQUIRED', true],
  313: ['SIM_FAILURE', true],
  314: ['SIM_BUSY', true],
  315: ['SIM_WRONG', true],
  316: ['SIM_PUK_REQUIRED', true],
  317: ['SIM_PIN2_REQUIRED', true],
  318: ['SIM_PUK2_REQUIRED', true],
  320: ['MEMORY_FAILURE', true],
  321: ['INVALID_MEMORY_INDEX', false],
  322: ['MEMORY_FULL', true],
  330: ['SMSC_ADDRESS_UNKNOWN', true],
  331: ['NO_NETWORK_SERVICE', true],
  332: ['NETWORK_TIMEOUT', true],
  340: ['NO_CNMA_ACK_EXPECTED', true],
  500: ['UNKNOWN_ERROR', true],
}

const CME_ERRORS: Record<number, [name: string, retryable: boolean]> = {
  0: ['PHONE_FAILURE', true],
  1: ['NO_CONNECTION_TO_PHONE', true],
  3: ['OPERATION_NOT_ALLOWED', false],
  4: ['OPERATION_NOT_SUPPORTED', false],
  5: ['PH_SIM_PIN_REQUIRED', true],
  10: ['SIM_NOT_INSERTED', true],
  11: ['SIM_PIN_REQUIRED', true],
  12: ['SIM_PUK_REQUIRED', true],
  13: ['SIM_FAILURE', true],
  14: ['SIM_BUSY', true],
  15: ['SIM_WRONG', true],
  16: ['INCORRECT_PASSWORD', false],
  17: ['SIM_PIN2_REQUIRED', true],
  18: ['SIM_PUK2_REQUIRED', true],
  20: ['MEMORY_FULL', true],
  21: ['INVALID_INDEX', false],
  22: ['NOT_FOUND', false],
  23: ['MEMORY_FAILURE', true],
  30: ['NO_NETWORK_SERVICE', true],
  31: ['NETWORK_TIMEOUT', true],
  32: ['NETWORK_NOT_ALLOWED', true],
  100: ['UNKNOWN', true],
}

/** `+CMS ERROR: n` (message service) or `+CME ERROR: n` (equipment), with its decoded name. */
export class ModemReportedError extends AtError {
  constructor(
    readonly kind: 'CMS' | 'CME',
    readonly code: number,
    readonly errorName: string,
    readonly command: string,
    retryable: boolean,
  ) {
    super(`+${kind} ERROR: ${code} (${errorName}) on ${command}`, retryable)
    this.name = kind === 'CMS' ? 'CmsError' : 'CmeError'
  }
}

/** Turns a final-result line into an error, or undefined when the line is not an error result. */
export function errorFromFinalLine(line: string, command: string): AtError | undefined {
  if (line === 'ERROR') return new AtCommandError(command)
  const m = /^\+(CMS|CME) ERROR:\s*(.+)$/.exec(line)
  if (!m) return undefined
  const kind = m[1] as 'CMS' | 'CME'
  const table = kind === 'CMS' ? CMS_ERRORS : CME_ERRORS
  const code = Number(m[2])
  if (!Number.isInteger(code)) {
    // Verbose mode (AT+CMEE=2) reports text instead of a number.
    return new ModemReportedError(kind, -1, m[2].trim().toUpperCase().replace(/\W+/g, '_'), command, true)
  }
  const [name, retryable] = table[code] ?? [kind === 'CMS' && code < 256 ? 'NETWORK_CAUSE' : 'UNLISTED', true]
  return new ModemReportedError(kind, code, name, command, retryable)
}

export function isErrorNamed(err: unknown, ...names: string[]): boolean {
  return err instanceof ModemReportedError && names.includes(err.errorName)
}
