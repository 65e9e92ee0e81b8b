import { randomBytes, randomUUID } from 'node:crypto'
import { chooseMethod } from '../auth-methods/choose'
import type {
  AuthenticationMethod,
  ChallengeMode,
  ChallengeSubject,
  MethodState,
  Notice,
  Prompt,
  Verification,
} from '../auth-methods/method'
import type { CardholderRepository, CardRecord } from '../enrolment/repository'
import { conflict, HttpProblem, notFound } from '../http/problem'
import type { Logger } from '../log'
import type { IncomingHandler } from '../sms/service'
import type { Db } from '../store/db'
import type { AuthenticatedClient, ChannelClientRepository } from './clients'
import type { AuthRequestStatus, AuthRequestView, CreateAuthRequest } from './model'
import type { WebhookOutbox } from './webhooks'

/** How long a cardholder has to answer before the request expires. */
export const REQUEST_TTL_MS = 10 * 60_000

interface RequestRow {
  id: string
  client_id: string
  client_reference: string | null
  channel: AuthRequestView['channel']
  card_id: number
  pan_masked: string
  amount: string
  currency: string
  merchant: string
  method: string
  mode: ChallengeMode
  mobile: string | null
  language: string
  method_state: string
  status: AuthRequestStatus
  created_at: number
  expires_at: number
  decided_at: number | null
}

/**
 * Answered by the cardholder's SMS, not by a code the client keys in: decoupled requests, and those whose method
 * prompts out of band (SMS Push A, a dongle whose code is sent by SMS).
 */
function answeredByReply(r: Pick<RequestRow, 'mode' | 'method_state'>): boolean {
  return r.mode === 'decoupled' || (JSON.parse(r.method_state) as StoredState).prompt.kind === 'oob'
}

interface StoredState {
  state: MethodState
  prompt: Prompt
  notice?: Notice
  /** The cardholder's own method when another one runs instead (see chooseMethod). */
  fallbackFrom?: string
}

/** A request as the mobile authenticator shows it, for the approval of a `mobile-signature` request. */
export interface ChannelApprovalSubject {
  id: string
  channel: AuthRequestView['channel']
  cardId: number
  cardholderId: number
  issuerId: number
  panMasked: string
  /** Decimal amount in major units, as the client sent it (`12.34`). */
  amount: string
  currency: string
  merchant: string
  mobile: string | null
  language: string
  /** Still waiting for the cardholder: pending and not past its deadline. */
  open: boolean
}

export interface ChannelAuthDeps {
  db: Db
  log: Logger
  cardholders: CardholderRepository
  /** The ACS's authentication methods by name: the same code sends and checks challenges for every channel. */
  methods: ReadonlyMap<string, AuthenticationMethod>
  clients: ChannelClientRepository
  webhooks: WebhookOutbox
}

const unprocessable = (title: string, detail: string) => new HttpProblem(422, title, detail)
const iso = (ms: number) => new Date(ms).toISOString()

/**
 * Cardholder authentication for payments outside 3-D Secure: MOTO (the cardholder reads the code to a call
 * centre agent), EDC (the code is keyed on the terminal) and ECOM without 3DS. A request challenges the
 * card by its enrolled method through the authentication-method interface; the code comes back through
 * /verify (code-entry methods) or by SMS reply (reply-only methods), or the cardholder approves in the mobile
 * authenticator, which ends the request through conclude(). The result goes to the client by GET and by a
 * signed webhook.
 */
export class ChannelAuthService {
  private readonly byId
  private readonly cardById
  private readonly approvalSubjectById
  private readonly holderOfCard

  constructor(private readonly d: ChannelAuthDeps) {
    this.byId = d.db.prepare('SELECT * FROM channel_auth_requests WHERE id = ?')
    this.holderOfCard = d.db.prepare(
      `SELECT c.cardholder_id AS cardholderId, h.issuer_id AS issuerId
       FROM cards c JOIN cardholders h ON h.id = c.cardholder_id WHERE c.id = ?`,
    )
    this.approvalSubjectById = d.db.prepare(
      `SELECT r.*, c.cardholder_id, h.issuer_id FROM channel_auth_requests r
       JOIN cards c ON c.id = r.card_id JOIN cardholders h ON h.id = c.cardholder_id WHERE r.id = ?`,
    )
    this.cardById = d.db.prepare(
      `SELECT c.id AS cardId, c.cardholder_id AS cardholderId, h.issuer_id AS issuerId, c.range_id AS rangeId,
              c.pan_masked AS panMasked, c.expiry, c.status AS cardStatus, h.status AS cardholderStatus,
              h.method, h.mobile, h.language, h.name
       FROM channel_card_refs r JOIN cards c ON c.id = r.card_id JOIN cardholders h ON h.id = c.cardholder_id
       WHERE r.reference = ?`,
    )
  }

  /** The opaque reference of a card, created the first time a client sees the card. */
  private referenceOf(cardId: number): string {
    const existing = this.d.db
      .prepare('SELECT reference FROM channel_card_refs WHERE card_id = ?')
      .pluck()
      .get(cardId) as string | undefined
    if (existing) return existing
    const reference = `crd_${randomBytes(18).toString('base64url')}`
    this.d.db
      .prepare('INSERT INTO channel_card_refs (card_id, reference) VALUES (?, ?)')
      .run(cardId, reference)
    return reference
  }

  private findCard(input: CreateAuthRequest): CardRecord {
    const card = input.pan
      ? this.d.cardholders.findByPan(input.pan)
      : (this.cardById.get(input.cardReference) as CardRecord | undefined)
    if (!card) throw unprocessable('Card not enrolled', 'This card is not enrolled for authentication')
    if (card.cardStatus !== 'active' || card.cardholderStatus !== 'active')
      throw unprocessable(
        'Card not active',
        'This card cannot be authenticated now (suspended, blocked or closed)',
      )
    return card
  }

  /**
   * The cardholder's method, or its fallback when it cannot reach them now (chooseMethod). Code entry when
   * the method offers it (the agent or terminal keys the code), else an SMS reply; a method decided in
   * another application (the mobile authenticator) runs decoupled: the client just waits for the result.
   */
  private methodFor(card: CardRecord): {
    method: AuthenticationMethod
    mode: ChallengeMode
    fallbackFrom?: string
  } {
    const chosen = chooseMethod(this.d.methods, card)
    const method = chosen?.method
    const mode =
      method?.modes.includes('browser') && !method.decidedElsewhere
        ? 'browser'
        : method?.modes.includes('decoupled')
          ? 'decoupled'
          : undefined
    if (!method || !mode)
      throw unprocessable(
        'No authentication method',
        `This card's authentication method (${card.method}) cannot be used on this channel`,
      )
    return { method, mode, fallbackFrom: chosen?.fallbackFrom }
  }

  create(client: AuthenticatedClient, input: CreateAuthRequest): { created: boolean; view: AuthRequestView } {
    if (!client.channels.includes(input.channel))
      throw new HttpProblem(403, 'Forbidden', `This client may not use the ${input.channel} channel`)
    if (input.clientReference) {
      const existing = this.d.db
        .prepare('SELECT id FROM channel_auth_requests WHERE client_id = ? AND client_reference = ?')
        .pluck()
        .get(client.id, input.clientReference) as string | undefined
      if (existing) return { created: false, view: this.get(client, existing) }
    }
    const card = this.findCard(input)
    const { method, mode, fallbackFrom } = this.methodFor(card)
    const id = randomUUID()
    const now = Date.now()
    this.d.db.transaction(() => {
      const row = {
        id,
        card_id: card.cardId,
        mobile: card.mobile,
        language: card.language,
        pan_masked: card.panMasked,
        merchant: input.merchant,
        amount: input.amount,
        currency: input.currency,
        channel: input.channel,
      }
      const step = method.start(this.subject(row), mode)
      this.d.db
        .prepare(
          `INSERT INTO channel_auth_requests (id, client_id, client_reference, channel, card_id, pan_masked, amount, currency,
             merchant, method, mode, mobile, language, method_state, status, created_at, expires_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
        )
        .run(
          id,
          client.id,
          input.clientReference ?? null,
          input.channel,
          card.cardId,
          card.panMasked,
          input.amount,
          input.currency,
          input.merchant,
          method.name,
          mode,
          card.mobile,
          card.language,
          JSON.stringify({ state: step.state, prompt: step.prompt, fallbackFrom } satisfies StoredState),
          now,
          now + REQUEST_TTL_MS,
        )
      this.referenceOf(card.cardId)
    })()
    this.d.log.info(
      { authRequest: id, channel: input.channel, card: card.panMasked, method: method.name, fallbackFrom },
      'channel authentication started',
    )
    return { created: true, view: this.get(client, id) }
  }

  private subject(
    r: Pick<
      RequestRow,
      'id' | 'card_id' | 'mobile' | 'language' | 'pan_masked' | 'merchant' | 'amount' | 'currency' | 'channel'
    >,
  ): ChallengeSubject {
    // The cardholder (their dongle) and the issuer (templates, code settings), as a 3-D Secure challenge has them.
    const holder = this.holderOfCard.get(r.card_id) as { cardholderId: number; issuerId: number } | undefined
    return {
      acsTransID: r.id,
      cardholderId: holder?.cardholderId,
      issuerId: holder?.issuerId,
      mobile: r.mobile ?? '',
      language: r.language,
      panMasked: r.pan_masked,
      merchantName: r.merchant,
      amountText: `${r.currency} ${r.amount}`,
      channel: r.channel,
    }
  }

  private row(client: AuthenticatedClient, id: string): RequestRow {
    const row = this.byId.get(id) as RequestRow | undefined
    // Another client's request is "not found" too.
    if (!row || row.client_id !== client.id) throw notFound(`No authentication request ${id}`)
    return row
  }

  get(client: AuthenticatedClient, id: string): AuthRequestView {
    return this.view(this.row(client, id))
  }

  private method(row: RequestRow): AuthenticationMethod {
    const method = this.d.methods.get(row.method)
    if (!method)
      throw new HttpProblem(409, 'Method unavailable', `The method ${row.method} is no longer available`)
    return method
  }

  /**
   * The request, checked to be still pending; callers use it in the same synchronous turn. A request past
   * its deadline is ended first (committed on its own, so the expiry and its webhook stand although this
   * call is refused).
   */
  private pendingRow(client: AuthenticatedClient, id: string): RequestRow {
    const row = this.row(client, id)
    if (row.status === 'pending' && Date.now() >= row.expires_at) this.expireDue()
    const current = this.row(client, id)
    if (current.status !== 'pending')
      throw conflict(`This authentication request is already ${current.status}`)
    return current
  }

  /** The code the cardholder read to the agent (MOTO) or keyed on the terminal (EDC). */
  verify(client: AuthenticatedClient, id: string, code: string): AuthRequestView {
    const row = this.pendingRow(client, id)
    this.d.db.transaction(() => {
      if (this.method(row).decidedElsewhere)
        throw conflict(
          'The cardholder approves this request in their authenticator; there is no code to enter',
        )
      if (answeredByReply(row))
        throw conflict('The cardholder answers this request by SMS reply; there is no code to enter')
      const stored = JSON.parse(row.method_state) as StoredState
      this.apply(row, stored, this.method(row).verify(this.subject(row), stored.state, code, 'entry'))
    })()
    return this.get(client, id)
  }

  resend(client: AuthenticatedClient, id: string): AuthRequestView {
    const row = this.pendingRow(client, id)
    this.d.db.transaction(() => {
      const stored = JSON.parse(row.method_state) as StoredState
      const step = this.method(row).resend(this.subject(row), stored.state)
      this.store(row.id, { ...stored, state: step.state, prompt: step.prompt, notice: step.notice })
    })()
    return this.get(client, id)
  }

  /**
   * SMS replies from a cardholder with pending reply-mode requests: the one whose reference the reply names,
   * else the newest the reply fits (as the ACS picks among challenges). Requests decided in the authenticator
   * take no SMS answer, so they are passed over.
   */
  readonly onSmsReply: IncomingHandler = (sms) => {
    return this.d.db.transaction(() => {
      const pending = (
        this.d.db
          .prepare(
            `SELECT * FROM channel_auth_requests WHERE mobile = ? AND status = 'pending' AND expires_at > ?
             ORDER BY created_at DESC`,
          )
          .all(sms.from, Date.now()) as RequestRow[]
      ).filter((r) => !this.d.methods.get(r.method)?.decidedElsewhere && answeredByReply(r))
      // A method that knows its replies (a reference to name) says whether this SMS is for it; one that does
      // not takes any reply.
      const match = (r: RequestRow) =>
        this.method(r).matchReply?.((JSON.parse(r.method_state) as StoredState).state, sms.text) ?? 'fits'
      const row = pending.find((r) => match(r) === 'names') ?? pending.find((r) => match(r) === 'fits')
      if (!row) return undefined
      const stored = JSON.parse(row.method_state) as StoredState
      const method = this.method(row)
      const verification = method.verify(this.subject(row), stored.state, sms.text, 'sms')
      this.apply(row, stored, verification)
      return {
        outcome: verification.outcome === 'retry' ? ('rejected' as const) : ('matched' as const),
        ref: row.id,
      }
    })()
  }

  private apply(row: RequestRow, stored: StoredState, v: Verification): void {
    const now = Date.now()
    if (v.outcome === 'retry')
      this.store(row.id, { ...stored, state: v.state, prompt: v.prompt, notice: v.notice })
    else {
      const status =
        v.outcome === 'success' ? 'authenticated' : v.outcome === 'refused' ? 'refused' : 'failed'
      this.decide(row, status, { ...stored, state: v.state, notice: undefined }, now)
    }
  }

  private store(id: string, stored: StoredState): void {
    this.d.db
      .prepare('UPDATE channel_auth_requests SET method_state = ? WHERE id = ?')
      .run(JSON.stringify(stored), id)
  }

  /**
   * A pending request's approval as the mobile authenticator shows it (the method ran under this request's
   * id); undefined for an unknown id.
   */
  approvalSubject(id: string, now = Date.now()): ChannelApprovalSubject | undefined {
    const r = this.approvalSubjectById.get(id) as
      (RequestRow & { cardholder_id: number; issuer_id: number }) | undefined
    if (!r) return undefined
    return {
      id: r.id,
      channel: r.channel,
      cardId: r.card_id,
      cardholderId: r.cardholder_id,
      issuerId: r.issuer_id,
      panMasked: r.pan_masked,
      amount: r.amount,
      currency: r.currency,
      merchant: r.merchant,
      mobile: r.mobile,
      language: r.language,
      open: r.status === 'pending' && now < r.expires_at,
    }
  }

  /**
   * Ends a pending request with a decision the cardholder made in another application (the mobile
   * authenticator's signed approval), in the caller's transaction: the result reaches the client by GET and
   * webhook like any other. False when the request was no longer pending or past its deadline.
   */
  conclude(id: string, status: 'authenticated' | 'refused', now = Date.now()): boolean {
    const row = this.byId.get(id) as RequestRow | undefined
    if (!row || row.status !== 'pending' || now >= row.expires_at) return false
    return this.decide(row, status, JSON.parse(row.method_state) as StoredState, now)
  }

  /** Records a final status and queues its webhook, in the caller's transaction; false if already final. */
  private decide(
    row: RequestRow,
    status: Exclude<AuthRequestStatus, 'pending'>,
    stored: StoredState,
    now: number,
  ): boolean {
    const changed = this.d.db
      .prepare(
        `UPDATE channel_auth_requests SET status = ?, method_state = ?, decided_at = ? WHERE id = ? AND status = 'pending'`,
      )
      .run(status, JSON.stringify(stored), now, row.id).changes
    if (!changed) return false
    this.d.log.info({ authRequest: row.id, status }, 'channel authentication decided')
    const webhook = this.d.clients.webhookOf(row.client_id)
    if (webhook) {
      const decided = this.byId.get(row.id) as RequestRow
      this.d.webhooks.enqueue(row.client_id, row.id, webhook.url, {
        type: 'auth-request.decided',
        createdAt: iso(now),
        authRequest: this.view(decided),
      })
    }
    return true
  }

  /** Ends requests whose cardholder did not answer in time; run by a timer. */
  expireDue(now = Date.now()): number {
    const due = this.d.db
      .prepare(`SELECT * FROM channel_auth_requests WHERE status = 'pending' AND expires_at <= ? LIMIT 100`)
      .all(now) as RequestRow[]
    this.d.db.transaction(() => {
      for (const row of due) this.decide(row, 'expired', JSON.parse(row.method_state) as StoredState, now)
    })()
    return due.length
  }

  private view(r: RequestRow): AuthRequestView {
    const stored = JSON.parse(r.method_state) as StoredState
    const p = stored.prompt
    const screen = p.kind === 'oob' ? p.screen?.pageUrl : undefined
    return {
      id: r.id,
      status: r.status,
      channel: r.channel,
      card: { masked: r.pan_masked, reference: this.referenceOf(r.card_id) },
      amount: r.amount,
      currency: r.currency,
      merchant: r.merchant,
      method: r.method,
      ...(stored.fallbackFrom ? { fallbackFrom: stored.fallbackFrom } : {}),
      interaction: this.d.methods.get(r.method)?.decidedElsewhere
        ? 'approval'
        : answeredByReply(r)
          ? 'reply'
          : 'code-entry',
      prompt:
        p.kind === 'code'
          ? {
              kind: 'code',
              maskedDestination: p.maskedDestination,
              codeLength: p.codeLength,
              resendAvailable: p.resendAvailable,
            }
          : { kind: 'oob', maskedDestination: p.maskedDestination },
      ...(screen ? { screen: { path: screen } } : {}),
      ...(stored.notice ? { notice: stored.notice } : {}),
      ...(r.client_reference ? { clientReference: r.client_reference } : {}),
      createdAt: iso(r.created_at),
      expiresAt: iso(r.expires_at),
      ...(r.decided_at ? { decidedAt: iso(r.decided_at) } : {}),
    }
  }
}
