/**
 * Per-modem behaviour. A profile is data: the init strings and the quirks the driver must work around.
 * Sources: smstools3 options and changelog, gammu issues, python-gsmmodem's fakemodems (see
 * docs/hardware-gsm.md for the per-quirk references).
 */

export interface ModemProfile {
  name: string
  description: string
  /** Extra init commands sent after the standard ones (vendor tweaks). */
  initCommands: string[]
  /** `AT+CNMI=...`: how new SMS and status reports are announced. */
  cnmi: string
  /** `AT+CSMP=...`: first octet / validity used by the modem's own text mode; harmless in PDU mode. */
  csmp?: string
  /** First storage slot number: 0 on Huawei, 1 elsewhere (smstools `memory_start`). */
  slotBase: 0 | 1
  /**
   * Where status reports are stored when announced with `+CDSI`. Quectel EC25/EG25 announce
   * `+CDSI: "SM",n` but store the report in `"SR"` (asterisk-chan-quectel PR #75).
   */
  statusReportMemory: 'SR' | 'announced'
  /** Wavecom answers `AT+CPIN?` with `+CPIN: READY` and no `OK`. */
  cpinWithoutOk: boolean
  /** Wavecom SR memory returns reports prefixed `000000FF` (smstools "dirty patch"). */
  wavecomReportPrefix: boolean
  /** Some modems ignore the first `AT` after idling (smstools `needs_wakeup_at`). */
  wakeupAt: boolean
  /** Huawei `AT+CMGL=4` can hang for minutes (gammu#4): read storage slot by slot instead. */
  avoidCmgl: boolean
}

const generic: ModemProfile = {
  name: 'generic',
  description: '27.005/27.007 modem: slots from 1, reports routed as +CDS, SMS announced as +CMTI',
  initCommands: [],
  cnmi: '2,1,0,2,0',
  csmp: '49,167,0,0',
  slotBase: 1,
  statusReportMemory: 'announced',
  cpinWithoutOk: false,
  wavecomReportPrefix: false,
  wakeupAt: false,
  avoidCmgl: false,
}

export const PROFILES: Record<string, ModemProfile> = {
  generic,
  huawei: {
    ...generic,
    name: 'huawei',
    description:
      'Huawei E1752/E173/K3715: slots from 0, \\r\\r\\n framing, ^RSSI/^BOOT URCs, CMGL hangs, CMS 500 on CMMS',
    // ^CURC=1 keeps the periodic ^RSSI reports on; the parser already tolerates them.
    initCommands: ['AT^CURC=1'],
    slotBase: 0,
    avoidCmgl: true,
    wakeupAt: true,
  },
  quectel: {
    ...generic,
    name: 'quectel',
    description: 'Quectel EC25/EG25: +CDSI announces "SM" but the report is stored in "SR"',
    cnmi: '2,1,0,2,0',
    statusReportMemory: 'SR',
  },
  sim800: {
    ...generic,
    name: 'sim800',
    description: 'SIMCom SIM800/SIM900: CNMI <ds> only 0 or 1 (python-gsmmodem#60), "SMS Ready" URC',
    cnmi: '2,1,0,1,0',
  },
  telit: {
    ...generic,
    name: 'telit',
    description:
      'Telit: vendor-recommended CSMP=49,167,0,0 and CNMI=2,0,0,1 (gammu#272); new SMS found by polling',
    cnmi: '2,0,0,1',
  },
  wavecom: {
    ...generic,
    name: 'wavecom',
    description:
      'Wavecom/Sierra: +CPIN: READY without OK, SR-memory reports prefixed 000000FF, needs a wake-up AT',
    cnmi: '2,1,0,2,0',
    cpinWithoutOk: true,
    wavecomReportPrefix: true,
    wakeupAt: true,
  },
}

export function resolveProfile(profile: string | ModemProfile | undefined): ModemProfile {
  if (profile === undefined) return generic
  if (typeof profile !== 'string') return profile
  const found = PROFILES[profile]
  if (!found)
    throw new Error(`unknown modem profile "${profile}" (known: ${Object.keys(PROFILES).join(', ')})`)
  return found
}
