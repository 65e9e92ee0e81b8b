import { v7 as timeOrderedUuid } from 'uuid'
import type { CardholderRepository, CardRecord } from '../../enrolment/repository'
import type { IssuerRepository, ResolvedRange } from '../../issuers/repository'
import type { Vault } from '../../crypto/vault'
import { maskPan, maskPansInText } from '../../crypto/mask'
import type { Logger } from '../../log'
import type { Db } from '../../store/db'
import type { RuleSetStore } from '../../risk/store'
import type { HistoryFacts } from '../../risk/evaluate'
import type { AuthenticationMethod } from '../../auth-methods/method'
import type { Alarms } from '../alarms'
import { establishAppChannel, INITIAL_APP_CHANNEL_STATE } from '../app-channel/session'
import { signAcsContent } from '../app-channel/signed-content'
import type { Brand } from '../auth-values/eci'
import type { AcsKeyStore } from '../keys/key-store'
import type { GroupCommit } from '../../store/group-commit'
import { Ledger, maskedReceived, type Channel } from '../ledger/ledger'
import { parseAReq, type AReq } from '../protocol/areq'
import { buildARes, type AcsRenderingType, type AResOutcome } from '../protocol/ares'
import { buildErro, type Erro } from '../protocol/erro'
import { isEndpointUrl } from '../protocol/formats'
import { serializeMessage } from '../protocol/serialize'
import { systemFailure } from '../protocol/system-failure'
import { DeviceChannel, versionAtLeast } from '../protocol/versions'
import type { AcsSettingsStore } from '../settings'
import type { DsPeer } from '../tls/listener'
import { merchantIdentity, type MerchantIdentity } from '../trust-list/merchant'
import type { TrustCheck, TrustList } from '../trust-list/trust-list'
import { formatAmount } from './amount'
import type { ChallengeContext, ChallengeStore } from './challenge-store'
import { cardStatusOf, decide, type Decision, type Why } from './decide'
import type { AuthValues } from './auth-values'
import type { AuthenticationEvents } from './authentication-events'

export interface AReqDeps {
  db: Db
  /** Writes of one event-loop turn share a commit (store/group-commit.ts). */
  commits: GroupCommit
  vault: Vault
  log: Logger
  issuers: IssuerRepository
  cardholders: CardholderRepository
  keys: AcsKeyStore
  rules: RuleSetStore
  ledger: Ledger
  alarms: Alarms
  settings: AcsSettingsStore
  challenges: ChallengeStore
  authValues: AuthValues
  methods: ReadonlyMap<string, AuthenticationMethod>
  events: AuthenticationEvents
  trustList: TrustList
}

/**
 * The result of a decoupled authentication must reach the requestor within its threeDSRequestorDecMaxTime: the
 * ACS stops waiting this much earlier, for the timer scan and the RReq's way through the DS.
 */
const DECOUPLED_DELIVERY_MARGIN_S = 10

const CHANNEL: Record<string, Channel> = { '01': 'app', '02': 'browser', '03': '3ri' }
const DECOUPLED_INFO: Record<string, string> = {
  en: 'Approve this payment by replying to the SMS from your bank.',
  fr: 'Validez ce paiement en répondant au SMS de votre banque.',
  de: 'Bestätigen Sie die Zahlung, indem Sie auf die SMS Ihrer Bank antworten.',
}

/**
 * What the SDK can render of the method's challenge, in our order of preference: its native UI (a code entry,
 * acsUiType 01, or an out-of-band wait, 04, for a method that authenticates out of band), then HTML (05).
 */
function renderingFor(areq: AReq, outOfBand: boolean): AcsRenderingType | undefined {
  const dro = areq.deviceRenderOptions
  if (!dro) return undefined
  const native = dro.sdkInterface === '01' || dro.sdkInterface === '03'
  const html = dro.sdkInterface === '02' || dro.sdkInterface === '03'
  const nativeUi = outOfBand ? '04' : '01'
  if (native && dro.sdkUiType.includes(nativeUi)) return { acsInterface: '01', acsUiTemplate: nativeUi }
  if (html && dro.sdkUiType.includes('05')) return { acsInterface: '02', acsUiTemplate: '05' }
  return undefined
}

/**
 * AReq → ARes (or Erro): validation, card range and keys, card lookup, the decision, authentication values
 * or the challenge set-up, then one database transaction recording the transaction, both messages, the
 * statistics and the challenge state. Nothing here throws to the HTTP layer: an unexpected failure
 * becomes an Erro (`systemFailure`: 403 transient, 404 for a lasting storage fault) and an alarm.
 */
export class AReqHandler {
  private readonly statusReason
  constructor(private readonly d: AReqDeps) {
    this.statusReason = d.db
      .prepare(
        `SELECT coalesce(c.status_reason, h.status_reason) FROM cards c JOIN cardholders h ON h.id = c.cardholder_id WHERE c.id = ?`,
      )
      .pluck()
  }

  /**
   * `ds`: for an AReq that came over the mutual-TLS listener, the directory server that sent it. A card of a
   * scheme whose DS CAs did not certify it gets Erro 303 (a Mastercard DS does not speak for Visa cards);
   * otherwise its certificate is recorded with the transaction.
   */
  async handle(raw: string, origin: string, ds?: DsPeer): Promise<object> {
    let areq: AReq | undefined
    try {
      const parsed = parseAReq(raw, { allowHttpLoopback: true })
      if (!parsed.ok) return this.rejected(raw, parsed.erro)
      areq = parsed.areq
      return await this.answer(areq, raw, origin, ds)
    } catch (err) {
      this.d.log.error({ err: maskPansInText(String(err)) }, 'AReq processing failed')
      const erro = buildErro({
        ...systemFailure(err),
        messageType: 'AReq',
        messageVersion: areq?.messageVersion ?? '2.2.0',
        ids: areq,
      })
      try {
        this.d.alarms.raise(
          'areq-failure',
          'acs',
          'An AReq could not be processed; see the server log',
          'warning',
        )
        return this.rejected(raw, erro) // stored and counted as unavailable, like any Erro
      } catch {
        return erro // the store itself failing (the alarm with it): the answer still goes out
      }
    }
  }

  /** Stores what can be stored of a rejected AReq (masked) and counts it for its brand when the card is known. */
  private rejected(raw: string, erro: Erro): Erro {
    let body: string
    let pan: unknown
    try {
      const msg = JSON.parse(raw) as Record<string, unknown>
      pan = msg.acctNumber
      const masked =
        typeof pan === 'string' || typeof pan === 'number'
          ? { ...msg, acctNumber: maskPan(String(pan)) }
          : msg
      // A malformed message may carry a PAN anywhere (nested, in the wrong field): none is stored in clear.
      body = maskPansInText(JSON.stringify(masked))
    } catch {
      body = JSON.stringify({ unparseable: maskPansInText(raw.slice(0, 2000)) })
    }
    const range =
      typeof pan === 'string' && /^\d{12,19}$/.test(pan) ? this.d.issuers.findRange(pan) : undefined
    const ids = { threeDSServerTransID: erro.threeDSServerTransID }
    this.d.db.transaction(() => {
      this.d.ledger.message(ids, 'AReq', 'in', body)
      this.d.ledger.message(ids, 'Erro', 'out', erro)
      if (range) this.d.ledger.erro(range.brand, range.issuerId)
    })()
    return erro
  }

  private async answer(areq: AReq, raw: string, origin: string, ds: DsPeer | undefined): Promise<object> {
    const pan = areq.acctNumber
    const range = this.d.issuers.findRange(pan)
    if (range && ds && !ds.brands.includes(range.brand)) {
      this.d.log.warn(
        { brand: range.brand, dsCertificate: ds.subject, sha256: ds.sha256 },
        'AReq refused: the directory server is not certified for this scheme',
      )
      return this.rejected(
        JSON.stringify(areq),
        buildErro({
          code: '303',
          detail: `a ${range.brand} card from a directory server certified for ${ds.brands.join(', ') || 'no scheme'}`,
          messageType: 'AReq',
          messageVersion: areq.messageVersion,
          ids: areq,
        }),
      )
    }
    if (range?.production) {
      for (const field of ['dsURL', 'threeDSServerURL', 'notificationURL'] as const) {
        const v = areq[field]
        if (typeof v === 'string' && !isEndpointUrl(v, {}))
          return this.rejected(
            JSON.stringify(areq),
            buildErro({
              code: '203',
              detail: field,
              messageType: 'AReq',
              messageVersion: areq.messageVersion,
              ids: areq,
            }),
          )
      }
    }
    const now = Date.now()
    // A time-ordered UUID (RFC 9562 version 7, still 122 bits of uniqueness, 74 of them random): every table
    // and index keyed by acsTransID (the ledger, its messages, the fraud alert, the SMS) then grows at its
    // right edge instead of dirtying a random page per key — measured 126 kB written per AReq with random
    // (version 4) ids.
    const acsTransID = timeOrderedUuid()
    const cardKey = this.d.vault.panLookup(pan)
    const card = range ? this.d.cardholders.findByLookup(cardKey) : undefined
    let decision: Decision
    let generatorMissing = false
    let trust: TrustCheck | undefined
    /** The merchant a challenge may offer to trust: only when the card's rule set consults the trust list. */
    let trustable: MerchantIdentity | undefined
    if (!range) {
      decision = {
        transStatus: 'N',
        transStatusReason: '08',
        why: { ruleId: 'no-range', reason: 'no card range covers this card' },
      }
    } else if (!this.d.keys.generatorFor(range)) {
      // Fail closed: without keys no authentication value can be produced, so no Y/A may be given either.
      generatorMissing = true
      decision = {
        transStatus: 'U',
        transStatusReason: '22',
        why: { ruleId: 'range-keys', reason: 'card range has no authentication-value keys' },
      }
    } else {
      const reason =
        card && (card.cardStatus !== 'active' || card.cardholderStatus !== 'active')
          ? (this.statusReason.get(card.cardId) as string | null)
          : null
      const ruleSet = this.d.rules.forCard(range.issuerId, pan)
      const merchant = merchantIdentity(areq)
      trust = this.d.trustList.check(card?.cardId, merchant)
      if (ruleSet.usesTrustList) trustable = merchant
      decision = decide({
        areq,
        card,
        cardStatus: cardStatusOf(card, reason ?? undefined),
        ruleSet,
        facts: this.facts(card, cardKey, reason ?? undefined, trust),
        methods: this.d.methods,
      })
    }
    if (generatorMissing && range)
      this.d.alarms.raise(
        'range-keys-missing',
        `range:${range.id}`,
        `Card range ${range.startPrefix}-${range.endPrefix} (${range.brand}) has no authentication-value keys: AReqs answered U/22`,
      )

    const issuer = range ? this.d.issuers.getIssuer(range.issuerId) : undefined
    const built = await this.outcome(areq, decision, range, card, acsTransID, origin, trustable)
    decision = built.decision
    const ares = buildARes({
      areq,
      acsTransID,
      acsReferenceNumber: issuer?.acsReferenceNumber ?? 'ACS',
      acsOperatorID: issuer?.acsOperatorId,
      outcome: built.outcome,
      allowHttpLoopback: !range?.production,
      // Said only when the decision looked the pair up and found it (the field exists from 2.2.0 on).
      whiteListStatus:
        trust?.outcome === true && versionAtLeast(areq.messageVersion, '2.2.0')
          ? { status: 'Y', source: '03' }
          : undefined,
    })
    const aresText = serializeMessage(ares)
    const brand = (range?.brand ?? 'other') as Brand
    await this.d.commits.run(() => {
      this.d.ledger.open({
        acsTransID,
        createdAt: now,
        messageVersion: areq.messageVersion,
        messageCategory: areq.messageCategory,
        channel: CHANNEL[areq.deviceChannel] ?? 'browser',
        brand,
        issuerId: range?.issuerId ?? 0,
        rangeId: range?.id,
        cardId: card?.cardId,
        cardKey,
        panMasked: maskPan(pan),
        threeDSServerTransID: areq.threeDSServerTransID,
        dsTransID: areq.dsTransID,
        sdkTransID: areq.sdkTransID,
        dsURL: areq.dsURL,
        merchantName: areq.merchantName,
        acquirerMerchantID: areq.acquirerMerchantID,
        mcc: areq.mcc,
        amount: areq.purchaseAmount ? Number(areq.purchaseAmount) : undefined,
        currency: areq.purchaseCurrency,
        exponent: areq.purchaseExponent ? Number(areq.purchaseExponent) : undefined,
        aresStatus: ares.transStatus,
        transStatusReason:
          'transStatusReason' in ares ? (ares.transStatusReason as string | undefined) : undefined,
        eci: ares.eci as string | undefined,
        method:
          decision.transStatus === 'C' || decision.transStatus === 'D' ? decision.method.name : undefined,
        ruleSetId: decision.why.ruleSetId,
        ruleSetVersion: decision.why.ruleSetVersion,
        ruleId: decision.why.ruleId,
        decisionReason: decision.why.reason,
        dsCertificate: ds && { subject: ds.subject, sha256: ds.sha256 },
      })
      const ids = { acsTransID, threeDSServerTransID: areq.threeDSServerTransID }
      this.d.ledger.message(ids, 'AReq', 'in', maskedReceived(raw, areq), now)
      this.d.ledger.message(ids, 'ARes', 'out', aresText, now)
      built.commit?.()
      // Challenges are reported when they end (ChallengeFlow.end).
      if (card && range && built.outcome.transStatus !== 'C' && built.outcome.transStatus !== 'D')
        this.d.events.emit({
          acsTransID,
          issuerId: range.issuerId,
          cardId: card.cardId,
          cardholderId: card.cardholderId,
          cardStatus: card.cardStatus === 'active' ? card.cardholderStatus : card.cardStatus,
          mobile: card.mobile,
          language: card.language,
          panMasked: card.panMasked,
          merchantName: areq.merchantName,
          purchaseAmount: areq.purchaseAmount,
          purchaseCurrency: areq.purchaseCurrency,
          purchaseExponent: areq.purchaseExponent,
          amountText: formatAmount(areq.purchaseAmount, areq.purchaseCurrency, areq.purchaseExponent),
          transStatus: String(ares.transStatus),
          challenged: false,
        })
    })
    return ares
  }

  private facts(
    card: CardRecord | undefined,
    cardKey: Buffer,
    reason: string | undefined,
    trust: TrustCheck,
  ): HistoryFacts {
    return {
      cardStatus: () => cardStatusOf(card, reason),
      countInWindow: (w) => this.d.ledger.countInWindow(cardKey, w),
      amountInWindow: (w, currency) => this.d.ledger.amountInWindow(cardKey, w, currency),
      // The ACS's own list only. The AReq's whiteListStatus is the requestor's claim (its own list, or the
      // DS's): it stays in the stored AReq for investigations but grants nothing, since the cardholder never
      // gave that consent to the issuer.
      isTrustedMerchant: () => trust.isTrusted(),
    }
  }

  /**
   * Turns a decision into ARes content. Y/A get their authentication value; C/D set up the challenge
   * (returned as a `commit` to run inside the AReq's database transaction). When the channel cannot carry
   * the decided outcome the decision is downgraded (and says why).
   */
  private async outcome(
    areq: AReq,
    decision: Decision,
    range: ResolvedRange | undefined,
    card: CardRecord | undefined,
    acsTransID: string,
    origin: string,
    trustable: MerchantIdentity | undefined,
  ): Promise<{ outcome: AResOutcome; decision: Decision; commit?: () => void }> {
    const fail = (reason: string, why: Why, note: string) => {
      const d: Decision = {
        transStatus: 'U',
        transStatusReason: reason,
        why: { ...why, reason: `${why.reason}; ${note}` },
      }
      return { outcome: { transStatus: 'U' as const, transStatusReason: reason }, decision: d }
    }
    switch (decision.transStatus) {
      case 'N':
      case 'U':
      case 'R':
        return {
          outcome: { transStatus: decision.transStatus, transStatusReason: decision.transStatusReason },
          decision,
        }
      case 'I':
        return { outcome: { transStatus: 'I' }, decision }
      case 'Y':
      case 'A': {
        const av = this.d.authValues.generate(range!, {
          pan: areq.acctNumber,
          transStatus: decision.transStatus,
          messageCategory: areq.messageCategory,
          method: decision.transStatus === 'Y' ? 'frictionless-rba' : 'attempts',
          dsTransID: areq.dsTransID,
          merchantName: areq.merchantName,
          purchaseAmount: areq.purchaseAmount,
          purchaseCurrency: areq.purchaseCurrency,
        })
        // Mastercard defines no attempts ECI for non-payment authentication: report not enrolled instead.
        if (!av.eci)
          return {
            outcome: { transStatus: 'N', transStatusReason: '13' },
            decision: { transStatus: 'N', transStatusReason: '13', why: decision.why },
          }
        return {
          outcome: {
            transStatus: decision.transStatus,
            authenticationValue: av.authenticationValue,
            eci: av.eci,
          },
          decision,
        }
      }
    }
    const settings = this.d.settings.get()
    const base = settings.publicBaseUrl ?? origin
    const now = Date.now()
    const context: ChallengeContext = {
      messageVersion: areq.messageVersion,
      messageCategory: areq.messageCategory,
      deviceChannel: areq.deviceChannel,
      threeDSServerTransID: areq.threeDSServerTransID,
      dsTransID: areq.dsTransID,
      sdkTransID: areq.sdkTransID,
      dsURL: areq.dsURL,
      notificationURL: areq.notificationURL,
      brand: range!.brand as Brand,
      issuerId: range!.issuerId,
      rangeId: range!.id,
      cardId: card!.cardId,
      cardholderId: card!.cardholderId,
      panMasked: card!.panMasked,
      language: card!.language,
      browserLanguage: areq.browserLanguage,
      merchantName: areq.merchantName,
      purchaseAmount: areq.purchaseAmount,
      purchaseCurrency: areq.purchaseCurrency,
      purchaseExponent: areq.purchaseExponent,
      amountText: formatAmount(areq.purchaseAmount, areq.purchaseCurrency, areq.purchaseExponent),
    }
    const method = decision.method
    if (decision.transStatus === 'D') {
      const maxMinutes = Number(areq.threeDSRequestorDecMaxTime ?? '0')
      const waitSeconds = Math.min(
        maxMinutes > 0 ? maxMinutes * 60 - DECOUPLED_DELIVERY_MARGIN_S : settings.decoupledDefaultSeconds,
        settings.decoupledCapSeconds,
      )
      const language = DECOUPLED_INFO[card!.language] ? card!.language : 'en'
      return {
        outcome: {
          transStatus: 'D',
          cardholderInfo: DECOUPLED_INFO[language],
          acsChallengeMandated: decision.mandated ? 'Y' : 'N',
        },
        decision,
        commit: () => {
          const subject = {
            acsTransID,
            mobile: card!.mobile!,
            language: card!.language,
            panMasked: card!.panMasked,
            issuerId: range!.issuerId,
            cardholderId: card!.cardholderId,
            merchantName: areq.merchantName,
            amountText: context.amountText,
          }
          const step = method.start(subject, 'decoupled')
          this.d.challenges.insert(
            {
              acsTransID,
              mode: 'decoupled',
              method: method.name,
              status: 'active',
              mobile: card!.mobile!,
              context,
              methodState: step.state,
              prompt: step.prompt,
              interactionCounter: 0,
              deadlineAt: now + waitSeconds * 1000,
              deadlineKind: 'decoupled',
            },
            undefined,
          )
        },
      }
    }
    // The offer needs a name the cardholder recognises, and fields that exist only from 2.2.0 on.
    if (trustable?.merchantName && settings.trustListOffer && versionAtLeast(areq.messageVersion, '2.2.0'))
      context.trustListOffer = trustable
    const mandated = decision.mandated ? 'Y' : 'N'
    const firstCReqDeadline = now + settings.firstCReqTimeoutSeconds * 1000
    const insert = (mode: 'browser' | 'app', cek?: Buffer) => () =>
      this.d.challenges.insert(
        {
          acsTransID,
          mode,
          method: method.name,
          status: 'awaiting-creq',
          mobile: card!.mobile!,
          context,
          methodState: {},
          interactionCounter: 0,
          appState: cek ? INITIAL_APP_CHANNEL_STATE : undefined,
          deadlineAt: firstCReqDeadline,
          deadlineKind: 'first-creq',
        },
        cek,
      )
    if (areq.deviceChannel !== DeviceChannel.APP) {
      return {
        outcome: {
          transStatus: 'C',
          acsChallengeMandated: mandated,
          authenticationType: method.authenticationType,
          acsURL: `${base}/acs/v2/challenge`,
        },
        decision,
        commit: insert('browser'),
      }
    }
    const outOfBand = method.outOfBand?.(range?.issuerId) ?? method.authenticationType === '03'
    const rendering = renderingFor(areq, outOfBand)
    if (!rendering)
      return fail(
        '03',
        decision.why,
        `the SDK cannot render ${outOfBand ? 'an out-of-band wait' : 'a code entry'} (native) or HTML`,
      )
    const signer = this.d.keys.signerFor(range!.brand)
    if (!signer) {
      this.d.alarms.raise(
        'signing-key-missing',
        `brand:${range!.brand}`,
        `No app-channel signing key for ${range!.brand}: app challenges answered U/22`,
      )
      return fail('22', decision.why, 'no signing key for the brand')
    }
    const channel = establishAppChannel(areq.sdkEphemPubKey!, areq.sdkReferenceNumber!)
    const acsSignedContent = await signAcsContent(
      {
        acsURL: `${base}/acs/v2/app`,
        acsEphemPubKey: channel.acsEphemPubKey,
        sdkEphemPubKey: areq.sdkEphemPubKey!,
      },
      signer,
    )
    context.acsRenderingType = rendering
    return {
      outcome: {
        transStatus: 'C',
        acsChallengeMandated: mandated,
        authenticationType: method.authenticationType,
        acsSignedContent,
        acsRenderingType: rendering,
      },
      decision,
      commit: insert('app', channel.cek),
    }
  }
}
