import { createHash } from 'node:crypto'

/**
 * Concat KDF (NIST SP 800-56A §5.8.1) with SHA-256, as JOSE and EMV 3DS use it:
 * OtherInfo = AlgorithmID ‖ PartyUInfo ‖ PartyVInfo ‖ SuppPubInfo ‖ SuppPrivInfo, where the first three
 * are 32-bit-length-prefixed and SuppPubInfo is the key length in bits (32-bit big-endian).
 */
export interface ConcatKdfInfo {
  algorithmId: Uint8Array
  partyUInfo: Uint8Array
  partyVInfo: Uint8Array
  /** Derived key length in bits. */
  keyDataLen: number
  suppPrivInfo?: Uint8Array
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}

const prefixed = (data: Uint8Array) => Buffer.concat([u32(data.length), data])

export function concatKdf(z: Uint8Array, info: ConcatKdfInfo): Buffer {
  if (info.keyDataLen % 8 !== 0 || info.keyDataLen <= 0)
    throw new RangeError('keyDataLen must be a positive multiple of 8')
  const otherInfo = Buffer.concat([
    prefixed(info.algorithmId),
    prefixed(info.partyUInfo),
    prefixed(info.partyVInfo),
    u32(info.keyDataLen),
    info.suppPrivInfo ?? Buffer.alloc(0),
  ])
  const out: Buffer[] = []
  const rounds = Math.ceil(info.keyDataLen / 256)
  for (let counter = 1; counter <= rounds; counter++) {
    out.push(createHash('sha256').update(u32(counter)).update(z).update(otherInfo).digest())
  }
  return Buffer.concat(out).subarray(0, info.keyDataLen / 8)
}

/**
 * The EMV 3DS app-channel CEK: AlgorithmID and PartyUInfo empty, PartyVInfo = sdkReferenceNumber,
 * 256 bits — one round: SHA-256(00000001 ‖ Z ‖ 00000000 ‖ 00000000 ‖ len32(ref) ‖ ref ‖ 00000100).
 */
export function deriveCek(z: Uint8Array, sdkReferenceNumber: string): Buffer {
  return concatKdf(z, {
    algorithmId: Buffer.alloc(0),
    partyUInfo: Buffer.alloc(0),
    partyVInfo: Buffer.from(sdkReferenceNumber, 'utf8'),
    keyDataLen: 256,
  })
}
