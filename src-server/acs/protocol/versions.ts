/**
 * Protocol versions this ACS speaks. 2.3.1 is declared so field tables can already carry it, but it is
 * only accepted when a caller lists it in `supportedVersions` (its AReq/ARes changes are not complete).
 */
export const KNOWN_VERSIONS = ['2.1.0', '2.2.0', '2.3.1'] as const
export type MessageVersion = (typeof KNOWN_VERSIONS)[number]

export const DEFAULT_SUPPORTED_VERSIONS: readonly MessageVersion[] = ['2.1.0', '2.2.0']

export function isKnownVersion(v: unknown): v is MessageVersion {
  return typeof v === 'string' && (KNOWN_VERSIONS as readonly string[]).includes(v)
}

/** True when `v` is at least `min` (versions compare as dotted integers). */
export function versionAtLeast(v: MessageVersion, min: MessageVersion): boolean {
  const a = v.split('.').map(Number)
  const b = min.split('.').map(Number)
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i]
  return true
}

export const DeviceChannel = { APP: '01', BRW: '02', THREE_RI: '03' } as const
export type DeviceChannelCode = (typeof DeviceChannel)[keyof typeof DeviceChannel]

export const MessageCategory = { PA: '01', NPA: '02' } as const
export type MessageCategoryCode = (typeof MessageCategory)[keyof typeof MessageCategory]
