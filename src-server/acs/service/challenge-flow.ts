import { randomBytes, timingSafeEqual } from 'node:crypto'
import type {
  AuthenticationMethod,
  ChallengeSubject,
  Notice,
  Prompt,
  Step,
  Verification,
} from '../../auth-methods/method'
import type { IssuerRepository } from '../../issuers/repository'
import type { Logger } from '../../log'
import type { Db } from '../../store/db'
import type { IncomingHandler } from '../../sms/service'
import { creqKid, openCReq, sealCRes, type AppTransaction } from '../app-channel/session'
import { localeFor, supportedLocale, textsFor, trustOfferText, type Locale } from '../challenge-ui/i18n'
import {
  renderFinalCResPage,
  renderOobWaitingPage,
  renderOtpPage,
  type ActivationPanel,
  type Branding,
} from '../challenge-ui/pages'
import type { Ledger } from '../ledger/ledger'
import { parseBrowserCReq, type AppCReq } from '../protocol/creq'
import {
  buildChallengeCRes,
  buildFinalCRes,
  WHITELISTING_INFO_TEXT_MAX,
  type ChallengeUi,
  type CRes,
} from '../protocol/cres'
import { buildErro, isErroMessage, type Erro } from '../protocol/erro'
import { buildRReq, type ChallengeCancel, type ResultStatus } from '../protocol/rreq'
import { serializeMessage } from '../protocol/serialize'
import { parseJsonStrict } from '../protocol/strict-json'
import type { AcsSettingsStore } from '../settings'
import type { TrustList } from '../trust-list/trust-list'
import type { AuthValues } from './auth-values'
import { challengeEvent, type AuthenticationEvents } from './authentication-events'
import type { Challenge, ChallengeStore, DeadlineKind } from './challenge-store'
import type { RReqOutbox } from './rreq-outbox'

export interface FlowDeps {
  db: Db
  log: Logger
  issuers: IssuerRepository
  ledger: Ledger
  settings: AcsSettingsStore
  challenges: ChallengeStore
  outbox: RReqOutbox
  authValues: AuthValues
  methods: ReadonlyMap<string, AuthenticationMethod>
  events: AuthenticationEvents
  trustList: TrustList
}

/** How a challenge ends: the RReq's status, reason and (for cancels and timeouts) challengeCancel. */
export interface Ending {
  transStatus: ResultStatus
  transStatusReason?: string
  challengeCancel?: ChallengeCancel
  /** The cardholder ticked "trust this merchant" with the code that succeeded (only ever set on Y). */
  trustMerchant?: boolean
}

export type BrowserAnswer =
  /** `final`: the page that posts the final CRes (the challenge is over). */
  | { kind: 'page'; html: string; formTarget?: string; acsTransID: string; final?: true }
  | { kind: 'erro'; erro: Erro }

/** A browser challenge that just succeeded, as the `offerActivation` provider sees it. */
export interface SucceededChallenge {
  cardId: number
  cardholderId?: number
  panMasked: string
  /** The method that authenticated (after any fallback), e.g. `sms-otp`. */
  method: string
  /** The ACS's public origin (the challenge page's own), for links. */
  origin: string
}

/** The mobile authenticator's activation, offered on the last page of a successful challenge. */
export interface ActivationOffer {
  link: string
  /** The link's QR code as a data URI. */
  image: string
  expiresAt: number
}

export type ActivationOffers = (c: SucceededChallenge) => Promise<ActivationOffer | undefined>

export type AppAnswer = { kind: 'jose'; jwe: string } | { kind: 'erro'; erro: Erro } | { kind: 'ended' }

const SUCCESS: Ending = { transStatus: 'Y' }
const SUCCESS_TRUSTED: Ending = { transStatus: 'Y', trustMerchant: true }
const FAILED: Ending = { transStatus: 'N', transStatusReason: '01' }
const CARDHOLDER_CANCEL: Ending = { transStatus: 'N', transStatusReason: '01', challengeCancel: '01' }
const TIMEOUTS: Record<DeadlineKind, Ending> = {
  'first-creq': { transStatus: 'U', transStatusReason: '14', challengeCancel: '05' },
  challenge: { transStatus: 'U', transStatusReason: '14', challengeCancel: '04' },
  decoupled: { transStatus: 'U', transStatusReason: '24', challengeCancel: '03' },
}
const TRANSACTION_ERROR: Ending = { transStatus: 'U', transStatusReason: '22', challengeCancel: '06' }
/** How far back a late SMS reply is still recognised (and recorded as expired rather than unmatched). */
const REPLY_LOOKBACK_MS = 24 * 3600_000
/** How long a final browser page waits for the RRes before rendering anyway (the outbox keeps retrying). */
const RREQ_WAIT_MS = 5000

const newNonce = () => randomBytes(18).toString('base64url')

function sameNonce(given: string | null, expected: string | undefined): boolean {
  if (!given || !expected) return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * The challenge state machine shared by the browser pages, the app channel, decoupled SMS replies and the
 * timers. Every step is saved before its answer is sent; every ending records the result, the statistics
 * and the one RReq in a single database transaction guarded by the challenge's status.
 */
export class ChallengeFlow {
  private activationOffers: ActivationOffers | undefined

  constructor(private readonly d: FlowDeps) {}

  /**
   * Lets the mobile authenticator offer its activation QR code on the last page of a successful browser
   * challenge (mobile/activation-offer.ts decides for whom); set once at start-up, like the method table.
   */
  offerActivation(offers: ActivationOffers): void {
    this.activationOffers = offers
  }

  private method(ch: Challenge): AuthenticationMethod {
    const m = this.d.methods.get(ch.method)
    if (!m) throw new Error(`authentication method ${ch.method} is not available`)
    return m
  }

  private subject(ch: Challenge): ChallengeSubject {
    const c = ch.context
    return {
      acsTransID: ch.acsTransID,
      mobile: ch.mobile,
      language: c.language,
      panMasked: c.panMasked,
      issuerId: c.issuerId,
      cardholderId: c.cardholderId,
      merchantName: c.merchantName,
      amountText: c.amountText,
    }
  }

  /**
   * The language the cardholder reads the challenge in: the browser's (the AReq's `browserLanguage`) when we
   * have its texts, else the one the cardholder enrolled with (also the app's, whose AReq names none).
   */
  private locale(ch: Challenge): Locale {
    return supportedLocale(ch.context.browserLanguage) ?? localeFor(ch.context.language)
  }

  // ------------------------------------------------------------------------------------------ ending

  /** Ends a challenge once; returns the outbox id of its RReq, or undefined when it had already ended. */
  end(ch: Challenge, e: Ending): number | undefined {
    const c = ch.context
    const method = this.method(ch)
    const decoupled = ch.mode === 'decoupled'
    // Consent counts only with a successful challenge and an offer this transaction actually made.
    const trusted = e.transStatus === 'Y' && e.trustMerchant === true ? c.trustListOffer : undefined
    const av =
      e.transStatus === 'Y'
        ? this.d.authValues.forCard(c.rangeId, c.cardId, {
            transStatus: 'Y',
            messageCategory: c.messageCategory,
            method: method.authValueMethod,
            dsTransID: c.dsTransID,
            merchantName: c.merchantName,
            purchaseAmount: c.purchaseAmount,
            purchaseCurrency: c.purchaseCurrency,
          })
        : undefined
    const rreq = buildRReq(
      {
        threeDSServerTransID: c.threeDSServerTransID,
        acsTransID: ch.acsTransID,
        dsTransID: c.dsTransID,
        sdkTransID: c.sdkTransID,
        messageCategory: c.messageCategory,
        messageVersion: c.messageVersion,
        deviceChannel: c.deviceChannel,
      },
      {
        transStatus: e.transStatus,
        transStatusReason: e.transStatusReason,
        authenticationValue: av?.authenticationValue,
        eci: av?.eci ?? this.d.authValues.eci(c.rangeId, e.transStatus, c.messageCategory),
        authenticationType: decoupled ? '04' : method.authenticationType,
        interactionCounter: decoupled ? undefined : ch.interactionCounter,
        challengeCancel: e.challengeCancel,
        acsRenderingType: c.acsRenderingType,
        whiteListStatus: trusted ? { status: 'Y', source: '03' } : undefined,
      },
    )
    let outboxId: number | undefined
    this.d.db.transaction(() => {
      if (!this.d.challenges.markEnded(ch.acsTransID, ch.interactionCounter)) return
      this.d.ledger.finish({
        acsTransID: ch.acsTransID,
        finalStatus: e.transStatus,
        transStatusReason: rreq.transStatusReason as string | undefined, // as sent: per version
        challengeCancel: e.challengeCancel,
        interactionCounter: decoupled ? undefined : ch.interactionCounter,
        eci: rreq.eci as string | undefined,
      })
      outboxId = this.d.outbox.enqueue(rreq, c.dsURL)
      if (trusted)
        this.d.trustList.add({
          cardId: c.cardId,
          panMasked: c.panMasked,
          merchant: trusted,
          source: 'challenge',
          acsTransID: ch.acsTransID,
          actor: `cardholder:${c.panMasked}`,
        })
      this.d.events.emit(challengeEvent(ch, e.transStatus, true))
    })()
    return outboxId
  }

  private finalStatus(acsTransID: string): ResultStatus {
    return (this.d.ledger.header(acsTransID)?.final_status as ResultStatus | undefined) ?? 'U'
  }

  /** Ends and sends the RReq at once, resolving when the DS answered (or the wait is over). */
  private async endAndReport(ch: Challenge, e: Ending): Promise<void> {
    const id = this.end(ch, e)
    if (id === undefined) return
    await Promise.race([this.d.outbox.deliver(id), new Promise((r) => setTimeout(r, RREQ_WAIT_MS).unref())])
  }

  /** Timers: ends every challenge whose deadline passed (called on a timer and at start-up). */
  expireDue(now = Date.now()): number {
    let n = 0
    for (const id of this.d.challenges.dueBefore(now)) {
      const ch = this.d.challenges.get(id)
      if (!ch || ch.status === 'ended' || !ch.deadlineKind) continue
      const outboxId = this.end(ch, TIMEOUTS[ch.deadlineKind])
      if (outboxId !== undefined) {
        n++
        void this.d.outbox.deliver(outboxId)
      }
    }
    return n
  }

  private activate(ch: Challenge, step: Step): Challenge {
    const timeout = this.d.settings.get().challengeTimeoutSeconds
    return {
      ...ch,
      status: 'active',
      methodState: step.state,
      prompt: step.prompt,
      deadlineAt: Date.now() + timeout * 1000,
      deadlineKind: 'challenge',
    }
  }

  /** Applies the cardholder's answer (and their trust-list choice); returns the next step or the ending. */
  private answer(
    ch: Challenge,
    input: string,
    trust: boolean,
  ): { ch: Challenge; ending?: Ending; notice?: Notice } {
    const counted = { ...ch, interactionCounter: ch.interactionCounter + 1 }
    const v: Verification = this.method(ch).verify(this.subject(ch), ch.methodState, input, 'entry')
    switch (v.outcome) {
      case 'success':
        return {
          ch: { ...counted, methodState: v.state },
          ending: trust && ch.context.trustListOffer ? SUCCESS_TRUSTED : SUCCESS,
        }
      case 'failed':
      case 'refused':
        return { ch: { ...counted, methodState: v.state }, ending: FAILED }
      case 'retry':
        return { ch: { ...counted, methodState: v.state, prompt: v.prompt }, notice: v.notice }
    }
  }

  // ------------------------------------------------------------------------------------------ browser

  private branding(ch: Challenge): Branding {
    const issuer = this.d.issuers.getIssuer(ch.context.issuerId)
    return {
      issuerName: issuer.branding.displayName ?? issuer.name,
      colour: issuer.branding.colour,
      logoDataUri: issuer.branding.logo,
    }
  }

  /** The trust-list checkbox of a code-entry screen, when this transaction offers it. */
  private trustOffer(ch: Challenge, checked: boolean): { label: string; checked: boolean } | undefined {
    const name = ch.context.trustListOffer?.merchantName
    return name ? { label: trustOfferText(this.locale(ch), name), checked } : undefined
  }

  private stepPage(ch: Challenge, actionUrl: string, notice?: Notice, trustChecked = false): string {
    const common = {
      actionUrl,
      acsTransID: ch.acsTransID,
      nonce: ch.nonce!,
      locale: this.locale(ch),
      branding: this.branding(ch),
      windowSize: ch.windowSize ?? '05',
      merchantName: ch.context.merchantName,
      amount: ch.context.amountText,
      notice,
    }
    const prompt = ch.prompt as Prompt
    if (prompt.kind === 'oob')
      return renderOobWaitingPage({
        ...common,
        instruction: prompt.instruction,
        reference: prompt.reference,
        pollUrl: `${actionUrl}/status?${new URLSearchParams({ acsTransID: ch.acsTransID, nonce: ch.nonce! })}`,
        screen: prompt.screen,
      })
    return renderOtpPage({
      ...common,
      maskedDestination: prompt.maskedDestination,
      resendAvailable: prompt.resendAvailable,
      codeLength: prompt.codeLength,
      instruction: prompt.instruction,
      trustOffer: this.trustOffer(ch, trustChecked),
    })
  }

  /**
   * The out-of-band page's poll: whether the challenge has ended (the cardholder's reply arrived), so the
   * page can press Continue by itself. Answers only for the page's current nonce; says nothing else.
   */
  pollStatus(acsTransID: string, nonce: string | null): { done: boolean } | undefined {
    const ch = /^[0-9a-f-]{36}$/i.test(acsTransID) ? this.d.challenges.get(acsTransID) : undefined
    if (!ch || ch.mode !== 'browser' || !sameNonce(nonce, ch.nonce)) return undefined
    return { done: ch.status === 'ended' }
  }

  /** The activation offer for a challenge that just succeeded, if any; never fails the challenge's last page. */
  private async activationOffer(ch: Challenge, origin: string): Promise<ActivationPanel | undefined> {
    if (!this.activationOffers) return undefined
    const c = ch.context
    try {
      const offer = await this.activationOffers({
        cardId: c.cardId,
        cardholderId: c.cardholderId,
        panMasked: c.panMasked,
        method: ch.method,
        origin,
      })
      if (!offer) return undefined
      return {
        link: offer.link,
        image: offer.image,
        minutesValid: Math.max(1, Math.round((offer.expiresAt - Date.now()) / 60_000)),
        branding: this.branding(ch),
        windowSize: ch.windowSize ?? '05',
      }
    } catch (err) {
      this.d.log.warn(
        { err: (err as Error).message, acsTransID: ch.acsTransID },
        'no authenticator activation offered on the final page',
      )
      return undefined
    }
  }

  private finalPage(ch: Challenge, status: ResultStatus, activation?: ActivationPanel): BrowserAnswer {
    const c = ch.context
    const cres = buildFinalCRes(
      {
        threeDSServerTransID: c.threeDSServerTransID,
        acsTransID: ch.acsTransID,
        messageVersion: c.messageVersion,
      },
      status,
    )
    this.d.ledger.message(
      { acsTransID: ch.acsTransID, threeDSServerTransID: c.threeDSServerTransID },
      'CRes',
      'out',
      cres,
    )
    return {
      kind: 'page',
      acsTransID: ch.acsTransID,
      final: true,
      formTarget: c.notificationURL,
      html: renderFinalCResPage({
        locale: this.locale(ch),
        notificationURL: c.notificationURL!,
        cres: Buffer.from(serializeMessage(cres)).toString('base64url'),
        threeDSSessionData: ch.sessionData,
        activation,
      }),
    }
  }

  /**
   * One POST to the browser challenge endpoint: the requestor's first form (`creq`, `threeDSSessionData`)
   * or one of our own pages (`acsTransID`, `nonce`, `action`, `otp`). `origin`: the ACS's public origin, for
   * links that leave the page (the authenticator's activation).
   */
  async browser(form: URLSearchParams, actionUrl: string, origin: string): Promise<BrowserAnswer> {
    const creqField = form.get('creq')
    if (creqField !== null)
      return this.browserCReq(creqField, form.get('threeDSSessionData') ?? undefined, actionUrl)
    const acsTransID = form.get('acsTransID') ?? ''
    const ch = /^[0-9a-f-]{36}$/i.test(acsTransID) ? this.d.challenges.get(acsTransID) : undefined
    if (!ch || ch.mode !== 'browser' || ch.status === 'awaiting-creq')
      return {
        kind: 'erro',
        erro: buildErro({
          code: '301',
          detail: 'acsTransID',
          messageType: 'CReq',
          messageVersion: ch?.context.messageVersion ?? '2.2.0',
        }),
      }
    if (ch.status === 'ended') return this.finalPage(ch, this.finalStatus(ch.acsTransID))
    // A stale or missing nonce (back button, double submit, forged post) acts on nothing: show the current step.
    if (!sameNonce(form.get('nonce'), ch.nonce)) return this.reshow(ch, actionUrl)
    const action = form.get('action') ?? 'submit'
    // The checkbox travels with every post of the code page, so a re-shown page keeps the cardholder's choice.
    const trust = form.get('trust') === 'Y'
    if (action === 'cancel') {
      await this.endAndReport(ch, CARDHOLDER_CANCEL)
      return this.finalPage(ch, this.finalStatus(ch.acsTransID))
    }
    if (action === 'resend') {
      const step = this.method(ch).resend(this.subject(ch), ch.methodState)
      const next = { ...ch, methodState: step.state, prompt: step.prompt, nonce: newNonce() }
      if (!this.d.challenges.update(next)) return this.finalPage(ch, this.finalStatus(ch.acsTransID))
      return {
        kind: 'page',
        acsTransID: ch.acsTransID,
        html: this.stepPage(next, actionUrl, step.notice, trust),
      }
    }
    // An out-of-band step is decided by the cardholder's SMS, never by the page: Continue shows where it is.
    if ((ch.prompt as Prompt | undefined)?.kind === 'oob') return this.reshow(ch, actionUrl)
    const { ch: next, ending, notice } = this.answer(ch, form.get('otp') ?? '', trust)
    if (ending) {
      await this.endAndReport(next, ending)
      const status = this.finalStatus(ch.acsTransID)
      // Only the page that follows the code itself offers the authenticator (a re-post shows the plain page).
      const activation = status === 'Y' ? await this.activationOffer(next, origin) : undefined
      return this.finalPage(next, status, activation)
    }
    const saved = { ...next, nonce: newNonce() }
    if (!this.d.challenges.update(saved)) return this.finalPage(ch, this.finalStatus(ch.acsTransID))
    return { kind: 'page', acsTransID: ch.acsTransID, html: this.stepPage(saved, actionUrl, notice, trust) }
  }

  private reshow(ch: Challenge, actionUrl: string): BrowserAnswer {
    const next = { ...ch, nonce: newNonce() }
    if (!this.d.challenges.update(next)) return this.finalPage(ch, this.finalStatus(ch.acsTransID))
    return { kind: 'page', acsTransID: ch.acsTransID, html: this.stepPage(next, actionUrl) }
  }

  private async browserCReq(
    field: string,
    sessionData: string | undefined,
    actionUrl: string,
  ): Promise<BrowserAnswer> {
    const parsed = parseBrowserCReq(field)
    if (!parsed.ok) return { kind: 'erro', erro: parsed.erro }
    const creq = parsed.creq
    const ch = this.d.challenges.get(creq.acsTransID)
    const unknown = (detail: string) => ({
      kind: 'erro' as const,
      erro: buildErro({
        code: '301',
        detail,
        messageType: 'CReq',
        messageVersion: creq.messageVersion,
        ids: creq,
      }),
    })
    if (!ch || ch.mode !== 'browser') return unknown('acsTransID')
    if (ch.context.threeDSServerTransID !== creq.threeDSServerTransID) return unknown('threeDSServerTransID')
    this.d.ledger.message(
      { acsTransID: ch.acsTransID, threeDSServerTransID: creq.threeDSServerTransID },
      'CReq',
      'in',
      creq,
    )
    // A challenge that ended before its first CReq (timed out) never stored the requestor's session data:
    // the final page still hands back what this CReq brought.
    const ended = { ...ch, sessionData: ch.sessionData ?? sessionData }
    if (ch.status === 'ended') return this.finalPage(ended, this.finalStatus(ch.acsTransID))
    if (ch.status === 'active') return this.reshow({ ...ch, windowSize: creq.challengeWindowSize }, actionUrl)
    const step = this.method(ch).start(this.subject(ch), 'browser')
    const next = {
      ...this.activate(ch, step),
      nonce: newNonce(),
      sessionData,
      windowSize: creq.challengeWindowSize,
    }
    if (!this.d.challenges.update(next)) return this.finalPage(ended, this.finalStatus(ch.acsTransID))
    return { kind: 'page', acsTransID: ch.acsTransID, html: this.stepPage(next, actionUrl) }
  }

  // ------------------------------------------------------------------------------------------ app

  private appUi(ch: Challenge, notice?: Notice, trustChecked = false): ChallengeUi {
    const t = textsFor(this.locale(ch))
    const prompt = ch.prompt as Prompt
    const rendering = ch.context.acsRenderingType!
    if (rendering.acsInterface === '02') {
      const html =
        prompt.kind === 'code'
          ? renderOtpPage({
              actionUrl: 'HTTPS://EMV3DS/challenge',
              acsTransID: ch.acsTransID,
              nonce: 'sdk',
              locale: this.locale(ch),
              branding: this.branding(ch),
              windowSize: '05',
              merchantName: ch.context.merchantName,
              amount: ch.context.amountText,
              maskedDestination: prompt.maskedDestination,
              resendAvailable: prompt.resendAvailable,
              codeLength: prompt.codeLength,
              instruction: prompt.instruction,
              notice,
              trustOffer: this.trustOffer(ch, trustChecked),
            })
          : renderOobWaitingPage({
              actionUrl: 'HTTPS://EMV3DS/challenge',
              acsTransID: ch.acsTransID,
              nonce: 'sdk',
              locale: this.locale(ch),
              branding: this.branding(ch),
              windowSize: '05',
              instruction: prompt.instruction,
              reference: prompt.reference,
              notice,
            })
      return { acsUiType: '05', acsHTML: Buffer.from(html).toString('base64url') }
    }
    const noticeText =
      notice?.kind === 'wrong-code'
        ? t.wrongCode(notice.attemptsLeft)
        : notice?.kind === 'code-resent'
          ? t.codeResent
          : notice?.kind === 'code-expired'
            ? t.codeExpired
            : undefined
    const intro =
      ch.context.merchantName && ch.context.amountText
        ? t.intro(ch.context.merchantName, ch.context.amountText)
        : undefined
    if (prompt.kind === 'oob')
      return {
        acsUiType: '04',
        challengeInfoHeader: t.waitingTitle,
        challengeInfoText: [intro, prompt.instruction ?? t.waitingText, noticeText].filter(Boolean).join(' '),
        oobContinueLabel: t.continue,
      }
    return {
      acsUiType: '01',
      challengeInfoHeader: t.title,
      challengeInfoLabel: t.codeLabel,
      challengeInfoText: [intro, prompt.instruction ?? t.codeSentTo(prompt.maskedDestination), noticeText]
        .filter(Boolean)
        .join(' '),
      challengeInfoTextIndicator: notice?.kind === 'wrong-code' ? 'Y' : undefined,
      submitAuthenticationLabel: t.submit,
      resendInformationLabel: prompt.resendAvailable ? t.resend : undefined,
      // The SDK shows its own checkbox with this text and answers whitelistingDataEntry.
      whitelistingInfoText: ch.context.trustListOffer?.merchantName
        ? trustOfferText(this.locale(ch), ch.context.trustListOffer.merchantName, WHITELISTING_INFO_TEXT_MAX)
        : undefined,
    }
  }

  private ids(ch: Challenge) {
    const c = ch.context
    return {
      threeDSServerTransID: c.threeDSServerTransID,
      acsTransID: ch.acsTransID,
      sdkTransID: c.sdkTransID,
      messageVersion: c.messageVersion,
    }
  }

  /** Seals a CRes with the next counter and saves the counter state; returns the JWE. */
  private sendCRes(ch: Challenge, tx: AppTransaction, cres: CRes): AppAnswer {
    const sealed = sealCRes(cres, tx)
    this.d.db
      .prepare('UPDATE acs_challenges SET app_state = ? WHERE acs_trans_id = ?')
      .run(JSON.stringify(sealed.state), ch.acsTransID)
    this.d.ledger.message(
      { acsTransID: ch.acsTransID, threeDSServerTransID: ch.context.threeDSServerTransID },
      'CRes',
      'out',
      cres,
    )
    return { kind: 'jose', jwe: sealed.jwe }
  }

  private async appFinal(ch: Challenge, tx: AppTransaction, ending?: Ending): Promise<AppAnswer> {
    if (ending) await this.endAndReport(ch, ending)
    const cres = buildFinalCRes(this.ids(ch), this.finalStatus(ch.acsTransID), {
      acsCounterAtoS: tx.state.nextAcsCounter,
    })
    return this.sendCRes(ch, tx, cres)
  }

  /** One app-channel CReq (JWE compact), or a plain-JSON Erro from the SDK. */
  async app(body: string): Promise<AppAnswer> {
    const text = body.trim()
    if (text.startsWith('{')) return this.sdkErro(text)
    const kid = creqKid(text)
    const ch = kid ? this.d.challenges.get(kid) : undefined
    const cek = ch?.mode === 'app' ? this.d.challenges.cek(ch.acsTransID) : undefined
    if (!ch || !cek || !ch.appState)
      return {
        kind: 'erro',
        erro: buildErro({
          code: '301',
          detail: 'kid',
          messageType: 'CReq',
          messageVersion: ch?.context.messageVersion ?? '2.2.0',
        }),
      }
    const c = ch.context
    const tx: AppTransaction = { ...this.ids(ch), sdkTransID: c.sdkTransID!, cek, state: ch.appState }
    const opened = openCReq(text, tx)
    if (opened.kind === 'sdk-erro') return this.sdkErro(text)
    if (opened.kind === 'erro') {
      // A replayed, skipped or undecryptable CReq ends the secure channel (and so the transaction).
      if (opened.erro.errorCode === '302' && ch.status !== 'ended') {
        const id = this.end(ch, TRANSACTION_ERROR)
        if (id !== undefined) void this.d.outbox.deliver(id)
      }
      return { kind: 'erro', erro: opened.erro }
    }
    const creq = opened.creq
    tx.state = opened.state
    const current: Challenge = { ...ch, appState: opened.state }
    this.d.ledger.message(
      { acsTransID: ch.acsTransID, threeDSServerTransID: c.threeDSServerTransID },
      'CReq',
      'in',
      creq,
    )
    if (ch.status === 'ended') {
      // After a timeout the SDK is told so (Erro 402), as the specification has the ACS answer a late CReq.
      const cancel = this.d.ledger.header(ch.acsTransID)?.challenge_cancel
      if (cancel === TIMEOUTS['first-creq'].challengeCancel || cancel === TIMEOUTS.challenge.challengeCancel)
        return {
          kind: 'erro',
          erro: buildErro({
            code: '402',
            detail: 'challenge timed out at the ACS',
            messageType: 'CReq',
            messageVersion: creq.messageVersion,
            ids: creq,
          }),
        }
      return this.appFinal(current, tx)
    }
    if (creq.challengeCancel) {
      const cancel = creq.challengeCancel as ChallengeCancel
      return this.appFinal(
        current,
        tx,
        cancel === '01'
          ? CARDHOLDER_CANCEL
          : { transStatus: 'U', transStatusReason: '14', challengeCancel: cancel },
      )
    }
    let next: Challenge
    let notice: Notice | undefined
    let trustChecked = false
    const entry = appEntry(creq)
    if (ch.status === 'awaiting-creq') {
      next = this.activate(current, this.method(ch).start(this.subject(ch), 'app'))
    } else if (creq.resendChallenge === 'Y' || entry?.resend) {
      const step = this.method(ch).resend(this.subject(ch), ch.methodState)
      next = { ...current, methodState: step.state, prompt: step.prompt }
      notice = step.notice
    } else {
      // On an out-of-band screen only the SMS reply decides; what the SDK posts just shows the state again.
      const oob = (ch.prompt as Prompt | undefined)?.kind === 'oob'
      if (entry === undefined || (oob && !entry.cancel)) next = current
      else if (entry.cancel) return this.appFinal(current, tx, CARDHOLDER_CANCEL)
      else {
        const r = this.answer(current, entry.input, entry.trust)
        if (r.ending) return this.appFinal(r.ch, tx, r.ending)
        next = r.ch
        notice = r.notice
        trustChecked = entry.trust
      }
    }
    if (!this.d.challenges.update(next)) return this.appFinal(current, tx)
    return this.sendCRes(
      next,
      tx,
      buildChallengeCRes(this.ids(ch), tx.state.nextAcsCounter, this.appUi(next, notice, trustChecked)),
    )
  }

  /** The SDK reports an error in clear: the transaction ends with challengeCancel 06. */
  private sdkErro(text: string): AppAnswer {
    const parsed = parseJsonStrict(text)
    const msg = parsed.ok ? parsed.value : undefined
    if (!isErroMessage(msg))
      return {
        kind: 'erro',
        erro: buildErro({
          code: '101',
          detail: 'CReq must be a JWE',
          messageType: 'CReq',
          messageVersion: '2.2.0',
          ids: msg as Record<string, unknown> | undefined,
        }),
      }
    const ch = typeof msg.acsTransID === 'string' ? this.d.challenges.get(msg.acsTransID) : undefined
    if (ch && ch.mode === 'app') {
      this.d.ledger.message(
        { acsTransID: ch.acsTransID, threeDSServerTransID: ch.context.threeDSServerTransID },
        'Erro',
        'in',
        msg,
      )
      const id = this.end(ch, TRANSACTION_ERROR)
      if (id !== undefined) void this.d.outbox.deliver(id)
    }
    return { kind: 'ended' }
  }

  // ------------------------------------------------------------------------------------------ SMS replies

  /**
   * An SMS from a cardholder's phone. Only challenges of the sender's own number are considered (a reply
   * from any other number never decides anything); among them the one whose reference the text names wins,
   * else the newest whose method takes a reply of that shape (a bare code for a decoupled OTP). A reply
   * naming a challenge that already ended is recorded as expired; anything else is left for the next
   * handler (FRAUD replies) or stays unmatched in the inbox.
   */
  readonly onSmsReply: IncomingHandler = (sms) => {
    const match = (ch: Challenge) => this.method(ch).matchReply?.(ch.methodState, sms.text) ?? 'no'
    const active = this.d.challenges.activeFor(sms.from)
    const ch = active.find((c) => match(c) === 'names') ?? active.find((c) => match(c) === 'fits')
    if (!ch) {
      const late = this.d.challenges
        .endedFor(sms.from, Date.now() - REPLY_LOOKBACK_MS)
        .find((c) => match(c) === 'names')
      return late ? { outcome: 'expired', ref: late.acsTransID } : undefined
    }
    const v = this.method(ch).verify(this.subject(ch), ch.methodState, sms.text, 'sms')
    // A reply is one authentication cycle of a browser or app challenge (decoupled ones carry no counter).
    const counted = ch.mode === 'decoupled' ? ch : { ...ch, interactionCounter: ch.interactionCounter + 1 }
    if (v.outcome === 'retry') {
      this.d.challenges.update({ ...counted, methodState: v.state })
      return { outcome: 'rejected', ref: ch.acsTransID }
    }
    const outboxId = this.end(
      { ...counted, methodState: v.state },
      v.outcome === 'success' ? SUCCESS : FAILED,
    )
    if (outboxId !== undefined) void this.d.outbox.deliver(outboxId)
    return { outcome: 'matched', ref: ch.acsTransID }
  }
}

/**
 * The cardholder's input in an app CReq: native text entry (the trust choice in whitelistingDataEntry), or
 * the HTML form the SDK serialised (the trust checkbox among its fields).
 */
function appEntry(
  creq: AppCReq,
): { input: string; trust: boolean; cancel?: boolean; resend?: boolean } | undefined {
  if (creq.challengeDataEntry !== undefined)
    return { input: creq.challengeDataEntry, trust: creq.whitelistingDataEntry === 'Y' }
  if (creq.challengeHTMLDataEntry !== undefined) {
    const form = new URLSearchParams(creq.challengeHTMLDataEntry)
    // The page's Resend and Cancel buttons post their `action` with an empty code: neither is an attempt.
    return {
      input: form.get('otp') ?? '',
      trust: form.get('trust') === 'Y',
      cancel: form.get('action') === 'cancel',
      resend: form.get('action') === 'resend',
    }
  }
  // oobContinue (or an empty CReq) only asks for the current screen again: idempotent, never an attempt.
  return undefined
}
