import { createHash } from 'node:crypto'
import type { Context } from 'koa'
import { readRawBody } from '../http/body'
import { HttpProblem } from '../http/problem'
import type { Db } from '../store/db'
import { parseDeviceAuthorization, requestRecord } from './canonical'
import type { DeviceRegistry } from './devices'
import { verifyRecord } from './signature'

const BODY_LIMIT = 16 * 1024
const REPLAY_WINDOW_MS = 5 * 60_000

/**
 * Device-signed API requests: `Authorization: IMS-Device <id>.<ms>.<sig>` where sig signs the request
 * record (method, path and query, time, SHA-256 of the body). The time must be within the clock window, and
 * a signed record is accepted once per device (seen ones are remembered in the database for longer than the
 * window, restarts included), so a captured request cannot be sent again.
 */
export class DeviceAuthenticator {
  /** Forgets the requests past any window and records this one; false when it was recorded before. */
  private readonly firstUse: (digest: Buffer, now: number) => boolean

  constructor(
    db: Db,
    private readonly devices: DeviceRegistry,
    private readonly skewMs: () => number,
  ) {
    const forget = db.prepare('DELETE FROM mobile_seen_requests WHERE seen_at < ?')
    const record = db.prepare(
      'INSERT INTO mobile_seen_requests (digest, seen_at) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING',
    )
    // One commit for both.
    this.firstUse = db.transaction((digest: Buffer, now: number) => {
      forget.run(now - 2 * REPLAY_WINDOW_MS)
      return record.run(digest, now).changes === 1
    })
  }

  /** Sets ctx.state.deviceId; pending devices pass only where `allowPending` (the SMS confirmation). */
  async authenticate(ctx: Context, allowPending = false, now = Date.now()): Promise<string> {
    const auth = parseDeviceAuthorization(ctx.get('authorization'))
    const refuse = (detail: string) => new HttpProblem(401, 'Device not authenticated', detail)
    if (!auth) throw refuse('Sign the request with the device key (IMS-Device authorization)')
    if (Math.abs(auth.at - now) > Math.min(this.skewMs(), REPLAY_WINDOW_MS))
      throw refuse('The request time is outside the accepted window: check the phone’s clock')
    const device = this.devices.identity(auth.deviceId)
    if (!device) throw refuse('Unknown device')
    const raw =
      ctx.method === 'GET' || ctx.method === 'HEAD' ? Buffer.alloc(0) : await readRawBody(ctx, BODY_LIMIT)
    const bodyHash = createHash('sha256').update(raw).digest('base64url')
    const record = requestRecord(ctx.method, ctx.originalUrl, auth.at, bodyHash)
    if (!(await verifyRecord(device.key, record, auth.signature)))
      throw refuse('The request signature does not verify')
    if (device.status === 'revoked' || (device.status === 'pending' && !allowPending))
      throw new HttpProblem(403, 'Device not active', `This authenticator is ${device.status}`)
    // Keyed by what was signed, not by the signature: an ECDSA signature (r, s) has a twin (r, n−s) that
    // verifies the same record, so a replay could otherwise pass with the other one.
    this.remember(`${device.id}\n${record}`, now)
    ctx.state.deviceId = device.id
    return device.id
  }

  private remember(signed: string, now: number): void {
    if (!this.firstUse(createHash('sha256').update(signed).digest(), now))
      throw new HttpProblem(401, 'Device not authenticated', 'This signed request was already used')
  }
}
