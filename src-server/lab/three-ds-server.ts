import { createHash, randomUUID } from 'node:crypto'
import { z } from 'zod'
import { maskPan } from '../crypto/mask'
import { makeAReq } from '../acs/fixtures/areq'
import { statementCache, type Db } from '../store/db'
import { SdkEmulator } from './sdk'

/**
 * The lab's 3DS Server and directory server in one: it builds an AReq for a purchase, sends it to our own
 * ACS over real HTTP (the DS hop is a pass-through in the lab), and hands the merchant page what it needs.
 * Its DS receives the RReqs at its own loopback dsURL and answers RRes.
 */
export const PurchaseInput = z.object({
  pan: z.string().regex(/^\d{12,19}$/),
  /** Minor units. */
  amount: z.number().int().min(0).max(999_999_999),
  currency: z
    .string()
    .regex(/^\d{3}$/)
    .default('978'),
  exponent: z.number().int().min(0).max(3).default(2),
  channel: z.enum(['browser', 'app']).default('browser'),
  /** frictionless: no challenge requested; challenge: challenge mandated; decoupled: decoupled requested; auto: no preference. */
  flow: z.enum(['frictionless', 'challenge', 'decoupled', 'auto']).default('auto'),
  merchantName: z.string().min(1).max(40).default('Lab Merchant'),
  mcc: z
    .string()
    .regex(/^\d{4}$/)
    .default('5411'),
  messageVersion: z.enum(['2.1.0', '2.2.0']).default('2.2.0'),
  /** The cardholder's browser language (browser channel; 1–8 characters, BCP 47): the challenge page's. */
  browserLanguage: z
    .string()
    .regex(/^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$/)
    .max(8)
    .default('en-GB'),
  challengeWindowSize: z.enum(['01', '02', '03', '04', '05']).default('05'),
  /** Decoupled: threeDSRequestorDecMaxTime in minutes. */
  decMaxMinutes: z.number().int().min(1).max(10080).default(10),
  /** App channel: the SDK's content encryption. */
  enc: z.enum(['A128CBC-HS256', 'A128GCM']).default('A128CBC-HS256'),
})
export type PurchaseInput = z.infer<typeof PurchaseInput>

const CHALLENGE_IND: Record<PurchaseInput['flow'], string> = {
  frictionless: '02',
  challenge: '04',
  decoupled: '04',
  auto: '01',
}

export interface Purchase {
  id: string
  areq: Record<string, unknown>
  ares: Record<string, unknown>
  acsTransID?: string
  /** Browser C: what the merchant page posts into the iframe. */
  creq?: string
  threeDSSessionData?: string
  sdk?: SdkEmulator
}

export function buildLabAReq(
  input: PurchaseInput,
  origin: string,
  id: string,
  sdk?: SdkEmulator,
): Record<string, unknown> {
  const areq = makeAReq(input.messageVersion, input.channel === 'app' ? 'APP' : 'BRW', 'PA')
  const now = new Date()
  const stamp = now.toISOString().replace(/\D/g, '').slice(0, 14)
  Object.assign(areq, {
    threeDSServerTransID: randomUUID(),
    dsTransID: randomUUID(),
    dsURL: `${origin}/lab/ds/rreq`,
    threeDSRequestorURL: `${origin}/lab/merchant`,
    acctNumber: input.pan,
    purchaseAmount: String(input.amount),
    purchaseCurrency: input.currency,
    purchaseExponent: String(input.exponent),
    purchaseDate: stamp,
    merchantName: input.merchantName,
    // One acquirer merchant ID per merchant name, as distinct shops have: the ACS's trust list keys on it.
    acquirerMerchantID: `LAB-${createHash('sha256').update(input.merchantName).digest('hex').slice(0, 12).toUpperCase()}`,
    mcc: input.mcc,
    threeDSRequestorChallengeInd: CHALLENGE_IND[input.flow],
  })
  delete areq.mobilePhone
  if (input.messageVersion !== '2.1.0') areq.threeDSServerURL = `${origin}/lab/3ds-server`
  if (input.channel === 'browser') {
    areq.notificationURL = `${origin}/lab/merchant/notify/${id}`
    areq.browserLanguage = input.browserLanguage
  }
  if (input.flow === 'decoupled') {
    areq.threeDSRequestorDecReqInd = 'Y'
    areq.threeDSRequestorDecMaxTime = String(input.decMaxMinutes).padStart(5, '0')
  }
  if (sdk) {
    Object.assign(areq, {
      sdkTransID: sdk.sdkTransID,
      sdkAppID: sdk.sdkAppID,
      sdkReferenceNumber: sdk.sdkReferenceNumber,
      sdkEphemPubKey: sdk.publicJwk,
      deviceInfo: Buffer.from(
        JSON.stringify({ DV: '1.0', DD: { C001: 'Android', C002: 'Lab phone' } }),
      ).toString('base64url'),
    })
  }
  return areq
}

/** The creq form field a 3DS Server posts into the challenge iframe. */
export function browserCReq(ares: Record<string, unknown>, windowSize: string): string {
  return Buffer.from(
    JSON.stringify({
      threeDSServerTransID: ares.threeDSServerTransID,
      acsTransID: ares.acsTransID,
      challengeWindowSize: windowSize,
      messageType: 'CReq',
      messageVersion: ares.messageVersion,
    }),
  ).toString('base64url')
}

export class LabPurchases {
  /** App purchases keep their SDK emulator (its keys) in memory: the emulator plays a phone, not a server. */
  private readonly sdks = new Map<string, SdkEmulator>()

  private readonly sql: ReturnType<typeof statementCache>

  constructor(private readonly db: Db) {
    this.sql = statementCache(db)
  }

  async create(
    input: PurchaseInput,
    origin: string,
    acsOrigin: string,
    trustedRoots: () => string[],
  ): Promise<Purchase> {
    const id = randomUUID()
    const sdk = input.channel === 'app' ? new SdkEmulator(input.enc) : undefined
    const areq = buildLabAReq(input, origin, id, sdk)
    const res = await fetch(`${acsOrigin}/acs/v2/areq`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(areq),
    })
    const ares = (await res.json()) as Record<string, unknown>
    const acsTransID = typeof ares.acsTransID === 'string' ? ares.acsTransID : undefined
    const challenged = ares.messageType === 'ARes' && ares.transStatus === 'C'
    const sessionData =
      challenged && input.channel === 'browser'
        ? Buffer.from(JSON.stringify({ purchase: id, note: 'état/ü+=' })).toString('base64url')
        : undefined
    const creq =
      challenged && input.channel === 'browser' ? browserCReq(ares, input.challengeWindowSize) : undefined
    if (challenged && sdk) {
      await sdk.accept(ares, trustedRoots())
      this.sdks.set(id, sdk)
    }
    const stored = { ...areq, acctNumber: maskPan(input.pan) }
    this.db
      .prepare(
        'INSERT INTO lab_purchases (id, acs_trans_id, channel, flow, areq, ares, session_data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        id,
        acsTransID ?? null,
        input.channel,
        input.flow,
        JSON.stringify(stored),
        JSON.stringify(ares),
        sessionData ?? null,
        Date.now(),
      )
    return { id, areq: stored, ares, acsTransID, creq, threeDSSessionData: sessionData, sdk }
  }

  sdkOf(id: string): SdkEmulator | undefined {
    return this.sdks.get(id)
  }

  get(id: string) {
    const row = this.db.prepare('SELECT * FROM lab_purchases WHERE id = ?').get(id) as
      | {
          id: string
          acs_trans_id: string | null
          channel: string
          flow: string
          areq: string
          ares: string | null
          cres: string | null
          session_data: string | null
        }
      | undefined
    if (!row) return undefined
    const cres = row.cres
      ? (JSON.parse(row.cres) as { cres: string; threeDSSessionData?: string })
      : undefined
    return {
      id: row.id,
      acsTransID: row.acs_trans_id ?? undefined,
      channel: row.channel,
      flow: row.flow,
      areq: JSON.parse(row.areq) as Record<string, unknown>,
      ares: row.ares ? (JSON.parse(row.ares) as Record<string, unknown>) : undefined,
      threeDSSessionData: row.session_data ?? undefined,
      ...(cres
        ? {
            notification: {
              cres: JSON.parse(Buffer.from(cres.cres, 'base64url').toString('utf8')) as Record<
                string,
                unknown
              >,
              threeDSSessionData: cres.threeDSSessionData,
              sessionDataIntact: cres.threeDSSessionData === (row.session_data ?? undefined),
            },
          }
        : {}),
      rreqs: this.rreqs(row.acs_trans_id ?? ''),
    }
  }

  /** The merchant's notificationURL received the final CRes. */
  notified(id: string, cres: string, threeDSSessionData: string | undefined): boolean {
    return (
      this.db
        .prepare('UPDATE lab_purchases SET cres = ? WHERE id = ?')
        .run(JSON.stringify({ cres, threeDSSessionData }), id).changes > 0
    )
  }

  /** The lab DS: records an RReq and builds its RRes. */
  receiveRReq(raw: string): Record<string, unknown> {
    const rreq = JSON.parse(raw) as Record<string, unknown>
    if (rreq.messageType !== 'RReq' || typeof rreq.acsTransID !== 'string') {
      return {
        messageType: 'Erro',
        messageVersion: typeof rreq.messageVersion === 'string' ? rreq.messageVersion : '2.2.0',
        errorCode: '101',
        errorComponent: 'D',
        errorDescription: 'Message Received Invalid',
        errorDetail: 'messageType',
        errorMessageType: 'RReq',
      }
    }
    this.sql('INSERT INTO lab_ds_rreqs (acs_trans_id, body, received_at) VALUES (?, ?, ?)').run(
      rreq.acsTransID,
      raw,
      Date.now(),
    )
    return {
      messageType: 'RRes',
      messageVersion: rreq.messageVersion,
      threeDSServerTransID: rreq.threeDSServerTransID,
      acsTransID: rreq.acsTransID,
      dsTransID: rreq.dsTransID,
      ...(typeof rreq.sdkTransID === 'string' ? { sdkTransID: rreq.sdkTransID } : {}),
      resultsStatus: '01',
    }
  }

  rreqs(acsTransID: string): Record<string, unknown>[] {
    return (
      this.db
        .prepare('SELECT body FROM lab_ds_rreqs WHERE acs_trans_id = ? ORDER BY id')
        .pluck()
        .all(acsTransID) as string[]
    ).map((b) => JSON.parse(b) as Record<string, unknown>)
  }
}
