import type { Db } from '../../store/db'
import type { Vault } from '../../crypto/vault'
import type { AppChannelState } from '../app-channel/session'
import type { AcsRenderingType } from '../protocol/ares'
import type { ChallengeWindowSize } from '../protocol/creq'
import type { MessageVersion } from '../protocol/versions'
import type { ChallengeMode, MethodState, Prompt } from '../../auth-methods/method'
import type { Brand } from '../auth-values/eci'
import type { MerchantIdentity } from '../trust-list/merchant'

/** Everything a challenge needs from its AReq, kept so it can finish after a restart. No PAN. */
export interface ChallengeContext {
  messageVersion: MessageVersion
  messageCategory: string
  deviceChannel: string
  threeDSServerTransID: string
  dsTransID: string
  sdkTransID?: string
  dsURL: string
  notificationURL?: string
  brand: Brand
  issuerId: number
  rangeId: number
  cardId: number
  /** Absent on challenges stored before it was recorded. */
  cardholderId?: number
  panMasked: string
  language: string
  browserLanguage?: string
  merchantName?: string
  purchaseAmount?: string
  purchaseCurrency?: string
  purchaseExponent?: string
  amountText?: string
  acsRenderingType?: AcsRenderingType
  /**
   * The merchant the cardholder may choose to trust on a code-entry screen; absent when no offer is made
   * (before 2.2.0, offer switched off, a rule set that ignores the trust list, no merchant name).
   */
  trustListOffer?: MerchantIdentity
}

export interface Challenge {
  acsTransID: string
  mode: ChallengeMode
  method: string
  status: 'awaiting-creq' | 'active' | 'ended'
  mobile: string
  context: ChallengeContext
  methodState: MethodState
  prompt?: Prompt
  nonce?: string
  sessionData?: string
  windowSize?: ChallengeWindowSize
  appState?: AppChannelState
  interactionCounter: number
  deadlineAt?: number
  deadlineKind?: DeadlineKind
}

export type DeadlineKind = 'first-creq' | 'challenge' | 'decoupled'

interface Row {
  acs_trans_id: string
  mode: ChallengeMode
  method: string
  status: Challenge['status']
  mobile: string
  context: string
  method_state: string
  nonce: string | null
  session_data: string | null
  window_size: string | null
  app_state: string | null
  interaction_counter: number
  deadline_at: number | null
  deadline_kind: DeadlineKind | null
}

/** The challenges table: one row per challenged (or decoupled) transaction, updated at every step. */
export class ChallengeStore {
  private readonly byId
  private readonly save
  private readonly end
  private readonly expired
  private readonly pendingForMobile
  private readonly endedForMobile

  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
  ) {
    this.byId = db.prepare('SELECT * FROM acs_challenges WHERE acs_trans_id = ?')
    this.save = db.prepare(
      `UPDATE acs_challenges SET status = @status, method_state = @methodState, nonce = @nonce, session_data = @sessionData,
         window_size = @windowSize, app_state = @appState, interaction_counter = @interactionCounter,
         deadline_at = @deadlineAt, deadline_kind = @deadlineKind, updated_at = @now
       WHERE acs_trans_id = @acsTransID AND status != 'ended'`,
    )
    this.end = db.prepare(
      `UPDATE acs_challenges SET status = 'ended', deadline_at = NULL, interaction_counter = ?, updated_at = ?
       WHERE acs_trans_id = ? AND status != 'ended'`,
    )
    this.expired = db
      .prepare(
        `SELECT acs_trans_id FROM acs_challenges WHERE status != 'ended' AND deadline_at <= ? ORDER BY deadline_at LIMIT 50`,
      )
      .pluck()
    this.pendingForMobile = db
      .prepare(
        `SELECT acs_trans_id FROM acs_challenges WHERE status = 'active' AND mobile = ?
         ORDER BY created_at DESC LIMIT 20`,
      )
      .pluck()
    this.endedForMobile = db
      .prepare(
        `SELECT acs_trans_id FROM acs_challenges WHERE status = 'ended' AND mobile = ? AND created_at >= ?
         ORDER BY created_at DESC LIMIT 20`,
      )
      .pluck()
  }

  insert(c: Challenge, appCek: Buffer | undefined, now = Date.now()): void {
    this.db
      .prepare(
        `INSERT INTO acs_challenges (acs_trans_id, mode, method, status, mobile, context, method_state, app_cek, app_state,
           interaction_counter, deadline_at, deadline_kind, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
      )
      .run(
        c.acsTransID,
        c.mode,
        c.method,
        c.status,
        c.mobile,
        JSON.stringify(c.context),
        JSON.stringify({ state: c.methodState, prompt: c.prompt }),
        appCek ? this.vault.seal('secret-enc', appCek, `cek:${c.acsTransID}`) : null,
        c.appState ? JSON.stringify(c.appState) : null,
        c.deadlineAt ?? null,
        c.deadlineKind ?? null,
        now,
        now,
      )
  }

  get(acsTransID: string): Challenge | undefined {
    const r = this.byId.get(acsTransID) as Row | undefined
    if (!r) return undefined
    const ms = JSON.parse(r.method_state) as { state: MethodState; prompt?: Prompt }
    return {
      acsTransID: r.acs_trans_id,
      mode: r.mode,
      method: r.method,
      status: r.status,
      mobile: r.mobile,
      context: JSON.parse(r.context) as ChallengeContext,
      methodState: ms.state,
      prompt: ms.prompt,
      nonce: r.nonce ?? undefined,
      sessionData: r.session_data ?? undefined,
      windowSize: (r.window_size as ChallengeWindowSize | null) ?? undefined,
      appState: r.app_state ? (JSON.parse(r.app_state) as AppChannelState) : undefined,
      interactionCounter: r.interaction_counter,
      deadlineAt: r.deadline_at ?? undefined,
      deadlineKind: r.deadline_kind ?? undefined,
    }
  }

  /** The app channel's content-encryption key, unsealed. */
  cek(acsTransID: string): Buffer | undefined {
    const sealed = this.db
      .prepare('SELECT app_cek FROM acs_challenges WHERE acs_trans_id = ?')
      .pluck()
      .get(acsTransID) as Buffer | null | undefined
    return sealed ? this.vault.open(sealed, `cek:${acsTransID}`) : undefined
  }

  /** Saves a step; false when the challenge ended meanwhile (a timer fired). */
  update(c: Challenge, now = Date.now()): boolean {
    return (
      this.save.run({
        acsTransID: c.acsTransID,
        status: c.status,
        methodState: JSON.stringify({ state: c.methodState, prompt: c.prompt }),
        nonce: c.nonce ?? null,
        sessionData: c.sessionData ?? null,
        windowSize: c.windowSize ?? null,
        appState: c.appState ? JSON.stringify(c.appState) : null,
        interactionCounter: c.interactionCounter,
        deadlineAt: c.deadlineAt ?? null,
        deadlineKind: c.deadlineKind ?? null,
        now,
      }).changes > 0
    )
  }

  /** Marks it ended; false when it already was (then no second result may be recorded). */
  markEnded(acsTransID: string, interactionCounter: number, now = Date.now()): boolean {
    return this.end.run(interactionCounter, now, acsTransID).changes > 0
  }

  dueBefore(now: number): string[] {
    return this.expired.all(now) as string[]
  }

  /** The challenges waiting for a cardholder with this number, newest first (SMS reply matching). */
  activeFor(mobile: string): Challenge[] {
    return (this.pendingForMobile.all(mobile) as string[]).flatMap((id) => this.get(id) ?? [])
  }

  /** This number's challenges that ended since `since`, newest first (a late reply is recorded as expired). */
  endedFor(mobile: string, since: number): Challenge[] {
    return (this.endedForMobile.all(mobile, since) as string[]).flatMap((id) => this.get(id) ?? [])
  }
}
