/**
 * CRC-16 of ISO/IEC 13239 (HDLC/X.25): reflected polynomial 0x8408, register preset to 0xffff. Returns the raw
 * register: YubiKey frames store it as is, YubiKey configs and our serial frames store its complement (the X.25
 * check value), which makes the CRC over data‖complement leave the fixed residual 0xf0b8.
 */
export function crc16Iso13239(data: Uint8Array, register = 0xffff): number {
  let crc = register
  for (const byte of data) {
    crc ^= byte
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x8408 : crc >>> 1
  }
  return crc
}

/** What crc16Iso13239 leaves over data followed by its complemented CRC (little-endian). */
export const CRC_RESIDUAL = 0xf0b8

/** The X.25 check value (complemented register), e.g. 0x906e for "123456789". */
export function crc16X25(data: Uint8Array): number {
  return ~crc16Iso13239(data) & 0xffff
}
