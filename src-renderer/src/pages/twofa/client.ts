/** The 2FA PIN API page's calls to the console API (types from the server's schemas, type-only). */
import type {
  ApplicationConfiguration,
  ApplicationView,
  MessageView,
  UsageView,
} from '../../../../src-server/twofa/model'
import { api } from '../../lib/session.svelte'

export type { ApplicationConfiguration, ApplicationView, MessageView, UsageView }

const base = '/api/2fa/applications'
const one = (id: string) => `${base}/${encodeURIComponent(id)}`

export const listApplications = () => api.request<ApplicationView[]>('GET', base)

export const createApplication = (name: string, configuration: ApplicationConfiguration) =>
  api.request<ApplicationView & { apiKey: string }>('POST', base, { body: { name, configuration } })

export const setEnabled = (id: string, enabled: boolean) =>
  api.request<ApplicationView>('PATCH', one(id), { body: { enabled } })

export const rotateKey = (id: string) =>
  api.request<{ applicationId: string; apiKey: string; keyPrefix: string }>('POST', `${one(id)}/rotate-key`)

export const listMessages = (id: string) => api.request<MessageView[]>('GET', `${one(id)}/messages`)

export const createMessage = (
  id: string,
  body: { messageText: string; pinLength: number; pinType: MessageView['pinType'] },
) => api.request<MessageView>('POST', `${one(id)}/messages`, { body })

export const usageOf = (id: string) => api.request<UsageView>('GET', `${one(id)}/usage?days=30`)
