import type { CardRecord } from '../../enrolment/repository'
import type { AuthenticationMethod } from '../../auth-methods/method'
import { chooseMethod } from '../../auth-methods/choose'
import { evaluate, type CardStatus, type CompiledRuleSet, type HistoryFacts } from '../../risk/evaluate'
import type { AReq } from '../protocol/areq'
import { DeviceChannel, versionAtLeast } from '../protocol/versions'

/**
 * What the ACS answers to an AReq, before any message is built: the card's own state first (blocked cards
 * are refused without a challenge, unknown cards get attempts), then the issuer's rule set, then what the
 * cardholder and the channel can actually do. Every decision names the rule that produced it.
 */
export type Decision =
  | { transStatus: 'Y' | 'A' | 'I'; why: Why }
  | { transStatus: 'N' | 'U' | 'R'; transStatusReason: string; why: Why }
  | { transStatus: 'C' | 'D'; mandated: boolean; method: AuthenticationMethod; why: Why }

export interface Why {
  ruleId: string
  ruleSetId?: string
  ruleSetVersion?: number
  reason: string
}

const rule = (ruleId: string, reason: string): Why => ({ ruleId, reason })

/** Card and cardholder statuses as the risk rules name them. */
export function cardStatusOf(
  card: CardRecord | undefined,
  statusReason: string | undefined,
  now = new Date(),
): CardStatus {
  if (!card) return 'not-enrolled'
  const statuses = [card.cardStatus, card.cardholderStatus]
  if (statuses.includes('blocked') || statuses.includes('closed'))
    return /stolen/i.test(statusReason ?? '') ? 'stolen' : 'lost'
  if (statuses.includes('suspended')) return 'suspended-fraud'
  const yymm = `${String(now.getUTCFullYear() % 100).padStart(2, '0')}${String(now.getUTCMonth() + 1).padStart(2, '0')}`
  if (card.expiry < yymm) return 'expired'
  return 'active'
}

export interface DecideInput {
  areq: AReq
  card: CardRecord | undefined
  cardStatus: CardStatus
  ruleSet: CompiledRuleSet
  facts: HistoryFacts
  methods: ReadonlyMap<string, AuthenticationMethod>
}

/**
 * What a card that is not active gets, before any rule: the issuer's rule set only ever sees active cards (a
 * rule naming another status is refused when the rule set is validated, risk/validate.ts).
 */
export const BEFORE_THE_RULES: Record<
  Exclude<CardStatus, 'active'>,
  Decision & { transStatus: 'A' | 'R' | 'N' }
> = {
  'not-enrolled': { transStatus: 'A', why: rule('not-enrolled', 'card in range but not enrolled: attempts') },
  'suspended-fraud': {
    transStatus: 'R',
    transStatusReason: '11',
    why: rule('card-status', 'card suspended (suspected fraud)'),
  },
  stolen: { transStatus: 'R', transStatusReason: '10', why: rule('card-status', 'card blocked as stolen') },
  lost: { transStatus: 'R', transStatusReason: '12', why: rule('card-status', 'card blocked or closed') },
  expired: { transStatus: 'N', transStatusReason: '05', why: rule('card-status', 'card expired') },
}

export function decide({ areq, card, cardStatus, ruleSet, facts, methods }: DecideInput): Decision {
  if (cardStatus !== 'active') return BEFORE_THE_RULES[cardStatus]
  const d = evaluate(ruleSet, areq, facts)
  const why: Why = {
    ruleId: d.ruleId,
    ruleSetId: d.ruleSetId,
    ruleSetVersion: d.ruleSetVersion,
    reason: d.reason,
  }
  if (d.transStatus === 'Y' || d.transStatus === 'A') return { transStatus: d.transStatus, why }
  if (d.transStatus !== 'C')
    return { transStatus: d.transStatus, transStatusReason: d.transStatusReason ?? '01', why }

  // A challenge the transaction cannot carry (the default outcome is not filtered by evaluate()).
  if (areq.deviceChannel === DeviceChannel.THREE_RI)
    return {
      transStatus: 'U',
      transStatusReason: '21',
      why: { ...why, reason: `${why.reason}; 3RI cannot be challenged` },
    }
  if (areq.threeDSRequestorChallengeInd === '06' && versionAtLeast(areq.messageVersion, '2.2.0'))
    return { transStatus: 'I', why: { ...why, reason: `${why.reason}; data share only` } }
  if (card!.method === 'none')
    return {
      transStatus: 'Y',
      why: { ...why, reason: `${why.reason}; cardholder has no challenge method: frictionless` },
    }
  const chosen = chooseMethod(methods, card!)
  if (!chosen)
    return {
      transStatus: 'U',
      transStatusReason: '22',
      why: { ...why, reason: `${why.reason}; method ${card!.method} unavailable` },
    }
  const { method, note } = chosen
  const decoupled =
    areq.threeDSRequestorDecReqInd === 'Y' &&
    versionAtLeast(areq.messageVersion, '2.2.0') &&
    method.modes.includes('decoupled')
  const noted = note ? { ...why, reason: `${why.reason}; ${note}` } : why
  return { transStatus: decoupled ? 'D' : 'C', mandated: d.challengeMandated ?? true, method, why: noted }
}
