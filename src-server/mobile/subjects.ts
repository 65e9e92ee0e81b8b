import type { AcsRuntime } from '../acs/runtime'
import { challengeEvent, type AuthenticationEvent } from '../acs/service/authentication-events'
import type { Ending } from '../acs/service/challenge-flow'
import type { Challenge } from '../acs/service/challenge-store'
import type { ChannelAuthService } from '../channels/auth-requests'
import type { Channel } from '../channels/model'
import type { ApprovalReference, Decision } from './canonical'

/** What an approval is about: a 3-D Secure challenge, or an authentication request of the channel API. */
export type SubjectKind = '3ds' | 'channel'

/** An approval's subject as the authenticator shows it and signs it. No PAN: the mask only. */
export interface SubjectFacts {
  cardId: number
  /** Still waiting for the cardholder (a challenge not ended, a request pending and within its deadline). */
  open: boolean
  reference: ApprovalReference
  channel?: Channel
  merchant: string
  /** Minor units (digits), or '-'; exponent and currency as the canonical record takes them. */
  amount: string
  exponent: string
  currency: string
  amountText?: string
  panMasked: string
  /** The "this wasn't me" report: the authentication as the fraud service records a disowned one. */
  disowned(cardholderId: number): AuthenticationEvent & { mobile: string }
}

/** How a decision ended its subject; undefined from `finish` when the subject had ended meanwhile. */
export interface Finished {
  /** The 3-D Secure result the RReq carries (absent for a channel request). */
  transStatus?: string
  /** What to do once the decision's transaction committed. */
  afterCommit(): void
}

/**
 * One kind of subject: how to read it, and how the cardholder's signed decision ends it. `finish` runs inside
 * the decision's database transaction; when it returns undefined the decision is refused and nothing is
 * recorded.
 */
export interface ApprovalSubjects {
  facts(ref: string, now: number): SubjectFacts | undefined
  finish(ref: string, decision: Decision, now: number): Finished | undefined
}

const ENDINGS: Record<Decision, Ending> = {
  approve: { transStatus: 'Y' },
  decline: { transStatus: 'N', transStatusReason: '01' },
  // "This wasn't me": refused as suspected fraud, and the card is suspended before the RReq leaves.
  fraud: { transStatus: 'N', transStatusReason: '11' },
}

/** The exponent of the amount: the AReq's own when the challenge kept it, else read off the display text. */
function exponentOf(c: Challenge['context']): string {
  if (!c.purchaseAmount) return '-'
  const kept = (c as { purchaseExponent?: string }).purchaseExponent
  if (kept !== undefined && /^\d$/.test(kept)) return kept
  return String(/\.(\d+)$/.exec(c.amountText ?? '')?.[1].length ?? 0)
}

/**
 * ACS challenges: the decision ends the challenge through the ACS flow's own ending, the one SMS replies
 * use, so the browser page, the app's oobContinue and decoupled all see the result; the RReq is queued in the
 * same transaction and sent once it committed.
 */
export function threeDSSubjects(acs: AcsRuntime): ApprovalSubjects {
  return {
    facts(ref) {
      const ch = acs.challenges.get(ref)
      if (!ch) return undefined
      const c = ch.context
      return {
        cardId: c.cardId,
        open: ch.status !== 'ended',
        reference: { acsTransID: ch.acsTransID },
        merchant: c.merchantName ?? '',
        amount: c.purchaseAmount ?? '-',
        exponent: exponentOf(c),
        currency: c.purchaseAmount ? (c.purchaseCurrency ?? '-') : '-',
        amountText: c.amountText,
        panMasked: c.panMasked,
        disowned: (cardholderId) =>
          challengeEvent(ch, ENDINGS.fraud.transStatus, ch.mode !== 'decoupled', cardholderId),
      }
    },
    finish(ref, decision) {
      const ch = acs.challenges.get(ref)
      if (!ch || ch.status === 'ended') return undefined
      // The tap is the cardholder's interaction with a browser or app challenge; decoupled counts none.
      const counted = ch.mode === 'decoupled' ? ch : { ...ch, interactionCounter: ch.interactionCounter + 1 }
      const outboxId = acs.flow.end(counted, ENDINGS[decision])
      if (outboxId === undefined) return undefined
      return {
        transStatus: ENDINGS[decision].transStatus,
        afterCommit: () => void acs.outbox.deliver(outboxId),
      }
    },
  }
}

/** "49.90" → amount "4990", exponent "2": the decimal as the merchant sent it, without loss. */
function minorUnits(decimal: string): { amount: string; exponent: string } {
  const [units, fraction = ''] = decimal.split('.')
  return { amount: `${units}${fraction}`.replace(/^0+(?=\d)/, ''), exponent: String(fraction.length) }
}

/**
 * Channel API requests (MOTO, EDC, ECOM): approve authenticates the request, decline and "this wasn't me"
 * refuse it; the client sees the result by GET and by its webhook, as with the other methods.
 */
export function channelSubjects(requests: ChannelAuthService): ApprovalSubjects {
  return {
    facts(ref, now) {
      const r = requests.approvalSubject(ref, now)
      if (!r) return undefined
      const amountText = `${r.currency} ${r.amount}`
      return {
        cardId: r.cardId,
        open: r.open,
        reference: { authRequest: r.id },
        channel: r.channel,
        merchant: r.merchant,
        ...minorUnits(r.amount),
        currency: r.currency,
        amountText,
        panMasked: r.panMasked,
        disowned: (cardholderId) => ({
          // The fraud report names the channel request where a 3-D Secure one names the transaction.
          acsTransID: r.id,
          issuerId: r.issuerId,
          cardId: r.cardId,
          cardholderId,
          cardStatus: 'active',
          mobile: r.mobile ?? '',
          language: r.language,
          panMasked: r.panMasked,
          merchantName: r.merchant,
          amountText,
          transStatus: 'N',
          challenged: true,
        }),
      }
    },
    finish(ref, decision, now) {
      const concluded = requests.conclude(ref, decision === 'approve' ? 'authenticated' : 'refused', now)
      return concluded ? { afterCommit: () => undefined } : undefined
    },
  }
}
