/**
 * The SMS & modems page's calls to the console API, typed from the server contract (type-only imports), and
 * the live-update connection (server-sent events opened with a single-use ticket).
 */
import type {
  EventTicket,
  GatewayName,
  ModemChangeRequest,
  ModemInfo,
  ModemList,
  NewModemRequest,
  PortList,
  ProbeAnswer,
} from '../../../../src-server/contract'
import { api } from '../../lib/session.svelte'

export type { GatewayName, ModemInfo, ModemList, PortList, ProbeAnswer }

export interface OutboxItem {
  id: number
  to: string
  text: string
  kind: string
  ref?: string
  priority: number
  status: string
  gateway?: string
  modem?: string
  messageRef?: string
  attempts: number
  possibleDuplicate: boolean
  lastError?: string
  createdAt: string
  sentAt?: string
  deliveredAt?: string
}

export interface InboxItem {
  id: number
  from: string
  text: string
  gateway: string
  modem?: string
  receivedAt: string
  outcome: string
  handledBy?: string
  ref?: string
  /** A concatenated SMS delivered without these parts (they never came). */
  missingParts?: number[]
}

const query = (params: Record<string, string | undefined>) => {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v)
  const s = q.toString()
  return s ? `?${s}` : ''
}

export const smsApi = {
  modems: () => api.request<ModemList>('GET', '/api/modems'),
  ports: () => api.request<PortList>('GET', '/api/modems/ports'),
  addModem: (body: NewModemRequest) => api.request<ModemInfo>('POST', '/api/modems', { body }),
  changeModem: (id: number, body: ModemChangeRequest) =>
    api.request<ModemInfo>('PATCH', `/api/modems/${id}`, { body }),
  removeModem: (id: number) => api.request<void>('DELETE', `/api/modems/${id}`),
  resetModem: (id: number) => api.request<void>('POST', `/api/modems/${id}/reset`),
  probe: (port: string) => api.request<ProbeAnswer>('POST', '/api/modems/probe', { body: { port } }),
  testSms: (id: number, to: string, text: string) =>
    api.request<{ messageReferences: number[] }>('POST', `/api/modems/${id}/test-sms`, {
      body: { to, text },
    }),
  selectGateway: (gateway: GatewayName) =>
    api.request<{ gateway: GatewayName }>('PUT', '/api/sms/gateway', { body: { gateway } }),
  outbox: (filter: { status?: string; to?: string }) =>
    api.request<OutboxItem[]>('GET', `/api/sms/outbox${query({ ...filter, limit: '50' })}`),
  inbox: (filter: { outcome?: string; from?: string }) =>
    api.request<InboxItem[]>('GET', `/api/sms/inbox${query({ ...filter, limit: '50' })}`),
}

export type LiveEvent = 'outbox' | 'inbox' | 'modems' | 'gateway'
export type LiveState = 'connecting' | 'live' | 'reconnecting'

/**
 * Keeps an EventSource open on /api/sms/events. EventSource cannot send the bearer token, so each
 * (re)connection first asks for a single-use ticket. Returns a function that closes it.
 */
export function connectLive(
  onEvent: (name: LiveEvent) => void,
  onState: (state: LiveState) => void,
): () => void {
  let source: EventSource | undefined
  let retry: ReturnType<typeof setTimeout> | undefined
  let closed = false
  const open = async () => {
    try {
      const { ticket } = await api.request<EventTicket>('POST', '/api/sms/events/ticket')
      if (closed) return
      source = new EventSource(`/api/sms/events?ticket=${encodeURIComponent(ticket)}`)
      source.addEventListener('ready', () => onState('live'))
      for (const name of ['outbox', 'inbox', 'modems', 'gateway'] as const)
        source.addEventListener(name, () => onEvent(name))
      source.onerror = () => {
        // A ticket is good for one connection: reconnect with a new one rather than let EventSource retry.
        source?.close()
        schedule()
      }
    } catch {
      schedule()
    }
  }
  const schedule = () => {
    if (closed) return
    onState('reconnecting')
    retry = setTimeout(() => void open(), 3000)
  }
  onState('connecting')
  void open()
  return () => {
    closed = true
    clearTimeout(retry)
    source?.close()
  }
}

export interface SmsTemplate {
  issuerId: number
  kind: string
  language: string
  text: string
  custom: boolean
  updatedAt?: string
  updatedBy?: string
}

export interface TemplateKind {
  kind: string
  summary: string
  required: string[]
  forbidden: string[]
  placeholders: string[]
}

export interface TemplatePreview {
  text: string
  problems: string[]
  encoding: 'gsm7' | 'ucs2'
  units: number
  segments: number
  unitsPerSegment: number
}

/** The SMS texts section: an issuer's templates, their preview (alphabet, SMS parts) and changes. */
export const textsApi = {
  kinds: () => api.request<TemplateKind[]>('GET', '/api/templates/kinds'),
  list: (issuerId: number) => api.request<SmsTemplate[]>('GET', `/api/templates/${issuerId}`),
  preview: (kind: string, text: string, issuerId?: number) =>
    api.request<TemplatePreview>('POST', '/api/templates/preview', { body: { kind, text, issuerId } }),
  save: (issuerId: number, kind: string, language: string, text: string) =>
    api.request<SmsTemplate>('PUT', `/api/templates/${issuerId}/${kind}/${language}`, { body: { text } }),
  reset: (issuerId: number, kind: string, language: string) =>
    api.request<void>('DELETE', `/api/templates/${issuerId}/${kind}/${language}`),
}
