/**
 * The vendor-neutral PED message layer carried in link frames (see docs/ped-protocol.md):
 *   request  = SEQ(2 digits) CODE(2 chars) {FS field}
 *   response = SEQ(2 digits) CODE(2 chars) STATUS(1 char) {FS field}
 * Fields are printable ASCII; binary values travel as upper-case hex. The sequence number lets the
 * device answer a retransmitted request from its cache instead of executing it twice.
 */
export const FS = 0x1c

export const COMMANDS = {
  getInfo: 'I0',
  getNonce: 'N0',
  bind: 'B0',
  authenticate: 'A0',
  loadTr34: 'T4',
  loadTr31: 'T1',
  loadDukptInitialKey: 'D0',
  getKcv: 'K0',
  encryptPin: 'P0',
  endKeyLoading: 'E0',
  zeroize: 'Z0',
} as const
export type CommandName = keyof typeof COMMANDS
export type CommandCode = (typeof COMMANDS)[CommandName]

/** Status characters: the Uniform PP791 set, plus TR-34 and state errors. */
export const STATUS = {
  ok: '0',
  notAuthenticated: '1',
  format: '2',
  tr31Format: 'A',
  insecureKeyInjection: 'B',
  macFailure: 'C',
  keyLoadingKeyMissing: 'D',
  loadCountExceeded: 'F',
  badSignature: 'S',
  nonceMismatch: 'N',
  unknownKdh: 'K',
  certificateRejected: 'R',
  wrongState: 'W',
  unknownCommand: 'U',
  emptySlot: 'E',
  tampered: 'T',
} as const
export type StatusName = keyof typeof STATUS
export type StatusCode = (typeof STATUS)[StatusName]

export const STATUS_TEXT: Record<StatusCode, string> = {
  '0': 'ok',
  '1': 'not authenticated: key-loading mode needs two operator logins',
  '2': 'message format error',
  A: 'TR-31 key block format error',
  B: 'insecure key injection: the wrapping key is weaker than the key it protects',
  C: 'key block MAC verification failed',
  D: 'the key-loading key (KBPK) is missing',
  F: 'key-load count over the limit',
  S: 'the KDH signature does not verify',
  N: 'the key token nonce does not match',
  K: 'the key token comes from a KDH the device is not bound to',
  R: 'the KDH certificate was rejected (untrusted, expired, revoked or wrong role)',
  W: 'the command is not allowed in the device state',
  U: 'unknown command',
  E: 'the key slot is empty',
  T: 'the device is tampered and has erased its keys',
}

export function encodeRequest(seq: number, code: string, fields: readonly string[] = []): Buffer {
  return join(`${seq.toString().padStart(2, '0')}${code}`, fields)
}

export function encodeResponse(
  seq: string,
  code: string,
  status: string,
  fields: readonly string[] = [],
): Buffer {
  return join(`${seq}${code}${status}`, fields)
}

function join(head: string, fields: readonly string[]): Buffer {
  for (const f of fields) {
    if (!/^[\x20-\x7e]*$/.test(f)) throw new RangeError('a PED message field must be printable ASCII')
  }
  return Buffer.from([head, ...fields].join(String.fromCharCode(FS)), 'ascii')
}

export interface DecodedRequest {
  seq: string
  code: string
  fields: string[]
}

export interface DecodedResponse extends DecodedRequest {
  status: string
}

export function decodeRequest(payload: Buffer): DecodedRequest | undefined {
  const [head, ...fields] = payload.toString('latin1').split(String.fromCharCode(FS))
  const m = /^(\d{2})([0-9A-Z]{2})$/.exec(head)
  return m ? { seq: m[1], code: m[2], fields } : undefined
}

export function decodeResponse(payload: Buffer): DecodedResponse | undefined {
  const [head, ...fields] = payload.toString('latin1').split(String.fromCharCode(FS))
  const m = /^(\d{2})([0-9A-Z]{2})([0-9A-Z])$/.exec(head)
  return m ? { seq: m[1], code: m[2], status: m[3], fields } : undefined
}

export type DeviceState = 'FACTORY' | 'BOUND' | 'KEY_LOADING' | 'OPERATIONAL' | 'TAMPERED'
