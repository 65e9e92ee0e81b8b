import { UUID, decodeBase64Url, isEndpointUrl, type UrlPolicy } from './formats'
import { isPlainObject } from './field-spec'

/** The 3DS Method form field: base64url JSON {threeDSServerTransID, threeDSMethodNotificationURL}. */
export interface ThreeDSMethodData {
  threeDSServerTransID: string
  threeDSMethodNotificationURL: string
}

export type MethodDataResult = { ok: true; data: ThreeDSMethodData } | { ok: false; problem: string }

export function parseThreeDSMethodData(field: string, policy: UrlPolicy = {}): MethodDataResult {
  const bytes = decodeBase64Url(field.trim())
  if (!bytes) return { ok: false, problem: 'threeDSMethodData is not base64url' }
  let v: unknown
  try {
    v = JSON.parse(bytes.toString('utf8'))
  } catch {
    return { ok: false, problem: 'threeDSMethodData is not JSON' }
  }
  if (!isPlainObject(v)) return { ok: false, problem: 'threeDSMethodData is not an object' }
  if (typeof v.threeDSServerTransID !== 'string' || !UUID.test(v.threeDSServerTransID))
    return { ok: false, problem: 'threeDSServerTransID' }
  const url = v.threeDSMethodNotificationURL
  if (typeof url !== 'string' || url.length > 256 || !isEndpointUrl(url, policy))
    return { ok: false, problem: 'threeDSMethodNotificationURL' }
  return {
    ok: true,
    data: { threeDSServerTransID: v.threeDSServerTransID, threeDSMethodNotificationURL: url },
  }
}
