/**
 * The console API, one group per capability, over the shared client. Types come from the server (type-only
 * imports: no zod in the bundle); shapes the server declares inline in its routes are mirrored below and
 * exercised by the browser tests against the real server.
 */
import type { z } from 'zod'
import type { Statistics, TransactionView } from '../../../src-server/acs/ledger/queries'
import type { Operator, Role } from '../../../src-server/contract'
import type { CardholderAuthentication } from '../../../src-server/console-api/authentications'
import type {
  Dashboard,
  DashboardAlarm,
  DashboardDay,
  MethodShare,
} from '../../../src-server/console-api/dashboard/schema'
import type { CardholderToken } from '../../../src-server/dongles/model'
import type { AuthMethod, CardholderView, Status } from '../../../src-server/enrolment/model'
import type { ReportInfo, ReportKind, ReportPage } from '../../../src-server/reports/schemas'
import type { DownloadedFile } from './api'
import { api } from './session.svelte'

export type {
  AuthMethod,
  CardholderAuthentication,
  CardholderToken,
  CardholderView,
  Dashboard,
  DashboardAlarm,
  DashboardDay,
  MethodShare,
  Operator,
  ReportInfo,
  ReportKind,
  ReportPage,
  Role,
  Status,
  TransactionView,
}
export type CardView = CardholderView['cards'][number]

export interface LineError {
  line: number
  field?: string
  message: string
}

export interface EnrolmentJob {
  id: number
  source: string
  status: 'importing' | 'done' | 'failed' | 'rejected'
  skipInvalid: boolean
  totalLines: number
  processedLines: number
  inserted: number
  updated: number
  skipped: number
  errors: LineError[]
  createdBy: string
  createdAt: string
  finishedAt?: string
  resumed?: boolean
}

export interface EnrolmentPreview {
  lines: number
  valid: number
  /** Lines with at least one error. */
  invalid: number
  /** All the errors; `errors` holds the first 1,000. */
  errorCount: number
  errors: LineError[]
  preview: Record<string, string>[]
}

export interface OperatorSession {
  id: string
  createdAt: string
  lastSeenAt: string
  expiresAt: string
  ip?: string
  userAgent?: string
  current: boolean
}

export interface TotpEnrolment {
  secret: string
  otpauthUrl: string
  qrDataUrl: string
}

export interface AuditEntry {
  id: number
  at: string
  actor: string
  action: string
  target: string | null
  details: Record<string, unknown>
}

export interface AuditVerification {
  ok: boolean
  rows: number
  /** The entry the chain-head anchor names. */
  anchoredAt?: number
  /** What is wrong: a broken chain (at `brokenAt`), or its end against the anchor. */
  problem?: 'chain' | 'truncated' | 'replaced' | 'anchor-invalid' | 'anchor-missing'
  brokenAt?: number
  reason?: string
}

/** `?a=1&b=x` from the defined, non-empty values. */
export function queryString(params: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value))
  }
  const text = search.toString()
  return text ? `?${text}` : ''
}

export interface CardholderSearch {
  pan?: string
  last4?: string
  mobile?: string
  name?: string
  after?: number
  limit?: number
}

export const cardholdersApi = {
  search: (q: CardholderSearch) =>
    api.request<{ items: CardholderView[]; nextAfter?: number }>(
      'GET',
      `/api/cardholders${queryString({ ...q })}`,
    ),
  get: (id: number) => api.request<CardholderView>('GET', `/api/cardholders/${id}`),
  update: (
    id: number,
    patch: { mobile?: string; method?: AuthMethod; status?: Status; language?: string; reason: string },
  ) => api.request<CardholderView>('PATCH', `/api/cardholders/${id}`, { body: patch }),
  setCardStatus: (cardId: number, status: Status, reason: string) =>
    api.request<void>('PUT', `/api/cards/${cardId}/status`, { body: { status, reason } }),
  authentications: (id: number) =>
    api.request<CardholderAuthentication[]>('GET', `/api/console/cardholders/${id}/authentications?limit=50`),
  /** The cardholder's OTP tokens (under cardholders.read); actions on them: tokenAction of pages/dongles/client. */
  dongles: (id: number) => api.request<CardholderToken[]>('GET', `/api/cardholders/${id}/dongles`),
}

export const enrolmentApi = {
  preview: (csv: string) =>
    api.request<EnrolmentPreview>('POST', '/api/enrolments?dryRun=true', {
      text: { contentType: 'text/csv', data: csv },
    }),
  start: (csv: string, source: string, skipInvalid: boolean) =>
    api.request<EnrolmentJob>('POST', `/api/enrolments${queryString({ source, skipInvalid })}`, {
      text: { contentType: 'text/csv', data: csv },
    }),
  job: (id: number) => api.request<EnrolmentJob>('GET', `/api/enrolments/${id}`),
  history: () => api.request<EnrolmentJob[]>('GET', '/api/enrolments'),
}

/**
 * The second admin of a change to a key custodian's account (dual control): their own sign-in credentials.
 * The server decides which changes need one and checks any that is sent.
 */
export interface Approver {
  username: string
  password: string
  totp?: string
}

export const operatorsApi = {
  list: () => api.request<Operator[]>('GET', '/api/operators'),
  create: (
    account: { username: string; displayName: string; role: Role; password: string },
    approver?: Approver,
  ) => api.request<Operator>('POST', '/api/operators', { body: { ...account, approver } }),
  update: (
    id: number,
    patch: { displayName?: string; role?: Role; status?: 'active' | 'disabled' },
    approver?: Approver,
  ) => api.request<Operator>('PATCH', `/api/operators/${id}`, { body: { ...patch, approver } }),
  resetPassword: (id: number, newPassword: string, approver?: Approver) =>
    api.request<void>('POST', `/api/operators/${id}/password`, { body: { newPassword, approver } }),
  removeTotp: (id: number, approver?: Approver) =>
    api.request<void>('DELETE', `/api/operators/${id}/totp`, { body: { approver } }),
}

export const meApi = {
  sessions: () => api.request<OperatorSession[]>('GET', '/api/me/sessions'),
  revokeSession: (id: string) => api.request<void>('DELETE', `/api/me/sessions/${id}`),
  changePassword: (currentPassword: string, newPassword: string) =>
    api.request<void>('POST', '/api/me/password', { body: { currentPassword, newPassword } }),
  beginTotp: () => api.request<TotpEnrolment>('POST', '/api/me/totp'),
  confirmTotp: (code: string) => api.request<void>('POST', '/api/me/totp/confirm', { body: { code } }),
}

export const auditApi = {
  list: (q: { before?: number; action?: string; actor?: string; limit?: number }) =>
    api.request<{ items: AuditEntry[]; nextBefore?: number }>('GET', `/api/audit${queryString(q)}`),
  verify: () => api.request<AuditVerification>('POST', '/api/audit/verify'),
}

export type ReportFilters = { from: string; to: string } & Record<string, string>

export const reportsApi = {
  list: () => api.request<ReportInfo[]>('GET', '/api/reports'),
  page: (kind: ReportKind, filters: ReportFilters, offset: number, limit = 50) =>
    api.request<ReportPage>('GET', `/api/reports/${kind}${queryString({ ...filters, offset, limit })}`),
  export: (kind: ReportKind, filters: ReportFilters, format: 'csv' | 'pdf'): Promise<DownloadedFile> =>
    api.download(`/api/reports/${kind}/export${queryString({ ...filters, format })}`, `${kind}.${format}`),
}

export const dashboardApi = {
  figures: (issuerId?: number) =>
    api.request<Dashboard>('GET', `/api/console/dashboard${queryString({ issuerId })}`),
  eventTicket: () => api.request<{ ticket: string }>('POST', '/api/console/dashboard/events/ticket'),
  acknowledgeAlarm: (id: number) => api.request<void>('POST', `/api/alarms/${id}/acknowledge`),
}

export interface OutboxMessage {
  id: number
  to: string
  text: string
  kind: string
  ref?: string
  status: string
  createdAt: string
  sentAt?: string
  deliveredAt?: string
}

export interface InboxMessage {
  id: number
  from: string
  text: string
  receivedAt: string
  outcome: string
  handledBy?: string
  ref?: string
}

export const smsApi = {
  outbox: (q: { to?: string; ref?: string; limit?: number }) =>
    api.request<OutboxMessage[]>('GET', `/api/sms/outbox${queryString(q)}`),
  inbox: (q: { from?: string; limit?: number }) =>
    api.request<InboxMessage[]>('GET', `/api/sms/inbox${queryString(q)}`),
}

export type AuthStatistics = z.infer<typeof Statistics>

export interface TraceMessage {
  messageType: string
  direction: 'in' | 'out'
  at: string
  body: unknown
}

export interface TransactionTrace {
  transaction: TransactionView
  messages: TraceMessage[]
  rreq?: {
    status: string
    attempts: number
    lastError?: string
    resultsStatus?: string
    deliveredAt?: string
  }
}

export interface TransactionQuery {
  from?: string
  to?: string
  status?: string
  channel?: string
  brand?: string
  merchant?: string
  cursor?: string
  limit?: number
}

export const transactionsApi = {
  list: (q: TransactionQuery) =>
    api.request<{ items: TransactionView[]; next?: string }>(
      'GET',
      `/api/transactions${queryString({ ...q })}`,
    ),
  trace: (acsTransID: string) =>
    api.request<TransactionTrace>('GET', `/api/transactions/${encodeURIComponent(acsTransID)}`),
  statistics: () => api.request<AuthStatistics>('GET', '/api/statistics'),
}

export interface DemoCard {
  pan: string
  name: string
  mobile: string
  method: string
  suspended: boolean
}

export interface LabPurchaseInput {
  pan: string
  amount: number
  currency: string
  channel: 'browser' | 'app'
  flow: 'frictionless' | 'challenge' | 'decoupled' | 'auto'
  merchantName: string
  /** The challenge page's language; by default this browser's. */
  browserLanguage?: string
}

/** This browser's language as 3-D Secure's browserLanguage allows it (at most 8 characters). */
function browserLanguage(): string {
  const tag = navigator.language
  return tag.length <= 8 ? tag : tag.split('-')[0]
}

export interface LabPurchase {
  id: string
  acsTransID?: string
  areq: Record<string, unknown>
  ares: Record<string, unknown>
  creq?: string
  checkoutUrl?: string
}

export interface LabPurchaseState {
  notification?: { cres: Record<string, unknown>; sessionDataIntact: boolean }
  rreqs: Record<string, unknown>[]
}

export interface VirtualPhoneMessage {
  id: number
  direction: 'out' | 'in'
  text: string
  at: string
  status: string
}

export const labApi = {
  demo: () => api.request<{ issuerId: number; created: boolean; cards: DemoCard[] }>('POST', '/api/lab/demo'),
  purchase: (input: LabPurchaseInput) =>
    api.request<LabPurchase>('POST', '/api/lab/purchases', {
      body: { browserLanguage: browserLanguage(), ...input },
    }),
  state: (id: string) => api.request<LabPurchaseState>('GET', `/api/lab/purchases/${id}`),
  appStep: (id: string, action: 'start' | 'code' | 'resend' | 'cancel', code?: string) =>
    api.request<{ httpStatus: number; message?: Record<string, unknown> }>(
      'POST',
      `/api/lab/purchases/${id}/app`,
      {
        body: { action, ...(code !== undefined ? { code } : {}) },
      },
    ),
  phone: (to: string) =>
    api.request<VirtualPhoneMessage[]>('GET', `/api/virtual-phone/messages${queryString({ to })}`),
  reply: (from: string, text: string) =>
    api.request<{ id: number; outcome: string }>('POST', '/api/virtual-phone/reply', {
      body: { from, text },
    }),
}

export interface RuleCondition {
  type: string
  not?: boolean
  [key: string]: unknown
}

export interface RuleOutcome {
  transStatus: string
  transStatusReason?: string
  challengeMandated?: boolean
}

export interface RuleSetBody {
  id: string
  version: number
  issuerId: string
  cardRanges?: { low: string; high: string }[]
  rules: {
    id: string
    version: number
    description?: string
    enabled?: boolean
    when: RuleCondition[]
    outcome: RuleOutcome
  }[]
  defaultOutcome: RuleOutcome
}

export interface RuleSetVersion {
  setId: string
  version: number
  issuerId: number
  status: 'draft' | 'active' | 'retired'
  ruleSet: RuleSetBody
  createdBy: string
  createdAt: string
  activatedBy?: string
  activatedAt?: string
}

export interface RuleTestRequest {
  ruleSet: unknown
  areq: Record<string, string>
  facts: { cardStatus: string; priorCount: number; priorAmount: number; trustedMerchant: boolean }
}

export const rulesApi = {
  list: () => api.request<RuleSetVersion[]>('GET', '/api/risk/rule-sets'),
  versions: (setId: string) =>
    api.request<RuleSetVersion[]>('GET', `/api/risk/rule-sets/${encodeURIComponent(setId)}/versions`),
  validate: (ruleSet: unknown) =>
    api.request<{ ok: boolean; errors: string[] }>('POST', '/api/risk/rule-sets/validate', { body: ruleSet }),
  create: (ruleSet: unknown) => api.request<RuleSetVersion>('POST', '/api/risk/rule-sets', { body: ruleSet }),
  activate: (setId: string, version: number) =>
    api.request<RuleSetVersion>(
      'POST',
      `/api/risk/rule-sets/${encodeURIComponent(setId)}/versions/${version}/activate`,
    ),
  rollback: (setId: string) =>
    api.request<RuleSetVersion>('POST', `/api/risk/rule-sets/${encodeURIComponent(setId)}/rollback`),
  test: (request: RuleTestRequest) =>
    api.request<{
      transStatus: string
      transStatusReason?: string
      challengeMandated?: boolean
      ruleId: string
      reason: string
    }>('POST', '/api/console/rules/test', { body: request }),
}
