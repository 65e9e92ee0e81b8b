import { CRC_RESIDUAL, crc16Iso13239 } from '../crc16'

/**
 * The YubiKey personalisation protocol (public: Yubico's yubikey-personalization `ykdef.h` / `ykcore.c` and the
 * YubiKey manual), the parts needed to program an OATH-HOTP slot over the OTP HID interface.
 *
 * Everything travels as 8-byte HID feature reports. A command is a 70-byte frame (64-byte payload, slot/command
 * byte, CRC-16 of the payload, 3 filler bytes) written as ten 7-byte chunks, each followed by a sequence byte
 * with the write flag. The key answers through the same feature report: its status, or response data.
 */

export const YUBICO_VENDOR_ID = 0x1050
/** Product ids that expose the OTP (keyboard) interface, from YubiKey 1 to YubiKey 5. */
export const YUBIKEY_OTP_PRODUCT_IDS = new Set([
  0x0010, 0x0110, 0x0111, 0x0114, 0x0116, 0x0401, 0x0403, 0x0405, 0x0407, 0x0410,
])

export const FEATURE_REPORT_SIZE = 8
export const FRAME_PAYLOAD_SIZE = 64
export const FRAME_SIZE = 70
export const CHUNK_SIZE = 7

/** HID class requests (HID 1.11 §7.2) and the feature report type for wValue's high byte. */
export const HID_GET_REPORT = 0x01
export const HID_SET_REPORT = 0x09
export const REPORT_TYPE_FEATURE = 0x03

/** Status byte (the report's last byte) flags. */
export const SLOT_WRITE_FLAG = 0x80
export const RESP_PENDING_FLAG = 0x40
export const RESP_SEQUENCE_MASK = 0x1f
/** Written as the status byte of an otherwise empty report: leaves response mode. */
export const DUMMY_REPORT_WRITE = 0x8f

/** Slot commands. */
export const SLOT_CONFIG = 0x01
export const SLOT_CONFIG2 = 0x03
export const SLOT_DEVICE_SERIAL = 0x10

/** YK_CONFIG layout: fixed[16] uid[6] key[16] accCode[6] fixedSize extFlags tktFlags cfgFlags rfu[2] crc[2]. */
export const CONFIG_SIZE = 52
export const ACC_CODE_SIZE = 6
const OFFSET = {
  fixed: 0,
  uid: 16,
  key: 22,
  accCode: 38,
  fixedSize: 44,
  extFlags: 45,
  tktFlags: 46,
  cfgFlags: 47,
}
const CRC_OFFSET = 50

/** Flag bits (ykdef.h). */
export const TKTFLAG_APPEND_CR = 0x20
export const TKTFLAG_OATH_HOTP = 0x40
export const CFGFLAG_OATH_HOTP8 = 0x02
export const EXTFLAG_SERIAL_API_VISIBLE = 0x04

export interface KeyStatus {
  version: string
  /** Programming sequence: +1 after every accepted configuration, 0 when no slot is configured. */
  pgmSeq: number
  touchLevel: number
  flags: number
}

export function parseStatus(report: Uint8Array): KeyStatus {
  if (report.length !== FEATURE_REPORT_SIZE) throw new RangeError('a feature report has 8 bytes')
  return {
    version: `${report[1]}.${report[2]}.${report[3]}`,
    pgmSeq: report[4],
    touchLevel: report[5] | (report[6] << 8),
    flags: report[7],
  }
}

export interface HotpSlotConfig {
  /** 20-byte HMAC-SHA1 key (YubiKey OATH-HOTP is SHA-1 only). */
  seed: Uint8Array
  digits: 6 | 8
  /** Initial moving factor: a multiple of 16 up to 0xffff0 (the key stores counter / 16 in 16 bits). */
  counter: number
  /** Access code protecting the new configuration (6 bytes), or none. */
  accessCode?: Uint8Array
}

/** Builds the 52-byte YK_CONFIG for an OATH-HOTP slot, CRC included. */
export function buildHotpConfig(config: HotpSlotConfig): Uint8Array {
  if (config.seed.length !== 20) throw new RangeError('a YubiKey OATH-HOTP seed has exactly 20 bytes')
  if (config.counter % 16 !== 0 || config.counter < 0 || config.counter > 0xffff0) {
    throw new RangeError('a YubiKey initial counter is a multiple of 16 up to 1048560')
  }
  const cfg = new Uint8Array(CONFIG_SIZE)
  // The 20-byte key does not fit key[16]: its last four bytes go to the start of uid (ykpers does the same).
  cfg.set(config.seed.subarray(0, 16), OFFSET.key)
  cfg.set(config.seed.subarray(16, 20), OFFSET.uid)
  const imf = config.counter / 16
  cfg[OFFSET.uid + 4] = imf >> 8
  cfg[OFFSET.uid + 5] = imf & 0xff
  if (config.accessCode) cfg.set(checkedAccessCode(config.accessCode), OFFSET.accCode)
  cfg[OFFSET.fixedSize] = 0
  cfg[OFFSET.extFlags] = EXTFLAG_SERIAL_API_VISIBLE
  cfg[OFFSET.tktFlags] = TKTFLAG_OATH_HOTP | TKTFLAG_APPEND_CR
  cfg[OFFSET.cfgFlags] = config.digits === 8 ? CFGFLAG_OATH_HOTP8 : 0
  writeComplementCrc(cfg, CRC_OFFSET)
  return cfg
}

/** What a config says about an OATH-HOTP slot (the simulator's side of buildHotpConfig). */
export function readHotpConfig(cfg: Uint8Array): (HotpSlotConfig & { appendCr: boolean }) | null {
  if (cfg.length !== CONFIG_SIZE || !(cfg[OFFSET.tktFlags] & TKTFLAG_OATH_HOTP)) return null
  const seed = new Uint8Array(20)
  seed.set(cfg.subarray(OFFSET.key, OFFSET.key + 16))
  seed.set(cfg.subarray(OFFSET.uid, OFFSET.uid + 4), 16)
  return {
    seed,
    digits: cfg[OFFSET.cfgFlags] & CFGFLAG_OATH_HOTP8 ? 8 : 6,
    counter: ((cfg[OFFSET.uid + 4] << 8) | cfg[OFFSET.uid + 5]) * 16,
    accessCode: cfg.slice(OFFSET.accCode, OFFSET.accCode + ACC_CODE_SIZE),
    appendCr: (cfg[OFFSET.tktFlags] & TKTFLAG_APPEND_CR) !== 0,
  }
}

/** A config (or response) is intact when the CRC over it, stored CRC included, leaves the ISO 13239 residual. */
export function hasValidCrc(data: Uint8Array): boolean {
  return crc16Iso13239(data) === CRC_RESIDUAL
}

/** Slot payload: the config (or 52 zero bytes to delete the slot) followed by the slot's current access code. */
export function slotPayload(config: Uint8Array | null, currentAccessCode?: Uint8Array): Uint8Array {
  const payload = new Uint8Array(CONFIG_SIZE + ACC_CODE_SIZE)
  if (config) payload.set(config)
  if (currentAccessCode) payload.set(checkedAccessCode(currentAccessCode), CONFIG_SIZE)
  return payload
}

/** The 70-byte frame: payload[64] slot crc16(payload) (little-endian, not complemented) filler[3]. */
export function buildFrame(slot: number, payload: Uint8Array): Uint8Array {
  if (payload.length > FRAME_PAYLOAD_SIZE) throw new RangeError('a frame payload has at most 64 bytes')
  const frame = new Uint8Array(FRAME_SIZE)
  frame.set(payload)
  frame[64] = slot
  const crc = crc16Iso13239(frame.subarray(0, FRAME_PAYLOAD_SIZE))
  frame[65] = crc & 0xff
  frame[66] = crc >> 8
  return frame
}

export function frameCrcMatches(frame: Uint8Array): boolean {
  return crc16Iso13239(frame.subarray(0, FRAME_PAYLOAD_SIZE)) === (frame[65] | (frame[66] << 8))
}

/**
 * The feature reports that carry a frame: 7 data bytes plus `SLOT_WRITE_FLAG | sequence`. All-zero chunks other
 * than the first and the last are skipped, as ykcore does, since the key zero-fills its frame buffer.
 */
export function frameReports(frame: Uint8Array): Uint8Array[] {
  const reports: Uint8Array[] = []
  const last = FRAME_SIZE / CHUNK_SIZE - 1
  for (let seq = 0; seq <= last; seq++) {
    const chunk = frame.subarray(seq * CHUNK_SIZE, (seq + 1) * CHUNK_SIZE)
    if (seq !== 0 && seq !== last && chunk.every((b) => b === 0)) continue
    const report = new Uint8Array(FEATURE_REPORT_SIZE)
    report.set(chunk)
    report[7] = SLOT_WRITE_FLAG | seq
    reports.push(report)
  }
  return reports
}

/** Response data followed by its complemented CRC, as the key sends it (and the driver checks it). */
export function withResponseCrc(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + 2)
  out.set(data)
  writeComplementCrc(out, data.length)
  return out
}

function writeComplementCrc(buf: Uint8Array, at: number): void {
  const crc = ~crc16Iso13239(buf.subarray(0, at)) & 0xffff
  buf[at] = crc & 0xff
  buf[at + 1] = crc >> 8
}

function checkedAccessCode(code: Uint8Array): Uint8Array {
  if (code.length !== ACC_CODE_SIZE) throw new RangeError('a YubiKey access code has 6 bytes')
  return code
}
