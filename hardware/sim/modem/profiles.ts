/**
 * Quirk profiles of the modem simulator: each knob reproduces a failure mode documented for real
 * modems (reference: shared sms-otp.md §4.3). Names match the driver's profiles in hardware/gsm.
 */

export interface SimProfile {
  name: string
  description: string
  manufacturer: string
  model: string
  /** Line terminator of responses; Huawei uses `\r\r\n` in places. */
  lineEnding: '\r\n' | '\r\r\n'
  /** Echo at power-on (real modems start with ATE1). */
  echoAtBoot: boolean
  /** Keeps echoing after `ATE0` (seen on several modems). */
  ignoresEchoOff: boolean
  /** First storage index: 0 on Huawei, 1 elsewhere. */
  slotBase: 0 | 1
  smSlots: number
  srSlots: number
  /** `AT+CPIN?` answered with `+CPIN: READY` and no `OK` (Wavecom). */
  cpinWithoutOk: boolean
  /** Quectel EC25: `+CDSI: "SM",n` announced, report stored in SR. */
  cdsiAnnouncesSm: boolean
  /** Highest accepted CNMI `<ds>` (SIM800L: 1). */
  maxCnmiDs: number
  /** URC injected between the echo and the response, and between `> ` and `+CMGS:` (Huawei ^RSSI). */
  noiseUrc?: string
  /** Responses written one byte per write(). */
  byteWrites: boolean
  /** `AT+CMMS=2` fails with `+CMS ERROR: 500` (Huawei, gammu#138). */
  cmmsFails: boolean
  /** `AT+CMGL` stalls this long before answering (Huawei, gammu#4); 0 = answers at once. */
  cmglStallMs: number
  /** SR-memory reports read back prefixed `000000FF` (Wavecom) . */
  wavecomReportPrefix: boolean
  /** Characters of `0` padding after status-report PDUs (smstools changelog). */
  reportPadding: number
  /** Empty slot read: `OK` with no data (Quectel) or `+CMS ERROR: 321`. */
  emptySlotOk: boolean
  /** URC sent after boot and after `AT+CFUN=1,1`. */
  bootUrcs: string[]
}

const generic: SimProfile = {
  name: 'generic',
  description: 'well-behaved 27.005/27.007 modem',
  manufacturer: 'IMS Simulated',
  model: 'SIM-GSM 1',
  lineEnding: '\r\n',
  echoAtBoot: true,
  ignoresEchoOff: false,
  slotBase: 1,
  smSlots: 30,
  srSlots: 10,
  cpinWithoutOk: false,
  cdsiAnnouncesSm: false,
  maxCnmiDs: 2,
  byteWrites: false,
  cmmsFails: false,
  cmglStallMs: 0,
  wavecomReportPrefix: false,
  reportPadding: 0,
  emptySlotOk: false,
  bootUrcs: [],
}

export const SIM_PROFILES: Record<string, SimProfile> = {
  generic,
  huawei: {
    ...generic,
    name: 'huawei',
    description: 'Huawei E1752-like: \\r\\r\\n, slots from 0, ^RSSI everywhere, CMS 500 on CMMS, slow CMGL',
    manufacturer: 'huawei',
    model: 'E1752',
    lineEnding: '\r\r\n',
    slotBase: 0,
    noiseUrc: '^RSSI: 17',
    cmmsFails: true,
    cmglStallMs: 60_000,
    bootUrcs: ['^BOOT: 0,0,0,0,0'],
  },
  quectel: {
    ...generic,
    name: 'quectel',
    description: 'Quectel EC25-like: +CDSI announces "SM" but stores the report in "SR"; empty slot reads OK',
    manufacturer: 'Quectel',
    model: 'EC25',
    cdsiAnnouncesSm: true,
    emptySlotOk: true,
    bootUrcs: ['RDY'],
  },
  sim800: {
    ...generic,
    name: 'sim800',
    description: 'SIMCom SIM800L-like: CNMI <ds> 0/1 only, "SMS Ready" after boot',
    manufacturer: 'SIMCOM_Ltd',
    model: 'SIMCOM_SIM800L',
    maxCnmiDs: 1,
    bootUrcs: ['RDY', '+CFUN: 1', '+CPIN: READY', 'Call Ready', 'SMS Ready'],
  },
  telit: {
    ...generic,
    name: 'telit',
    description: 'Telit-like: used with CNMI=2,0,0,1 so new SMS are only found by polling',
    manufacturer: 'Telit',
    model: 'GL865-QUAD',
  },
  wavecom: {
    ...generic,
    name: 'wavecom',
    description:
      'Wavecom-like: +CPIN: READY without OK, keeps echoing after ATE0, byte-by-byte output, prefixed SR reports with padding',
    manufacturer: 'WAVECOM MODEM',
    model: 'MULTIBAND  900E  1800',
    cpinWithoutOk: true,
    ignoresEchoOff: true,
    byteWrites: true,
    wavecomReportPrefix: true,
    reportPadding: 40,
  },
}

export function resolveSimProfile(name: string | SimProfile | undefined): SimProfile {
  if (name === undefined) return generic
  if (typeof name !== 'string') return name
  const found = SIM_PROFILES[name]
  if (!found)
    throw new Error(`unknown simulator profile "${name}" (known: ${Object.keys(SIM_PROFILES).join(', ')})`)
  return found
}
